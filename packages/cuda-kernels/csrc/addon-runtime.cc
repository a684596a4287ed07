// N-API bindings: CUDA graph capture and replay, the measured ceilings (copy bandwidth, matmul peak), library status, NCCL.
#include "addon.h"

namespace trt {
namespace {

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
// allReduceSum({send, recv, count, dtype, comm, stream}) (queued on `stream`; waited for without one);
// ncclCommDestroy(handle); ncclCommAbort(handle) (frees it too);
// ncclCommAsyncError(handle) → "" or NCCL's error string.
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
Napi::Value NcclCommAbort(const Napi::CallbackInfo& info) {
  return guard(info, "ncclCommAbort", [&]() -> Napi::Value {
    ncclCommAbortHandle((void*)bigToPtr(info[0], "comm"));
    return info.Env().Undefined();
  });
}
Napi::Value NcclCommAsyncError(const Napi::CallbackInfo& info) {
  return guard(info, "ncclCommAsyncError", [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), ncclCommAsyncError((void*)bigToPtr(info[0], "comm")));
  });
}
Napi::Value AllReduceSum(const Napi::CallbackInfo& info) {
  return guard(info, "allReduceSum", [&]() -> Napi::Value {
    Args a(info, 0);
    Napi::Value comm = a.raw("comm");
    invokeAllReduceSum(a.ptr("send"), a.ptr("recv"), a.size("count"), a.dtype("dtype"), (void*)bigToPtr(comm, "comm"), a.stream());
    // on a given stream the all-reduce is queued in its order (the caller collects the stream, with a
    // bound if it wants one); on the default stream it is waited for here, as before
    if (a.stream() == nullptr) TRT_CUDA(cudaStreamSynchronize(nullptr));
    return info.Env().Undefined();
  });
}

}  // namespace

void runtimeBindings(std::vector<Binding>& out) {
  out.insert(out.end(), {
      {"graphBegin", GraphBegin},
      {"graphEnd", GraphEnd},
      {"graphAbort", GraphAbort},
      {"graphLaunch", GraphLaunch},
      {"graphDestroy", GraphDestroy},
      {"measureCopyBandwidth", MeasureCopyBandwidth},
      {"libraryInfo", LibraryInfo},
      {"measureMatmulPeak", MeasureMatmulPeak},
      {"ncclUniqueId", NcclUniqueId},
      {"ncclCommInit", NcclCommInit},
      {"ncclCommDestroy", NcclCommDestroy},
      {"ncclCommAbort", NcclCommAbort},
      {"ncclCommAsyncError", NcclCommAsyncError},
      {"allReduceSum", AllReduceSum},
  });
}

}  // namespace trt
