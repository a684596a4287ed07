// The N-API module: device discovery, a caching device allocator, copies, streams, events, pinned
// host memory, and one binding per op. Device pointers cross into JS as BigInt. Every exported
// function runs inside guard(): CUDA and argument failures become JS exceptions with the op and
// file:line; nothing here can abort the process.
#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>
#include <napi.h>

#include <algorithm>
#include <map>
#include <utility>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "dynlibs.h"
#include "ops.h"

namespace trt {
namespace {

// ---- errors ----
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename F>
Napi::Value guard(const Napi::CallbackInfo& info, const char* name, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& e) {
    Napi::TypeError err = Napi::TypeError::New(info.Env(), std::string(name) + ": " + e.what());
    err.Set("op", name);
    throw err;
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(info.Env(), std::string(name) + ": " + e.what());
    err.Set("op", name);
    err.Set("cuda", true);
    throw err;
  }
}

// ---- caching allocator: exact-size free lists, every live block tracked ----
class Allocator {
 public:
  void* alloc(size_t bytes) {
    const size_t size = roundUp(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    auto& bucket = free_[size];
    void* p = nullptr;
    if (!bucket.empty()) {
      p = bucket.back();
      bucket.pop_back();
      cached_ -= size;
    } else {
      cudaError_t e = cudaMalloc(&p, size);
      if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        releaseCachedLocked();
        e = cudaMalloc(&p, size);
      }
      if (e != cudaSuccess) {
        (void)cudaGetLastError();
        size_t freeB = 0, totalB = 0;
        cudaMemGetInfo(&freeB, &totalB);
        const std::string hint = e == cudaErrorMemoryAllocation
                                     ? "; device has " + std::to_string(freeB >> 20) + " MiB free of " + std::to_string(totalB >> 20) +
                                           " MiB (free tensors, or lower the batch or KV-cache budget)"
                                     : std::string(" (") + cudaGetErrorString(e) + ")";
        throw CudaError("cudaMalloc(" + std::to_string(size) + " bytes): " + cudaGetErrorName(e) + hint + " at " + __FILE__ + ":" +
                        std::to_string(__LINE__));
      }
    }
    live_[(uintptr_t)p] = size;
    allocated_ += size;
    return p;
  }
  void free(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find((uintptr_t)p);
    if (it == live_.end()) throw ArgError("pointer 0x" + hex(p) + " is not a live allocation (freed twice, or not from this allocator)");
    free_[it->second].push_back(p);
    cached_ += it->second;
    allocated_ -= it->second;
    live_.erase(it);
  }
  // [p, p + bytes) must lie inside one live allocation.
  void checkRange(const void* p, size_t bytes, const char* what) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.upper_bound((uintptr_t)p);
    if (it == live_.begin()) throw ArgError(std::string(what) + ": 0x" + hex(p) + " is not inside a live device allocation (freed?)");
    --it;
    if ((uintptr_t)p + bytes > it->first + it->second) {
      throw ArgError(std::string(what) + ": " + std::to_string(bytes) + " bytes at 0x" + hex(p) + " run past the end of its allocation (" +
                     std::to_string(it->first + it->second - (uintptr_t)p) + " bytes left)");
    }
  }
  void releaseCached() {
    std::lock_guard<std::mutex> lock(mu_);
    releaseCachedLocked();
  }
  size_t allocated() const { return allocated_; }
  size_t cached() const { return cached_; }

 private:
  static size_t roundUp(size_t b) { return b == 0 ? 512 : (b + 511) / 512 * 512; }
  static std::string hex(const void* p) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llx", (unsigned long long)(uintptr_t)p);
    return buf;
  }
  void releaseCachedLocked() {
    for (auto& [size, ptrs] : free_) for (void* p : ptrs) cudaFree(p);
    free_.clear();
    cached_ = 0;
  }
  std::mutex mu_;
  std::map<uintptr_t, size_t> live_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t allocated_ = 0, cached_ = 0;
};
Allocator& allocator() {
  static Allocator* a = new Allocator();  // never destroyed: the CUDA context may be gone at exit
  return *a;
}

/** Device memory from the allocator for the length of a scope (scratch, error flags, benchmarks). */
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : ptr_(allocator().alloc(bytes)) {}
  ~DeviceBuffer() {
    try {
      allocator().free(ptr_);
    } catch (...) {  // cannot happen for a pointer this object allocated; destructors must not throw
    }
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T = void>
  T* get() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_;
};

/** Runs a cleanup when the scope ends, however it ends. */
template <typename F>
struct ScopeExit {
  F fn;
  ~ScopeExit() { fn(); }
};
template <typename F>
ScopeExit<F> onScopeExit(F fn) { return ScopeExit<F>{std::move(fn)}; }

