// What every binding file of the N-API module shares: errors turned into JS exceptions (guard), the
// caching device allocator, the params reader (Args), pointer conversions and the device error flag.
// The bindings: addon-memory.cc (devices, memory, copies, streams, events), addon-ops.cc (one per op),
// addon-runtime.cc (CUDA graphs, measurements, libraries, NCCL); addon.cc registers them all.
#pragma once
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

/** One exported function: its JS name and its binding. */
using Binding = std::pair<const char*, Napi::Function::Callback>;
void memoryBindings(std::vector<Binding>& out);
void opBindings(std::vector<Binding>& out);
void runtimeBindings(std::vector<Binding>& out);

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
/** The process's one allocator (addon-memory.cc). */
Allocator& allocator();

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

inline Napi::BigInt bigPtr(Napi::Env env, const void* p) { return Napi::BigInt::New(env, (uint64_t)(uintptr_t)p); }
inline const void* bigToPtr(const Napi::Value& v, const char* what) {
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

}  // namespace trt
