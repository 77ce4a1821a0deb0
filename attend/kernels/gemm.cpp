#include "attend/kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "attend/base/error.h"
#include "attend/kernels/counters.h"
#include "attend/kernels/gemm_small.h"
#include "attend/kernels/parallel.h"

#include "attend/base/sanitizer.h"
#if defined(ATTEND_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#if defined(ATTEND_GEMM_DNNL)
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>
#elif defined(ATTEND_GEMM_CBLAS)
#include <cblas.h>
#endif

namespace attend::kernels {

namespace {

// Sets the calling thread's OpenMP thread count for one backend call, then restores it.
class OmpThreadsScope {
 public:
  explicit OmpThreadsScope(int n) : previous_(omp_get_max_threads()) {
    if (n != previous_) omp_set_num_threads(n);
  }
  ~OmpThreadsScope() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }

 private:
  int previous_;
};

void check_shape(const GemmShape& s) {
  ATTEND_DEBUG_ASSERT(s.m >= 0 && s.n >= 0 && s.k >= 0);
  ATTEND_DEBUG_ASSERT(s.lda >= std::max<int64_t>(1, s.trans_a ? s.m : s.k));
  ATTEND_DEBUG_ASSERT(s.ldb >= std::max<int64_t>(1, s.trans_b ? s.k : s.n));
  ATTEND_DEBUG_ASSERT(s.ldc >= std::max<int64_t>(1, s.n));
  (void)s;
}

template <typename T>
void scale_c(const GemmShape& s, T beta, T* c) {
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j)
      c[i * s.ldc + j] = beta == T(0) ? T(0) : beta * c[i * s.ldc + j];
}

#if defined(ATTEND_ASAN)
// The backend is not instrumented, so under AddressSanitizer each operand's whole extent,
// (rows - 1)·ld + cols elements from its first, is checked before the call instead.
void check_extent(const char* name, const float* p, int64_t rows, int64_t cols, int64_t ld,
                  const GemmShape& s) {
  if (rows == 0 || cols == 0) return;
  const size_t bytes = static_cast<size_t>((rows - 1) * ld + cols) * sizeof(float);
  const void* bad = __asan_region_is_poisoned(const_cast<float*>(p), bytes);
  ATTEND_CHECK(bad == nullptr,
               "[gemm] operand {} ({}x{}, ld {}) of M={} N={} K={} trans_a={} trans_b={} reaches "
               "unowned memory at byte {} of {}",
               name, rows, cols, ld, s.m, s.n, s.k, s.trans_a, s.trans_b,
               static_cast<const char*>(bad) - reinterpret_cast<const char*>(p), bytes);
}
#endif

// Single-threaded backend call.
void sgemm_backend(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                   float* c) {
#if defined(ATTEND_ASAN)
  check_extent("A", a, s.trans_a ? s.k : s.m, s.trans_a ? s.m : s.k, s.lda, s);
  check_extent("B", b, s.trans_b ? s.n : s.k, s.trans_b ? s.k : s.n, s.ldb, s);
  check_extent("C", c, s.m, s.n, s.ldc, s);
#endif
#if defined(ATTEND_GEMM_DNNL)
  dnnl_status_t st = dnnl_sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', s.m, s.n, s.k, alpha,
                                a, s.lda, b, s.ldb, beta, c, s.ldc);
  ATTEND_CHECK(st == dnnl_success, "[gemm] dnnl_sgemm failed with status {} for M={} N={} K={}",
               static_cast<int>(st), s.m, s.n, s.k);
#else
  cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
              s.trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(s.m), static_cast<int>(s.n),
              static_cast<int>(s.k), alpha, a, static_cast<int>(s.lda), b, static_cast<int>(s.ldb),
              beta, c, static_cast<int>(s.ldc));
#endif
}

}  // namespace

template <typename T>
void gemm_reference(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        T av = s.trans_a ? a[p * s.lda + i] : a[i * s.lda + p];
        T bv = s.trans_b ? b[j * s.ldb + p] : b[p * s.ldb + j];
        acc += av * bv;
      }
      T& out = c[i * s.ldc + j];
      out = alpha * acc + (beta == T(0) ? T(0) : beta * out);
    }
}
template void gemm_reference<float>(const GemmShape&, float, const float*, const float*, float,
                                    float*);
