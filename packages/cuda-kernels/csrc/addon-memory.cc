// N-API bindings: device discovery, the allocator (defined here), copies, memset, streams, events, pinned host memory.
#include "addon.h"

namespace trt {

Allocator& allocator() {
  static Allocator* a = new Allocator();  // never destroyed: the CUDA context may be gone at exit
  return *a;
}

namespace {

// ---- device, memory, streams, events ----
Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  return guard(info, "deviceInfo", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    int runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    out.Set("runtimeVersion", runtime);
    if (e != cudaSuccess || count == 0) {
      (void)cudaGetLastError();
      out.Set("available", false);
      out.Set("reason", e != cudaSuccess ? std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")"
                                         : std::string("no CUDA device present"));
      return out;
    }
    int dev = 0, driver = 0;
    TRT_CUDA(cudaGetDevice(&dev));
    cudaDeviceProp prop{};
    TRT_CUDA(cudaGetDeviceProperties(&prop, dev));
    cudaDriverGetVersion(&driver);
    out.Set("available", true);
    out.Set("count", count);
    out.Set("name", prop.name);
    out.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
    out.Set("multiprocessors", prop.multiProcessorCount);
    out.Set("sharedMemoryOptin", (double)prop.sharedMemPerBlockOptin);
    out.Set("totalMemory", (double)prop.totalGlobalMem);
    out.Set("l2Bytes", prop.l2CacheSize);
    out.Set("driverVersion", driver);
    return out;
  });
}

Napi::Value Malloc(const Napi::CallbackInfo& info) {
  return guard(info, "malloc", [&]() -> Napi::Value {
    if (!info[0].IsNumber()) throw ArgError("expected a byte count");
    return bigPtr(info.Env(), allocator().alloc((size_t)info[0].As<Napi::Number>().DoubleValue()));
  });
}
Napi::Value Free(const Napi::CallbackInfo& info) {
  return guard(info, "free", [&]() -> Napi::Value {
    allocator().free((void*)bigToPtr(info[0], "ptr"));
    return info.Env().Undefined();
  });
}
Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  return guard(info, "memoryStats", [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    size_t freeB = 0, totalB = 0;
    TRT_CUDA(cudaMemGetInfo(&freeB, &totalB));
    o.Set("allocated", (double)allocator().allocated());
    o.Set("cached", (double)allocator().cached());
    o.Set("deviceFree", (double)freeB);
    o.Set("deviceTotal", (double)totalB);
    return o;
  });
}
Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  return guard(info, "emptyCache", [&]() -> Napi::Value {
    allocator().releaseCached();
    return info.Env().Undefined();
  });
}

// copy(dst, src, bytes, kind, stream): kind 0 = H→D (src TypedArray), 1 = D→H (dst TypedArray), 2 = D→D,
// 3 = H→D and 4 = D→H without waiting: the host array must be pinned (hostAllocPinned) and stay alive
// until the stream is synchronized.
Napi::Value Copy(const Napi::CallbackInfo& info) {
  return guard(info, "copy", [&]() -> Napi::Value {
    const int kind = info[3].As<Napi::Number>().Int32Value();
    const size_t bytes = (size_t)info[2].As<Napi::Number>().DoubleValue();
    cudaStream_t s = info.Length() > 4 && info[4].IsBigInt() ? (cudaStream_t)bigToPtr(info[4], "stream") : nullptr;
    auto hostOf = [&](const Napi::Value& v) -> void* {
      if (!v.IsTypedArray()) throw ArgError("host side: expected a TypedArray");
      Napi::TypedArray t = v.As<Napi::TypedArray>();
      if (t.ByteLength() < bytes) throw ArgError("host side: " + std::to_string(t.ByteLength()) + " bytes, copy needs " + std::to_string(bytes));
      return (char*)t.ArrayBuffer().Data() + t.ByteOffset();
    };
    auto requirePinned = [&](const void* host) {
      cudaPointerAttributes attr{};
      if (cudaPointerGetAttributes(&attr, host) != cudaSuccess || attr.type != cudaMemoryTypeHost) {
        (void)cudaGetLastError();
        throw ArgError("an async copy needs page-locked host memory (pinnedStorage()); this array is pageable");
      }
    };
    if (kind == 3 || kind == 4) {
      const bool h2d = kind == 3;
      void* host = hostOf(h2d ? info[1] : info[0]);
      requirePinned(host);
      void* dev = (void*)bigToPtr(h2d ? info[0] : info[1], h2d ? "dst" : "src");
      allocator().checkRange(dev, bytes, h2d ? "dst" : "src");
      TRT_CUDA(cudaMemcpyAsync(h2d ? dev : host, h2d ? host : dev, bytes, h2d ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, s));
    } else if (kind == 0) {
      void* dst = (void*)bigToPtr(info[0], "dst");
      allocator().checkRange(dst, bytes, "dst");
      TRT_CUDA(cudaMemcpyAsync(dst, hostOf(info[1]), bytes, cudaMemcpyHostToDevice, s));
      TRT_CUDA(cudaStreamSynchronize(s));  // the host array may be pageable and collected after return
    } else if (kind == 1) {
      const void* src = bigToPtr(info[1], "src");
      allocator().checkRange(src, bytes, "src");
      TRT_CUDA(cudaMemcpyAsync(hostOf(info[0]), src, bytes, cudaMemcpyDeviceToHost, s));
      TRT_CUDA(cudaStreamSynchronize(s));
    } else {
      void* dst = (void*)bigToPtr(info[0], "dst");
      const void* src = bigToPtr(info[1], "src");
      allocator().checkRange(dst, bytes, "dst");
      allocator().checkRange(src, bytes, "src");
      TRT_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
    }
    return info.Env().Undefined();
  });
}

