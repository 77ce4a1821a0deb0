#include "attend/kernels/gemm.h"
#include "attend/kernels/gemm_small.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "attend/base/error.h"
#include "attend/base/sanitizer.h"
#include "support/random_vec.h"

namespace attend::kernels {
namespace {

using attend::testing::random_vec;

// Runs gemm and gemm_reference on the same random operands (with lda/ldb/ldc padding) and
// compares every element of C, padding included (gemm must not write outside the M×N block).
// Which float kernel `check` calls: gemm (backend or small kernel by its rule), detail::gemm_small
// directly, or pack_b then gemm_packed_b.
enum class Kernel { gemm, small, packed };

template <typename T>
::testing::AssertionResult check(const GemmShape& s, T alpha, T beta, int threads, double tol,
                                 Kernel kernel = Kernel::gemm) {
  std::mt19937 rng(static_cast<unsigned>(s.m * 131 + s.n * 17 + s.k + s.lda));
  int64_t a_rows = s.trans_a ? s.k : s.m, b_rows = s.trans_b ? s.n : s.k;
  auto a = random_vec<T>(std::max<int64_t>(1, a_rows * s.lda), rng);
  auto b = random_vec<T>(std::max<int64_t>(1, b_rows * s.ldb), rng);
  auto c = random_vec<T>(std::max<int64_t>(1, s.m * s.ldc), rng);
  if (beta == T(0))  // beta = 0 must not read C: NaN there must not reach the result
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) c[i * s.ldc + j] = std::numeric_limits<T>::quiet_NaN();
  auto ref = c;
  if constexpr (std::is_same_v<T, float>) {
    if (kernel == Kernel::small) {
      detail::gemm_small(s, alpha, a.data(), b.data(), beta, c.data());
    } else if (kernel == Kernel::packed) {
      // canaries past the packed size: pack_b must write exactly packed_b_floats
      std::vector<float> packed(packed_b_floats(s.k, s.n) + 16, 7.0f);
      pack_b(s.trans_b, s.k, s.n, b.data(), s.ldb, packed.data());
      for (size_t i = packed.size() - 16; i < packed.size(); ++i)
        if (packed[i] != 7.0f) return ::testing::AssertionFailure() << "pack_b wrote past its size";
      gemm_packed_b(s.trans_a, s.m, s.n, s.k, alpha, a.data(), s.lda, packed.data(), beta, c.data(),
                    s.ldc, threads);
    } else {
      gemm(s, alpha, a.data(), b.data(), beta, c.data(), threads);
    }
  } else {
    gemm(s, alpha, a.data(), b.data(), beta, c.data(), threads);
  }
  gemm_reference(s, alpha, a.data(), b.data(), beta, ref.data());
  for (size_t i = 0; i < c.size(); ++i)
    if (!(std::abs(double(c[i]) - double(ref[i])) <= tol * (1 + std::abs(double(ref[i])))))
      return ::testing::AssertionFailure()
             << "M=" << s.m << " N=" << s.n << " K=" << s.k << " ta=" << s.trans_a
             << " tb=" << s.trans_b << " lda=" << s.lda << " element " << i << ": " << c[i]
             << " vs " << ref[i];
  return ::testing::AssertionSuccess();
}

template <typename T>
void sweep(double tol) {
  for (int64_t m : {1, 3, 17, 67})
    for (int64_t n : {1, 5, 16, 33})
      for (int64_t k : {0, 1, 7, 64, 129})
        for (bool ta : {false, true})
          for (bool tb : {false, true})
            for (int64_t pad : {0, 3}) {
              GemmShape s{ta, tb, m, n, k, 0, 0, n + pad};
              s.lda = (ta ? m : k) + pad;
              s.ldb = (tb ? k : n) + pad;
              s.lda = std::max<int64_t>(s.lda, 1);
              s.ldb = std::max<int64_t>(s.ldb, 1);
              for (T beta : {T(0), T(1), T(0.5)}) ASSERT_TRUE(check<T>(s, T(1.5), beta, 2, tol));
            }
}

TEST(Gemm, Float32MatchesReference) {
  sweep<float>(1e-4);
}
TEST(Gemm, Float64MatchesReference) {
  sweep<double>(1e-12);
}

// Every shape of ms × ns × ks, both transposes, with and without padding, three betas, through
// `kernel` on one thread, on every SIMD target compiled in that this CPU runs.
void kernel_sweep(Kernel kernel, std::initializer_list<int64_t> ms,
                  std::initializer_list<int64_t> ns, std::initializer_list<int64_t> ks) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    for (int64_t m : ms)
      for (int64_t n : ns)
        for (int64_t k : ks)
          for (bool ta : {false, true})
            for (bool tb : {false, true})
              for (int64_t pad : {0, 5}) {
                GemmShape s{ta,
                            tb,
                            m,
                            n,
                            k,
                            std::max<int64_t>(1, (ta ? m : k) + pad),
                            std::max<int64_t>(1, (tb ? k : n) + pad),
                            n + pad};
                for (float beta : {0.0f, 1.0f, 0.5f})
                  ASSERT_TRUE(check<float>(s, 0.75f, beta, 1, 1e-4, kernel));
              }
  }
  hwy::SetSupportedTargetsForTest(0);
}

// attend's own kernel: every row remainder of the 8- and 6-row tiles, one- and two-vector column
// panels with and without a masked tail, the in-register 8 × 8 transpose with ragged edges, and
// a transposed op(B) too large for the stack panel (K·N > 10240) — on every SIMD target compiled
// in that this CPU runs (AVX-512's 8-row tiles, AVX2's 6-row ones, SSE4, …).
TEST(Gemm, SmallKernelMatchesReference) {
  kernel_sweep(Kernel::small, {1, 2, 3, 5, 6, 7, 8, 9, 17, 96},
               {1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64, 100}, {1, 5, 8, 9, 16, 64, 130});
}