// ---- argument reading ----
class Args {
 public:
  Args(const Napi::CallbackInfo& info, size_t index) {
    if (info.Length() <= index || !info[index].IsObject()) throw ArgError("expected a params object as argument " + std::to_string(index));
    obj_ = info[index].As<Napi::Object>();
  }
  void* ptr(const char* key, bool optional = false) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined() || v.IsNull()) {
      if (optional) return nullptr;
      throw ArgError(std::string("params.") + key + ": expected a device pointer (BigInt), got nothing");
    }
    if (!v.IsBigInt()) throw ArgError(std::string("params.") + key + ": expected a device pointer (BigInt)");
    bool lossless = true;
    const uint64_t raw = v.As<Napi::BigInt>().Uint64Value(&lossless);
    void* p = (void*)(uintptr_t)raw;
    allocator().checkRange(p, 1, key);
    return p;
  }
  int i32(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) throw ArgError(std::string("params.") + key + ": expected an integer");
    return v.As<Napi::Number>().Int32Value();
  }
  size_t size(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) throw ArgError(std::string("params.") + key + ": expected an integer");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0) throw ArgError(std::string("params.") + key + ": expected ≥ 0");
    return (size_t)d;
  }
  float f32(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) throw ArgError(std::string("params.") + key + ": expected a number");
    return (float)v.As<Napi::Number>().DoubleValue();
  }
  bool flag(const char* key) const { return obj_.Get(key).ToBoolean().Value(); }
  Napi::Value raw(const char* key) const { return obj_.Get(key); }
  DType dtype(const char* key) const {
    const int d = i32(key);
    if (d < 0 || d > 5) throw ArgError(std::string("params.") + key + ": not a dtype code");
    return (DType)d;
  }
  cudaStream_t stream() const {
    Napi::Value v = obj_.Get("stream");
    if (v.IsUndefined() || v.IsNull()) return nullptr;
    bool lossless = true;
    return (cudaStream_t)(uintptr_t)v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  KvCacheView kvCache(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsObject()) throw ArgError(std::string("params.") + key + ": expected a KV-cache view");
    Args c(v.As<Napi::Object>());
    KvCacheView view{};
    view.pool = c.ptr("pool");
    view.paged = c.flag("paged");
    view.numSlots = c.i32("numSlots");
    view.numKvHeads = c.i32("numKvHeads");
    view.headSize = c.i32("headSize");
    view.maxSeqLen = c.i32("maxSeqLen");
    view.tokensPerBlock = c.i32("tokensPerBlock");
    view.numBlocks = c.i32("numBlocks");
    view.maxBlocksPerSeq = c.i32("maxBlocksPerSeq");
    view.blockTable = (const int32_t*)c.ptr("blockTable", true);
    view.kScale = c.f32("kScale");
    view.vScale = c.f32("vScale");
    view.dtype = c.dtype("dtype");
    return view;
  }

 private:
  explicit Args(Napi::Object o) : obj_(o) {}
  Napi::Object obj_;
};

Napi::BigInt bigPtr(Napi::Env env, const void* p) { return Napi::BigInt::New(env, (uint64_t)(uintptr_t)p); }
const void* bigToPtr(const Napi::Value& v, const char* what) {
  if (!v.IsBigInt()) throw ArgError(std::string(what) + ": expected a BigInt");
  bool lossless = true;
  return (const void*)(uintptr_t)v.As<Napi::BigInt>().Uint64Value(&lossless);
}

// A device int32 error flag around a launch: 0 = ok, else what the kernel wrote (1 + index).
template <typename F>
int withErrorFlag(cudaStream_t s, F&& launch) {
  DeviceBuffer flag(sizeof(int32_t));
  int32_t host = 0;
  TRT_CUDA(cudaMemsetAsync(flag.get(), 0, sizeof(int32_t), s));
  launch(flag.get<int32_t>());
  TRT_CUDA(cudaMemcpyAsync(&host, flag.get(), sizeof(int32_t), cudaMemcpyDeviceToHost, s));
  TRT_CUDA(cudaStreamSynchronize(s));
  return host;
}

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