Napi::Value Memset(const Napi::CallbackInfo& info) {
  return guard(info, "memset", [&]() -> Napi::Value {
    void* dst = (void*)bigToPtr(info[0], "dst");
    const size_t bytes = (size_t)info[2].As<Napi::Number>().DoubleValue();
    allocator().checkRange(dst, bytes, "dst");
    cudaStream_t s = info.Length() > 3 && info[3].IsBigInt() ? (cudaStream_t)bigToPtr(info[3], "stream") : nullptr;
    TRT_CUDA(cudaMemsetAsync(dst, info[1].As<Napi::Number>().Int32Value(), bytes, s));
    return info.Env().Undefined();
  });
}

Napi::Value Spin(const Napi::CallbackInfo& info) {
  return guard(info, "spin", [&]() -> Napi::Value {
    cudaStream_t s = info.Length() > 1 && info[1].IsBigInt() ? (cudaStream_t)bigToPtr(info[1], "stream") : nullptr;
    invokeSpin(info[0].As<Napi::Number>().DoubleValue(), s);
    return info.Env().Undefined();
  });
}

Napi::Value StreamCreate(const Napi::CallbackInfo& info) {
  return guard(info, "streamCreate", [&]() -> Napi::Value {
    cudaStream_t s = nullptr;
    TRT_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return bigPtr(info.Env(), s);
  });
}
Napi::Value StreamDestroy(const Napi::CallbackInfo& info) {
  return guard(info, "streamDestroy", [&]() -> Napi::Value {
    TRT_CUDA(cudaStreamDestroy((cudaStream_t)bigToPtr(info[0], "stream")));
    return info.Env().Undefined();
  });
}
Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  return guard(info, "synchronize", [&]() -> Napi::Value {
    if (info.Length() > 0 && info[0].IsBigInt()) TRT_CUDA(cudaStreamSynchronize((cudaStream_t)bigToPtr(info[0], "stream")));
    else TRT_CUDA(cudaDeviceSynchronize());
    return info.Env().Undefined();
  });
}
// streamQuery(stream) → true when everything queued on it has finished, false while work is pending
// (cudaStreamQuery's cudaErrorNotReady, which is not an error); a real error throws.
Napi::Value StreamQuery(const Napi::CallbackInfo& info) {
  return guard(info, "streamQuery", [&]() -> Napi::Value {
    const cudaError_t e = cudaStreamQuery((cudaStream_t)bigToPtr(info[0], "stream"));
    if (e == cudaErrorNotReady) {
      if (cudaPeekAtLastError() == cudaErrorNotReady) (void)cudaGetLastError();  // not an error: leave nothing behind
      return Napi::Boolean::New(info.Env(), false);
    }
    TRT_CUDA(e);
    return Napi::Boolean::New(info.Env(), true);
  });
}
Napi::Value EventCreate(const Napi::CallbackInfo& info) {
  return guard(info, "eventCreate", [&]() -> Napi::Value {
    cudaEvent_t e = nullptr;
    TRT_CUDA(cudaEventCreate(&e));
    return bigPtr(info.Env(), e);
  });
}
Napi::Value EventRecord(const Napi::CallbackInfo& info) {
  return guard(info, "eventRecord", [&]() -> Napi::Value {
    cudaStream_t s = info.Length() > 1 && info[1].IsBigInt() ? (cudaStream_t)bigToPtr(info[1], "stream") : nullptr;
    TRT_CUDA(cudaEventRecord((cudaEvent_t)bigToPtr(info[0], "event"), s));
    return info.Env().Undefined();
  });
}
Napi::Value EventElapsed(const Napi::CallbackInfo& info) {
  return guard(info, "eventElapsed", [&]() -> Napi::Value {
    cudaEvent_t b = (cudaEvent_t)bigToPtr(info[1], "end");
    TRT_CUDA(cudaEventSynchronize(b));
    float ms = 0.f;
    TRT_CUDA(cudaEventElapsedTime(&ms, (cudaEvent_t)bigToPtr(info[0], "start"), b));
    return Napi::Number::New(info.Env(), ms);
  });
}
Napi::Value EventDestroy(const Napi::CallbackInfo& info) {
  return guard(info, "eventDestroy", [&]() -> Napi::Value {
    TRT_CUDA(cudaEventDestroy((cudaEvent_t)bigToPtr(info[0], "event")));
    return info.Env().Undefined();
  });
}
// Pinned host memory as an ArrayBuffer, released by its finalizer.
Napi::Value HostAllocPinned(const Napi::CallbackInfo& info) {
  return guard(info, "hostAllocPinned", [&]() -> Napi::Value {
    const size_t bytes = (size_t)info[0].As<Napi::Number>().DoubleValue();
    void* p = nullptr;
    TRT_CUDA(cudaMallocHost(&p, bytes == 0 ? 1 : bytes));
    return Napi::ArrayBuffer::New(info.Env(), p, bytes, [](Napi::Env, void* data) { cudaFreeHost(data); });
  });
}

}  // namespace

void memoryBindings(std::vector<Binding>& out) {
  out.insert(out.end(), {
      {"deviceInfo", DeviceInfo},
      {"malloc", Malloc},
      {"free", Free},
      {"memoryStats", MemoryStats},
      {"emptyCache", EmptyCache},
      {"copy", Copy},
      {"memset", Memset},
      {"spin", Spin},
      {"streamCreate", StreamCreate},
      {"streamDestroy", StreamDestroy},
      {"synchronize", Synchronize},
      {"streamQuery", StreamQuery},
      {"eventCreate", EventCreate},
      {"eventRecord", EventRecord},
      {"eventElapsed", EventElapsed},
      {"eventDestroy", EventDestroy},
      {"hostAllocPinned", HostAllocPinned},
  });
}

}  // namespace trt