// B packed once (an LSTM's W_hh), then the register-tiled kernel: ragged last panels of one and
// two vectors, both transposes (the transposed pack's in-register blocks and their edges), row
// remainders, k = 0 (C = beta · C), and the packed size exact — on every SIMD target this CPU runs.
TEST(Gemm, PackedBMatchesReference) {
  kernel_sweep(Kernel::packed, {1, 2, 5, 6, 7, 8, 9, 32}, {1, 7, 8, 9, 16, 17, 31, 32, 33, 64, 100},
               {0, 1, 8, 9, 64, 130});
  // From 8 MFLOP the panels are split over the threads (uneven shares, a ragged last panel).
  for (int threads : {2, 3})
    for (bool ta : {false, true}) {
      GemmShape s{ta, true, 64, 1000, 130, ta ? 64 : 130, 130, 1000};
      ASSERT_TRUE(check<float>(s, 1.25f, 0.5f, threads, 1e-4, Kernel::packed));
    }
}

TEST(Gemm, SmallKernelRule) {
  // Shapes of attention heads and d_model ≤ 96 layers take attend's kernel; 128² and up the
  // backend's.
  EXPECT_TRUE(detail::small_gemm_preferred(GemmShape{false, true, 96, 64, 64, 64, 64, 64}));
  EXPECT_TRUE(detail::small_gemm_preferred(GemmShape{false, false, 3072, 16, 96, 96, 16, 16}));
  EXPECT_FALSE(detail::small_gemm_preferred(GemmShape{false, true, 96, 128, 128, 128, 128, 128}));
  EXPECT_FALSE(detail::small_gemm_preferred(GemmShape{false, true, 32, 2048, 512, 512, 512, 2048}));
}

TEST(Gemm, LargeThreaded) {
  GemmShape s{false, true, 200, 150, 300, 300, 300, 150};
  EXPECT_TRUE(check<float>(s, 1.f, 0.f, 2, 1e-4));
  EXPECT_TRUE(check<double>(s, 1.0, 1.0, 2, 1e-12));
}

// Under AddressSanitizer the uninstrumented backend's operands are checked before the call: a C one
// element short of M×N is an error naming operand C, not a silent write past the buffer.
TEST(Gemm, SanitizerBuildChecksBackendExtents) {
#if !defined(ATTEND_ASAN)
  GTEST_SKIP() << "only an AddressSanitizer build checks the backend's operand extents";
#else
  GemmShape s{false, true, 32, 2048, 512, 512, 512, 2048};
  ASSERT_FALSE(detail::small_gemm_preferred(s));
  std::vector<float> a(32 * 512), b(2048 * 512);
  std::vector<float> c(32 * 2048 - 1);
  try {
    gemm(s, 1.f, a.data(), b.data(), 0.f, c.data(), 1);
    ADD_FAILURE() << "no error for a short C";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("operand C"), std::string::npos) << e.what();
  }
#endif
}

TEST(Gemm, KZeroScalesC) {
  GemmShape s{false, false, 2, 2, 0, 1, 2, 2};
  std::vector<float> a(1), b(1), c{1, 2, 3, 4};
  gemm(s, 1.f, a.data(), b.data(), 0.5f, c.data(), 1);
  EXPECT_EQ(c, (std::vector<float>{0.5, 1, 1.5, 2}));
  gemm(s, 1.f, a.data(), b.data(), 0.f, c.data(), 1);
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0}));
}

template <typename T>
void batched(int64_t batch, const GemmShape& s, bool shared_a, int threads, double tol) {
  std::mt19937 rng(7);
  int64_t sa = shared_a ? 0 : (s.trans_a ? s.k : s.m) * s.lda;
  int64_t sb = (s.trans_b ? s.n : s.k) * s.ldb, sc = s.m * s.ldc;
  auto a = random_vec<T>(
      std::max<int64_t>(1, shared_a ? (s.trans_a ? s.k : s.m) * s.lda : batch * sa), rng);
  auto b = random_vec<T>(batch * sb, rng);
  auto c = random_vec<T>(batch * sc, rng);
  auto ref = c;
  gemm_batched(s, batch, T(1), a.data(), sa, b.data(), sb, T(0.5), c.data(), sc, threads);
  for (int64_t i = 0; i < batch; ++i)
    gemm_reference(s, T(1), a.data() + i * sa, b.data() + i * sb, T(0.5), ref.data() + i * sc);
  for (size_t i = 0; i < c.size(); ++i)
    ASSERT_NEAR(double(c[i]), double(ref[i]), tol * (1 + std::abs(double(ref[i])))) << i;
}

TEST(Gemm, BatchedMatchesLoop) {
  for (int threads : {1, 2}) {
    batched<float>(12, GemmShape{false, true, 9, 11, 16, 16, 16, 11}, false, threads, 1e-4);
    batched<float>(5, GemmShape{true, false, 7, 13, 5, 7, 13, 13}, true, threads, 1e-4);
    batched<float>(3, GemmShape{false, false, 130, 70, 90, 90, 70, 70}, false, threads, 1e-4);
    batched<double>(6, GemmShape{true, true, 4, 3, 8, 4, 8, 3}, false, threads, 1e-12);
  }
}

}  // namespace
}  // namespace attend::kernels