// ---- ops ----
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  return guard(info, "gemm", [&]() -> Napi::Value {
    Args a(info, 0);
    GemmParams p{a.ptr("a"), a.ptr("b"), a.ptr("bias", true), a.ptr("c"), a.i32("m"), a.i32("n"), a.i32("k"),
                 a.flag("transA"), a.flag("transB"), a.dtype("inDtype"), a.dtype("biasDtype"), a.dtype("outDtype")};
    invokeGemm(p, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value Int8Gemm(const Napi::CallbackInfo& info) {
  return guard(info, "int8Gemm", [&]() -> Napi::Value {
    Args a(info, 0);
    if (a.flag("epilogue")) {
      SmoothQuantGemmParams p{(const int8_t*)a.ptr("a"), (const int8_t*)a.ptr("b"), (const float*)a.ptr("alphaRow"),
                              (const float*)a.ptr("alphaCol"), a.ptr("bias", true), a.ptr("c"), a.i32("m"), a.i32("n"), a.i32("k"),
                              a.flag("transB"), a.flag("perToken"), a.flag("perChannel"), a.dtype("outDtype")};
      invokeSmoothQuantGemm(p, a.stream());
    } else {
      Int8GemmParams p{(const int8_t*)a.ptr("a"), (const int8_t*)a.ptr("b"), (int32_t*)a.ptr("c"), a.i32("m"), a.i32("n"), a.i32("k"), a.flag("transB")};
      invokeInt8Gemm(p, a.stream());
    }
    return info.Env().Undefined();
  });
}
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  return guard(info, "quantize", [&]() -> Napi::Value {
    Args a(info, 0);
    const int mode = a.i32("mode");  // 0 per tensor, 1 per token, 2 dequantize
    if (mode == 0) invokeQuantizePerTensor({a.ptr("x"), (int8_t*)a.ptr("q"), a.size("n"), a.f32("scale"), a.dtype("xDtype")}, a.stream());
    else if (mode == 1) invokeQuantizePerToken({a.ptr("x"), (int8_t*)a.ptr("q"), (float*)a.ptr("scale"), a.i32("rows"), a.i32("cols"), a.dtype("xDtype")}, a.stream());
    else invokeDequantize({(const int8_t*)a.ptr("q"), (const float*)a.ptr("scale"), a.ptr("out"), a.i32("rows"), a.i32("cols"), a.flag("perToken"), a.dtype("outDtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value Fp8(const Napi::CallbackInfo& info) {
  return guard(info, "fp8", [&]() -> Napi::Value {
    Args a(info, 0);
    const int mode = a.i32("mode");  // 0 quantize, 1 dequantize, 2 gemm
    if (mode == 0) invokeFp8Quantize({a.ptr("x"), (uint8_t*)a.ptr("q"), a.size("n"), a.f32("scale"), a.dtype("xDtype")}, a.stream());
    else if (mode == 1) invokeFp8Dequantize({(const uint8_t*)a.ptr("q"), a.ptr("out"), a.size("n"), a.f32("scale"), a.dtype("outDtype")}, a.stream());
    else invokeFp8Gemm({(const uint8_t*)a.ptr("a"), (const uint8_t*)a.ptr("b"), a.ptr("bias", true), a.ptr("c"), a.i32("m"), a.i32("n"), a.i32("k"),
                        a.flag("transB"), a.f32("scaleA"), a.f32("scaleB"), a.dtype("biasDtype"), a.dtype("outDtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  return guard(info, "layerNorm", [&]() -> Napi::Value {
    Args a(info, 0);
    LayerNormParams p{a.ptr("x"), a.ptr("gamma"), a.ptr("beta", true), a.ptr("y"), (int8_t*)a.ptr("q", true), (float*)a.ptr("qScale", true),
                      a.i32("rows"), a.i32("cols"), a.f32("eps"), a.flag("weightPlusOne"), a.dtype("xDtype"), a.dtype("gammaDtype"), a.dtype("betaDtype")};
    invokeLayerNorm(p, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value Activation(const Napi::CallbackInfo& info) {
  return guard(info, "activation", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeActivation({a.ptr("x"), a.ptr("gate", true), a.ptr("y"), a.size("n"), a.dtype("dtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return guard(info, "softmax", [&]() -> Napi::Value {
    Args a(info, 0);
    const int rows = a.i32("rows"), cols = a.i32("cols");
    DeviceBuffer scratch((size_t)rows * cols * sizeof(float));
    invokeSoftmax({a.ptr("x"), (const int8_t*)a.ptr("mask", true), a.ptr("y"), scratch.get<float>(), rows, cols, a.f32("scale"), a.dtype("xDtype"), a.dtype("outDtype")}, a.stream());
    TRT_CUDA(cudaStreamSynchronize(a.stream()));  // scratch returns to the cache when this scope ends
    return info.Env().Undefined();
  });
}
Napi::Value Residual(const Napi::CallbackInfo& info) {
  return guard(info, "residual", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeResidual({a.ptr("a"), a.ptr("b"), a.ptr("y"), a.size("n"), a.dtype("dtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value Rope(const Napi::CallbackInfo& info) {
  return guard(info, "rope", [&]() -> Napi::Value {
    Args a(info, 0);
    const int err = withErrorFlag(a.stream(), [&](int32_t* flag) {
      invokeRope({a.ptr("x"), a.ptr("y"), (const int32_t*)a.ptr("positions"), (const float*)a.ptr("cos"), (const float*)a.ptr("sin"), a.i32("tokens"),
                  a.i32("heads"), a.i32("headSize"), a.i32("rotaryDim"), a.i32("tablePositions"), flag, a.dtype("dtype")}, a.stream());
    });
    return Napi::Number::New(info.Env(), err);
  });
}
Napi::Value KvCacheWrite(const Napi::CallbackInfo& info) {
  return guard(info, "kvCacheWrite", [&]() -> Napi::Value {
    Args a(info, 0);
    const int err = withErrorFlag(a.stream(), [&](int32_t* flag) {
      invokeKvCacheWrite({a.kvCache("cache"), a.ptr("k"), a.ptr("v"), (const int32_t*)a.ptr("slots"), (const int32_t*)a.ptr("positions"), a.i32("tokens"), flag,
                          a.dtype("kvDtype")}, a.stream());
    });
    return Napi::Number::New(info.Env(), err);
  });
}
Napi::Value Attention(const Napi::CallbackInfo& info) {
  return guard(info, "attention", [&]() -> Napi::Value {
    Args a(info, 0);
    const int tokens = a.i32("tokens"), heads = a.i32("numHeads"), maxCtx = a.i32("maxCtx");
    DeviceBuffer scratch((size_t)tokens * heads * (maxCtx > 0 ? maxCtx : 1) * sizeof(float));
    const bool hasCache = a.flag("hasCache");
    KvCacheView view = hasCache ? a.kvCache("cache") : KvCacheView{};
    const int err = withErrorFlag(a.stream(), [&](int32_t* flag) {  // synchronizes: scratch is free to go after
      invokeAttention({a.ptr("q"), a.ptr("k"), a.ptr("v"), a.ptr("out"), tokens, heads, a.i32("numKvHeads"), a.i32("headSize"),
                       (const int32_t*)a.ptr("seqSlot"), (const int32_t*)a.ptr("seqStart"), (const int32_t*)a.ptr("seqLength"),
                       (const int32_t*)a.ptr("seqRow"), a.i32("numSeqs"), hasCache, view, a.f32("scale"), scratch.get<float>(), maxCtx, flag,
                       a.dtype("dtype")}, a.stream());
    });
    return Napi::Number::New(info.Env(), err);
  });
}
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  return guard(info, "embedding", [&]() -> Napi::Value {
    Args a(info, 0);
    // with params.errorFlag (a device int32 the caller reads later) the launch is only enqueued
    int32_t* callerFlag = (int32_t*)a.ptr("errorFlag", true);
    auto run = [&](auto&& launch) { if (callerFlag) { launch(callerFlag); return 0; } return withErrorFlag(a.stream(), launch); };
    const int err = run([&](int32_t* flag) {
      if (a.flag("positionAdd")) {
        invokePositionAdd({a.ptr("x"), a.ptr("wpe"), (const int32_t*)a.ptr("positions"), a.ptr("out"), a.i32("tokens"), a.i32("hidden"),
                           a.i32("numPositions"), flag, a.dtype("dtype")}, a.stream());
      } else {
        invokeEmbedding({(const int32_t*)a.ptr("ids"), a.ptr("table"), a.ptr("out"), a.i32("tokens"), a.i32("hidden"), a.i32("tableRows"),
                         a.i32("vocabSize"), a.i32("rowOffset"), a.flag("zeroOutOfRange"), a.ptr("promptTable", true),
                         (const int32_t*)a.ptr("tasks", true), a.i32("promptTokens"), a.i32("numTasks"), flag, a.dtype("dtype")}, a.stream());
      }
    });
    return Napi::Number::New(info.Env(), err);
  });
}

// ---- production ops: enqueue only (no synchronization), errors to the caller's device flag ----
Napi::Value GemmLt(const Napi::CallbackInfo& info) {
  return guard(info, "gemmLt", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeGemmLt({a.ptr("a"), a.ptr("b"), a.ptr("bias", true), a.ptr("residual", true), a.ptr("d"), a.i32("m"), a.i32("n"), a.i32("k"),
                  a.flag("transB"), a.flag("gelu"), a.flag("perShape"), a.dtype("inDtype"), a.dtype("outDtype"), a.flag("promptTuned")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value GemmDecode(const Napi::CallbackInfo& info) {
  return guard(info, "gemmDecode", [&]() -> Napi::Value {
    Args a(info, 0);
    GemmDecodeParams p{a.ptr("a"), a.ptr("b"), a.ptr("bias", true), a.ptr("residual", true), a.ptr("d"), (const int32_t*)a.ptr("rows", true),
                       a.i32("m"), a.i32("n"), a.i32("k"), a.i32("aRows"), a.flag("transB"), a.flag("gelu"), a.dtype("inDtype"), a.dtype("outDtype")};
    p.lnGamma = a.ptr("lnGamma", true);
    if (p.lnGamma) {  // the fused LayerNorm
      p.lnBeta = a.ptr("lnBeta", true);
      p.lnEps = a.f32("lnEps");
      p.lnPlusOne = a.flag("lnPlusOne");
    }
    if (a.raw("kv").IsObject()) {  // the QKV GEMM's KV-cache write
      p.kvWrite = true;
      p.kv = a.kvCache("kv");
      p.kvSlots = (const int32_t*)a.ptr("kvSlots");
      p.kvPositions = (const int32_t*)a.ptr("kvPositions");
      p.kvQHeads = a.i32("kvQHeads");
      p.kvError = (int32_t*)a.ptr("kvError");
    }
    invokeGemmDecode(p, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value GemmDecodeUnsupported(const Napi::CallbackInfo& info) {
  return guard(info, "gemmDecodeUnsupported", [&]() -> Napi::Value {
    Args a(info, 0);
    return Napi::String::New(info.Env(), gemmDecodeUnsupported(a.i32("n"), a.i32("k"), a.flag("transB"), a.dtype("inDtype")));
  });
}
Napi::Value GemmDecodePlan(const Napi::CallbackInfo& info) {
  return guard(info, "gemmDecodePlan", [&]() -> Napi::Value {
    Args a(info, 0);
    return Napi::String::New(info.Env(), gemmDecodePlan(a.i32("n"), a.i32("k"), a.i32("m"), a.flag("transB"), a.i32("multiprocessors"), a.i32("computeMajor"),
                                                        (size_t)a.i32("sharedMemoryOptin"), a.flag("layerNorm")));
  });
}
Napi::Value GemmLtAlgorithms(const Napi::CallbackInfo& info) {
  return guard(info, "gemmLtAlgorithms", [&]() -> Napi::Value { return Napi::String::New(info.Env(), gemmLtAlgorithms()); });
}
Napi::Value LayerNormFast(const Napi::CallbackInfo& info) {
  return guard(info, "layerNormFast", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeLayerNormFast({a.ptr("x"), a.ptr("gamma"), a.ptr("beta", true), a.ptr("y"), a.i32("rows"), a.i32("cols"), a.f32("eps"), a.flag("weightPlusOne"),
                         a.dtype("dtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value QkvPrepare(const Napi::CallbackInfo& info) {
  return guard(info, "qkvPrepare", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeQkvPrepare({a.ptr("qkv"), (const int32_t*)a.ptr("slots"), (const int32_t*)a.ptr("positions"), a.i32("tokens"), a.i32("numHeads"),
                      a.i32("numKvHeads"), a.i32("headSize"), (const float*)a.ptr("cos", true), (const float*)a.ptr("sin", true), a.i32("rotaryDim"),
                      a.i32("tablePositions"), a.kvCache("cache"), (int32_t*)a.ptr("error"), a.dtype("dtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value AttentionDecode(const Napi::CallbackInfo& info) {
  return guard(info, "attentionDecode", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeAttentionDecode({a.ptr("qkv"), a.ptr("out"), (const int32_t*)a.ptr("rows"), a.i32("numRows"), (const int32_t*)a.ptr("slots"),
                           (const int32_t*)a.ptr("positions"), a.i32("numHeads"), a.i32("numKvHeads"), a.i32("headSize"), a.i32("maxSplits"),
                           a.kvCache("cache"), a.f32("scale"), (float*)a.ptr("partial"), (int32_t*)a.ptr("error"), a.dtype("dtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value AttentionContext(const Napi::CallbackInfo& info) {
  return guard(info, "attentionContext", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeAttentionContext({a.ptr("qkv"), a.ptr("out"), (const int32_t*)a.ptr("tiles"), a.i32("numTiles"), a.i32("numHeads"), a.i32("numKvHeads"),
                            a.i32("headSize"), a.f32("scale"), a.flag("fp32Acc"), a.dtype("dtype")}, a.stream());
    return info.Env().Undefined();
  });
}
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  return guard(info, "argmax", [&]() -> Napi::Value {
    Args a(info, 0);
    invokeArgmax({(const float*)a.ptr("x"), (int32_t*)a.ptr("ids"), a.i32("rows"), a.i32("cols")}, a.stream());
    return info.Env().Undefined();
  });
}
// copy2d(dst, dstPitch, src, srcPitch, widthBytes, rows, stream): strided device-to-device copy (column blocks).
Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  return guard(info, "copy2d", [&]() -> Napi::Value {
    void* dst = (void*)bigToPtr(info[0], "dst");
    const void* src = bigToPtr(info[2], "src");
    const size_t dp = (size_t)info[1].As<Napi::Number>().DoubleValue(), sp = (size_t)info[3].As<Napi::Number>().DoubleValue();
    const size_t w = (size_t)info[4].As<Napi::Number>().DoubleValue(), rows = (size_t)info[5].As<Napi::Number>().DoubleValue();
    if (rows == 0 || w == 0) return info.Env().Undefined();
    allocator().checkRange(dst, dp * (rows - 1) + w, "dst");
    allocator().checkRange(src, sp * (rows - 1) + w, "src");
    cudaStream_t s = info.Length() > 6 && info[6].IsBigInt() ? (cudaStream_t)bigToPtr(info[6], "stream") : nullptr;
    TRT_CUDA(cudaMemcpy2DAsync(dst, dp, src, sp, w, rows, cudaMemcpyDeviceToDevice, s));
    return info.Env().Undefined();
  });
}

// profilerRange(on): cudaProfilerStart / Stop, so an external profiler (ncu --profile-from-start off) sees one region.
Napi::Value ProfilerRange(const Napi::CallbackInfo& info) {
  return guard(info, "profilerRange", [&]() -> Napi::Value {
    TRT_CUDA(info[0].ToBoolean().Value() ? cudaProfilerStart() : cudaProfilerStop());
    return info.Env().Undefined();
  });
}

// ---- CUDA graphs: capture the work enqueued on a stream, replay it with one launch ----
Napi::Value GraphBegin(const Napi::CallbackInfo& info) {
  return guard(info, "graphBegin", [&]() -> Napi::Value {
    // relaxed: a first-time allocation (cudaMalloc) inside the captured step is allowed
    TRT_CUDA(cudaStreamBeginCapture((cudaStream_t)bigToPtr(info[0], "stream"), cudaStreamCaptureModeRelaxed));
    return info.Env().Undefined();
  });
}
Napi::Value GraphEnd(const Napi::CallbackInfo& info) {
  return guard(info, "graphEnd", [&]() -> Napi::Value {
    cudaGraph_t g = nullptr;
    TRT_CUDA(cudaStreamEndCapture((cudaStream_t)bigToPtr(info[0], "stream"), &g));
    auto destroy = onScopeExit([&] { if (g) cudaGraphDestroy(g); });
    cudaGraphExec_t exec = nullptr;
    TRT_CUDA(cudaGraphInstantiate(&exec, g, 0));
    return bigPtr(info.Env(), exec);
  });
}
// After a failed capture: end it and drop what was captured, so the stream is usable again.
Napi::Value GraphAbort(const Napi::CallbackInfo& info) {
  return guard(info, "graphAbort", [&]() -> Napi::Value {
    cudaStream_t s = (cudaStream_t)bigToPtr(info[0], "stream");
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    cudaStreamIsCapturing(s, &st);
    if (st != cudaStreamCaptureStatusNone) {
      cudaGraph_t g = nullptr;
      cudaStreamEndCapture(s, &g);
      if (g) cudaGraphDestroy(g);
    }
    (void)cudaGetLastError();
    return info.Env().Undefined();
  });
}
Napi::Value GraphLaunch(const Napi::CallbackInfo& info) {
  return guard(info, "graphLaunch", [&]() -> Napi::Value {
    TRT_CUDA(cudaGraphLaunch((cudaGraphExec_t)bigToPtr(info[0], "graph"), (cudaStream_t)bigToPtr(info[1], "stream")));
    return info.Env().Undefined();
  });
}
Napi::Value GraphDestroy(const Napi::CallbackInfo& info) {
  return guard(info, "graphDestroy", [&]() -> Napi::Value {
    TRT_CUDA(cudaGraphExecDestroy((cudaGraphExec_t)bigToPtr(info[0], "graph")));
    return info.Env().Undefined();
  });
}

// Measured device-to-device copy bandwidth (bytes read + written per second), for the perf harness.
Napi::Value MeasureCopyBandwidth(const Napi::CallbackInfo& info) {
  return guard(info, "measureCopyBandwidth", [&]() -> Napi::Value {
    const size_t bytes = (size_t)info[0].As<Napi::Number>().DoubleValue();
    const int iters = info[1].As<Napi::Number>().Int32Value();
    DeviceBuffer a(bytes), b(bytes);
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    auto events = onScopeExit([&] {
      if (e0) cudaEventDestroy(e0);
      if (e1) cudaEventDestroy(e1);
    });
    TRT_CUDA(cudaEventCreate(&e0));
    TRT_CUDA(cudaEventCreate(&e1));
    TRT_CUDA(cudaMemcpy(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice));
    TRT_CUDA(cudaEventRecord(e0));
    for (int i = 0; i < iters; i++) TRT_CUDA(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice));
    TRT_CUDA(cudaEventRecord(e1));
    TRT_CUDA(cudaEventSynchronize(e1));
    float ms = 0.f;
    TRT_CUDA(cudaEventElapsedTime(&ms, e0, e1));
    return Napi::Number::New(info.Env(), 2.0 * bytes * iters / (ms * 1e-3) / 1e9);
  });
}

// The dlopen'ed libraries: where they were found and their versions, or why not.
Napi::Value LibraryInfo(const Napi::CallbackInfo& info) {
  return guard(info, "libraryInfo", [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    auto toJs = [&](const dyn::LibraryStatus& st) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("available", st.available);
      if (st.available) {
        o.Set("path", st.path);
        o.Set("version", (double)st.version);
      } else {
        o.Set("reason", st.reason);
      }
      return o;
    };
    dyn::LibraryStatus lt, nc;
    dyn::cublasLt(&lt);
    dyn::nccl(&nc);
    Napi::Object out = Napi::Object::New(env);
    out.Set("cublasLt", toJs(lt));
    out.Set("nccl", toJs(nc));
    return out;
  });
}

// cuBLASLt matmul peak: D[n,n] = A·B in f16 or bf16 (fp32 compute) on random operands, best
// heuristic algorithm, 32 MiB workspace, timed with events after warm-up. Returns TFLOP/s.
Napi::Value MeasureMatmulPeak(const Napi::CallbackInfo& info) {
  return guard(info, "measureMatmulPeak", [&]() -> Napi::Value {
    dyn::LibraryStatus st;
    const dyn::CublasLt* lt = dyn::cublasLt(&st);
    if (!lt) throw CudaError("cuBLASLt unavailable: " + st.reason);
    const int n = info[0].As<Napi::Number>().Int32Value();
    const int iters = info[1].As<Napi::Number>().Int32Value();
    const bool bf16 = info.Length() > 2 && info[2].ToBoolean().Value();
    const int type = bf16 ? dyn::CUDA_R_16BF : dyn::CUDA_R_16F;
    auto lcheck = [](dyn::cublasStatus_t s, const char* what) {
      if (s != 0) throw CudaError(std::string(what) + " returned cuBLAS status " + std::to_string(s));
    };
    const size_t bytes = (size_t)n * n * 2, wsBytes = 32u << 20;
    DeviceBuffer a(bytes), b(bytes), d(bytes), ws(wsBytes);
    dyn::cublasLtHandle_t h = nullptr;
    dyn::cublasLtMatmulDesc_t desc = nullptr;
    dyn::cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    dyn::cublasLtMatmulPreference_t pref = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    auto cleanup = onScopeExit([&] {
      if (e0) cudaEventDestroy(e0);
      if (e1) cudaEventDestroy(e1);
      if (pref) lt->MatmulPreferenceDestroy(pref);
      for (auto* l : {la, lb, ld}) if (l) lt->MatrixLayoutDestroy(l);
      if (desc) lt->MatmulDescDestroy(desc);
      if (h) lt->Destroy(h);
    });
    // Random operands: constant data draws less power and runs faster than real matrices.
    // ±[0.5, 1) with random mantissas: f16 bits (r & 0x83ff) | 0x3800, bf16 (r & 0x807f) | 0x3f00.
    std::vector<uint16_t> host((size_t)n * n);
    uint32_t x = 2463534242u;
    for (auto& h16 : host) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;  // xorshift32
      h16 = bf16 ? (uint16_t)((x & 0x807f) | 0x3f00) : (uint16_t)((x & 0x83ff) | 0x3800);
    }
    TRT_CUDA(cudaMemcpy(a.get(), host.data(), bytes, cudaMemcpyHostToDevice));
    std::reverse(host.begin(), host.end());
    TRT_CUDA(cudaMemcpy(b.get(), host.data(), bytes, cudaMemcpyHostToDevice));
    lcheck(lt->Create(&h), "cublasLtCreate");
    lcheck(lt->MatmulDescCreate(&desc, dyn::CUBLAS_COMPUTE_32F, dyn::CUDA_R_32F), "cublasLtMatmulDescCreate");
    const int opN = dyn::CUBLAS_OP_N;
    lcheck(lt->MatmulDescSetAttribute(desc, dyn::CUBLASLT_MATMUL_DESC_TRANSA, &opN, sizeof opN), "set TRANSA");
    lcheck(lt->MatmulDescSetAttribute(desc, dyn::CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof opN), "set TRANSB");
    lcheck(lt->MatrixLayoutCreate(&la, type, n, n, n), "layout A");
    lcheck(lt->MatrixLayoutCreate(&lb, type, n, n, n), "layout B");
    lcheck(lt->MatrixLayoutCreate(&ld, type, n, n, n), "layout D");
    lcheck(lt->MatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
    const uint64_t maxWs = wsBytes;
    lcheck(lt->MatmulPreferenceSetAttribute(pref, dyn::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxWs, sizeof maxWs), "set workspace");
    dyn::cublasLtMatmulHeuristicResult_t best{};
    int found = 0;
    lcheck(lt->MatmulAlgoGetHeuristic(h, desc, la, lb, ld, ld, pref, 1, &best, &found), "cublasLtMatmulAlgoGetHeuristic");
    if (found == 0) throw CudaError("cuBLASLt found no algorithm for this matmul");
    const float alpha = 1.f, beta = 0.f;
    auto run = [&] {
      lcheck(lt->Matmul(h, desc, &alpha, a.get(), la, b.get(), lb, &beta, d.get(), ld, d.get(), ld, &best.algo, ws.get(), wsBytes, nullptr), "cublasLtMatmul");
    };
    for (int i = 0; i < 3; i++) run();
    TRT_CUDA(cudaEventCreate(&e0));
    TRT_CUDA(cudaEventCreate(&e1));
    TRT_CUDA(cudaEventRecord(e0));
    for (int i = 0; i < iters; i++) run();
    TRT_CUDA(cudaEventRecord(e1));
    TRT_CUDA(cudaEventSynchronize(e1));
    float ms = 0;
    TRT_CUDA(cudaEventElapsedTime(&ms, e0, e1));
    const double tflops = 2.0 * n * n * (double)n * iters / (ms * 1e-3) / 1e12;
    return Napi::Number::New(info.Env(), tflops);
  });
}

// NCCL: ncclUniqueId() → Uint8Array(128); ncclCommInit(nranks, id, rank) → BigInt handle;
// allReduceSum({send, recv, count, dtype, comm, stream}); ncclCommDestroy(handle).
Napi::Value NcclUniqueId(const Napi::CallbackInfo& info) {
  return guard(info, "ncclUniqueId", [&]() -> Napi::Value {
    Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), 128);
    ncclUniqueId(reinterpret_cast<char*>(out.Data()));
    return out;
  });
}
Napi::Value NcclCommInit(const Napi::CallbackInfo& info) {
  return guard(info, "ncclCommInit", [&]() -> Napi::Value {
    if (!info[0].IsNumber() || !info[2].IsNumber()) throw ArgError("expected (nranks, id, rank)");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().ByteLength() != 128) throw ArgError("id: expected the 128-byte NCCL unique id");
    Napi::Uint8Array id = info[1].As<Napi::Uint8Array>();
    return bigPtr(info.Env(), ncclCommInit(info[0].As<Napi::Number>().Int32Value(), reinterpret_cast<const char*>(id.Data()), info[2].As<Napi::Number>().Int32Value()));
  });
}
Napi::Value NcclCommDestroy(const Napi::CallbackInfo& info) {
  return guard(info, "ncclCommDestroy", [&]() -> Napi::Value {
    ncclCommFree((void*)bigToPtr(info[0], "comm"));
    return info.Env().Undefined();
  });
}
Napi::Value AllReduceSum(const Napi::CallbackInfo& info) {
  return guard(info, "allReduceSum", [&]() -> Napi::Value {
    Args a(info, 0);
    Napi::Value comm = a.raw("comm");
    invokeAllReduceSum(a.ptr("send"), a.ptr("recv"), a.size("count"), a.dtype("dtype"), (void*)bigToPtr(comm, "comm"), a.stream());
    TRT_CUDA(cudaStreamSynchronize(a.stream()));
    return info.Env().Undefined();
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> fns[] = {
      {"deviceInfo", DeviceInfo}, {"malloc", Malloc}, {"free", Free}, {"memoryStats", MemoryStats}, {"emptyCache", EmptyCache},
      {"copy", Copy}, {"memset", Memset}, {"spin", Spin}, {"streamCreate", StreamCreate}, {"streamDestroy", StreamDestroy},
      {"synchronize", Synchronize}, {"eventCreate", EventCreate}, {"eventRecord", EventRecord}, {"eventElapsed", EventElapsed},
      {"eventDestroy", EventDestroy}, {"hostAllocPinned", HostAllocPinned}, {"measureCopyBandwidth", MeasureCopyBandwidth},
      {"libraryInfo", LibraryInfo}, {"measureMatmulPeak", MeasureMatmulPeak},
      {"gemm", Gemm}, {"int8Gemm", Int8Gemm}, {"quantize", Quantize}, {"fp8", Fp8}, {"layerNorm", LayerNorm},
      {"activation", Activation}, {"softmax", Softmax}, {"residual", Residual}, {"rope", Rope}, {"kvCacheWrite", KvCacheWrite},
      {"attention", Attention}, {"embedding", Embedding},
      {"gemmLt", GemmLt}, {"gemmLtAlgorithms", GemmLtAlgorithms}, {"gemmDecode", GemmDecode}, {"gemmDecodeUnsupported", GemmDecodeUnsupported}, {"gemmDecodePlan", GemmDecodePlan}, {"layerNormFast", LayerNormFast}, {"qkvPrepare", QkvPrepare},
      {"attentionDecode", AttentionDecode}, {"attentionContext", AttentionContext}, {"argmax", Argmax}, {"copy2d", Copy2d},
      {"profilerRange", ProfilerRange}, {"graphBegin", GraphBegin}, {"graphEnd", GraphEnd}, {"graphAbort", GraphAbort}, {"graphLaunch", GraphLaunch}, {"graphDestroy", GraphDestroy},
      {"ncclUniqueId", NcclUniqueId}, {"ncclCommInit", NcclCommInit}, {"ncclCommDestroy", NcclCommDestroy}, {"allReduceSum", AllReduceSum},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
  exports.Set("abiVersion", 2);
  return exports;
}

}  // namespace
}  // namespace trt

static Napi::Object InitTrtllmCuda(Napi::Env env, Napi::Object exports) { return trt::Init(env, exports); }
NODE_API_MODULE(trtllm_cuda, InitTrtllmCuda)
