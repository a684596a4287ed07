// The N-API module: device discovery, a caching device allocator, copies, streams, events, pinned
// host memory, and one binding per op. Device pointers cross into JS as BigInt. Every exported
// function runs inside guard(): CUDA and argument failures become JS exceptions with the op and
// file:line; nothing here can abort the process.
// The bindings live in addon-memory.cc, addon-ops.cc and addon-runtime.cc (shared pieces: addon.h);
// this file registers them as the module's exports.
#include "addon.h"

namespace trt {
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::vector<Binding> fns;
  memoryBindings(fns);
  opBindings(fns);
  runtimeBindings(fns);
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
  exports.Set("abiVersion", 2);
  return exports;
}

}  // namespace
}  // namespace trt

static Napi::Object InitTrtllmCuda(Napi::Env env, Napi::Object exports) { return trt::Init(env, exports); }
NODE_API_MODULE(trtllm_cuda, InitTrtllmCuda)
