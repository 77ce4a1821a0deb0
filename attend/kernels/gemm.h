#pragma once
// The one matrix multiply of the library. Row-major:
//   C(M, N) = alpha · op(A)(M, K) · op(B)(K, N) + beta · C
// op(X) = Xᵀ when trans_x; A is (M, K) or (K, M) with leading dimension lda, likewise B and C.
// Backend: oneDNN's dnnl_sgemm (default) or any CBLAS, chosen at build time (ATTEND_GEMM_BACKEND);
// single-threaded products whose op(B) fits in L1 run attend's own kernel (gemm_small.h) instead.
#include <cstdint>

namespace attend::kernels {

struct GemmShape {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
};

// float32 through the backend, using up to `threads` threads.
void gemm(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c,
          int threads);
// float64: a plain blocked loop (reference and gradient checks only).
void gemm(const GemmShape& s, double alpha, const double* a, const double* b, double beta,
          double* c, int threads);

// Strided batch: for i < batch, C_i = alpha · op(A_i) op(B_i) + beta · C_i with
// A_i = a + i·stride_a (likewise B, C). Many small GEMMs (attention heads) run as an outer
// parallel loop of single-threaded calls; few large ones each use all threads.
void gemm_batched(const GemmShape& s, int64_t batch, float alpha, const float* a, int64_t stride_a,
                  const float* b, int64_t stride_b, float beta, float* c, int64_t stride_c,
                  int threads);
void gemm_batched(const GemmShape& s, int64_t batch, double alpha, const double* a,
                  int64_t stride_a, const double* b, int64_t stride_b, double beta, double* c,
                  int64_t stride_c, int threads);

// op(B) (K, N) repacked once for many products with it (an LSTM's W_hh at every step), so that
// no call re-packs it: column panels of packed_b_width() floats (two vectors of the dispatched
// ISA: 16 on AVX2, 32 on AVX-512), panel q holding op(B)[:, q·w : (q + 1)·w) row-major (K, w),
// the last zero-padded; packed_b_floats(k, n) floats in all. op(B)[p, j] = b[p·ldb + j], or
// b[j·ldb + p] when trans_b.
int64_t packed_b_width();
int64_t packed_b_floats(int64_t k, int64_t n);
void pack_b(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* packed);
// C(M, N) = alpha · op(A)(M, K) · B + beta · C, B packed by pack_b (attend's register-tiled
// kernel, gemm_small.cpp; beta = 0 never reads C), its column panels split over up to `threads`
// threads from 1 MFLOP (kernels::parallel_region's awake team; the backend's OpenMP threads
// need 8). Counted as a GEMM.
void gemm_packed_b(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* packed, float beta, float* c, int64_t ldc,
                   int threads);

// The backend's one-time set-up, once per process (oneDNN generates its JIT sgemm kernels on the
// first call: 15-30 ms on a Zen 3 core, whatever the shape). make_model calls it, so that a model's
// first forward runs as fast as its later ones (ONNX Runtime does the like when it creates a
// session).
void warm_up_gemm();

// Plain triple loop, the reference twin of gemm (float and double).
template <typename T>
void gemm_reference(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c);

// Name of the backend compiled in ("oneDNN 2.6.3", "CBLAS").
const char* gemm_backend_name();

}  // namespace attend::kernels