template void gemm_reference<double>(const GemmShape&, double, const double*, const double*, double,
                                     double*);

void gemm(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c,
          int threads) {
  check_shape(s);
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {
    scale_c(s, beta, c);
    return;
  }
  // Products under ~8 MFLOP lose more to waking the second thread than they gain (measured:
  // 96×96×64 runs at 190 GFLOP/s on one thread and 41 on two; 3072×32×32 at 188 and 154).
  double flops = 2.0 * s.m * s.n * s.k;
  int t = flops < 8e6 ? 1 : std::max(1, threads);
  const CountedCall counted(gemm_counter(), flops, t);
  if (t == 1 && detail::small_gemm_preferred(s)) {
    detail::gemm_small(s, alpha, a, b, beta, c);
    return;
  }
  OmpThreadsScope scope(t);
  sgemm_backend(s, alpha, a, b, beta, c);
}

void warm_up_gemm() {
  static std::once_flag once;
  std::call_once(once, [] {
    // 8x8x8 through the backend itself (gemm() would take attend's small-product kernel)
    std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, 0.0f);
    GemmShape s;
    s.m = s.n = s.k = 8;
    s.lda = s.ldb = s.ldc = 8;
    OmpThreadsScope scope(1);
    sgemm_backend(s, 1.0f, a.data(), b.data(), 0.0f, c.data());
  });
}

void gemm(const GemmShape& s, double alpha, const double* a, const double* b, double beta,
          double* c, int threads) {
  check_shape(s);
  // Row blocks in parallel; each row of C is independent.
  parallel_chunks(s.m, threads, s.m * s.n * s.k > 1000000 ? kParallelMinWork : 0,
                  [&](int64_t i0, int64_t i1) {
                    for (int64_t i = i0; i < i1; ++i) {
                      GemmShape row = s;
                      row.m = 1;
                      const double* ai = s.trans_a ? a + i : a + i * s.lda;
                      gemm_reference(row, alpha, ai, b, beta, c + i * s.ldc);
                    }
                  });
}

template <typename T>
static void gemm_batched_impl(const GemmShape& s, int64_t batch, T alpha, const T* a,
                              int64_t stride_a, const T* b, int64_t stride_b, T beta, T* c,
                              int64_t stride_c, int threads) {
  if (batch <= 0) return;
  threads = std::max(1, threads);
  if (batch == 1 || threads == 1) {
    for (int64_t i = 0; i < batch; ++i)
      gemm(s, alpha, a + i * stride_a, b + i * stride_b, beta, c + i * stride_c, threads);
    return;
  }
  double flops = 2.0 * s.m * s.n * s.k;
  if (batch < threads && flops > 4e6) {  // few large products: thread inside each
    for (int64_t i = 0; i < batch; ++i)
      gemm(s, alpha, a + i * stride_a, b + i * stride_b, beta, c + i * stride_c, threads);
    return;
  }
  parallel_chunks(batch, threads, kParallelMinWork, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      gemm(s, alpha, a + i * stride_a, b + i * stride_b, beta, c + i * stride_c, 1);
  });
}

void gemm_batched(const GemmShape& s, int64_t batch, float alpha, const float* a, int64_t stride_a,
                  const float* b, int64_t stride_b, float beta, float* c, int64_t stride_c,
                  int threads) {
  gemm_batched_impl(s, batch, alpha, a, stride_a, b, stride_b, beta, c, stride_c, threads);
}
void gemm_batched(const GemmShape& s, int64_t batch, double alpha, const double* a,
                  int64_t stride_a, const double* b, int64_t stride_b, double beta, double* c,
                  int64_t stride_c, int threads) {
  gemm_batched_impl(s, batch, alpha, a, stride_a, b, stride_b, beta, c, stride_c, threads);
}

const char* gemm_backend_name() {
#if defined(ATTEND_GEMM_DNNL)
  static const std::string name = [] {
    const dnnl_version_t* v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->patch) + " dnnl_sgemm";
  }();
  return name.c_str();
#else
  return "CBLAS cblas_sgemm";
#endif
}

}  // namespace attend::kernels
