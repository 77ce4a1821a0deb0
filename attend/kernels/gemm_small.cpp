#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attend/kernels/gemm_small.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <vector>

#include "attend/kernels/counters.h"
#include "attend/kernels/gemm_small.h"
#include "attend/kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Float scratch of n elements: on the stack up to kStack, else on the heap.
template <int64_t kStack>
class FloatScratch {
 public:
  explicit FloatScratch(int64_t n) {
    if (n > kStack) {
      heap_.resize(static_cast<size_t>(n));
      data_ = heap_.data();
    }
  }
  float* data() { return data_; }

 private:
  HWY_ALIGN float stack_[kStack];
  std::vector<float> heap_;
  float* data_ = stack_;
};

// One register tile: C[0:MR, 0:NV·lanes) (alpha, beta applied) from
//   acc_rv = Σ_p A[r, p] · B[p, v·lanes : (v + 1)·lanes)
// with A[r, p] at a[r·a_rs + p·a_cs] (either transpose of A without a copy) and B row-major
// (K, ≥ NV·lanes readable floats per row, stride ldb). kPartial: only `last` lanes of the last
// vector belong to C; they go through a stack copy, so nothing outside the M × N block of C is
// read or written (no masked memory operations, which some targets emulate with full-width ones).
template <int MR, int NV, bool kPartial>
HWY_INLINE void Tile(const float* HWY_RESTRICT a, int64_t a_rs, int64_t a_cs,
                     const float* HWY_RESTRICT b, int64_t ldb, int64_t k, float* HWY_RESTRICT c,
                     int64_t ldc, float alpha, float beta, size_t last) {
  const DF d;
  const size_t N = hn::Lanes(d);
  VF acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * ldb;
    VF bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = hn::LoadU(d, bp + v * N);
    const float* ap = a + p * a_cs;
    for (int r = 0; r < MR; ++r) {
      const auto av = hn::Set(d, ap[r * a_rs]);
      for (int v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(av, bv[v], acc[r][v]);
    }
  }
  const auto valpha = hn::Set(d, alpha), vbeta = hn::Set(d, beta);
  HWY_ALIGN float tail[HWY_MAX_BYTES / sizeof(float)] = {};
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    for (int v = 0; v < NV; ++v) {
      auto out = hn::Mul(acc[r][v], valpha);
      if (kPartial && v == NV - 1) {
        float* ct = cr + v * N;
        if (beta != 0.0f) {
          std::copy(ct, ct + last, tail);
          out = hn::MulAdd(vbeta, hn::Load(d, tail), out);
        }
        hn::Store(out, d, tail);
        std::copy(tail, tail + last, ct);
      } else {
        if (beta != 0.0f) out = hn::MulAdd(vbeta, hn::LoadU(d, cr + v * N), out);
        hn::StoreU(out, d, cr + v * N);
      }
    }
  }
}

// Rows [0, rows) of one column panel, in tiles of kRows rows and one remainder tile. With 32
// vector registers (AVX-512) 8 × 2 accumulators; with 16 (AVX2), 6 × 2.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kRows = 8;
#else
constexpr int kRows = 6;
#endif

// The last m mod kRows rows of a panel: Tile<rows> chosen at compile time (rows < kRows).
template <int MR, int NV, bool kPartial>
void RemainderTile(int64_t rows, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                   int64_t ldb, int64_t k, float* c, int64_t ldc, float alpha, float beta,
                   size_t last) {
  if constexpr (MR > 0) {
    if (rows == MR)
      Tile<MR, NV, kPartial>(a, a_rs, a_cs, b, ldb, k, c, ldc, alpha, beta, last);
    else
      RemainderTile<MR - 1, NV, kPartial>(rows, a, a_rs, a_cs, b, ldb, k, c, ldc, alpha, beta,
                                          last);
  }
}

// Whole kRows tiles, except that a remainder of one or two rows joins the last whole tile and the
// two are split in halves (AVX2: 8 rows as 4 + 4, not 6 + 2): a tile of MR rows keeps 2·MR
// accumulators in flight, and one or two rows (2 or 4) leave the FMA units idle for most of the
// 4-cycle latency. Each element of C is summed in the same order whatever its tile.
template <int NV, bool kPartial>
void Panel(const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb, int64_t m,
           int64_t k, float* c, int64_t ldc, float alpha, float beta, size_t last) {
  const int64_t rem = m % kRows;
  const int64_t whole = m / kRows - (rem != 0 && rem <= 2 && m > kRows ? 1 : 0);
  int64_t i = 0;
  for (; i < whole * kRows; i += kRows)
    Tile<kRows, NV, kPartial>(a + i * a_rs, a_rs, a_cs, b, ldb, k, c + i * ldc, ldc, alpha, beta,
                              last);
  const int64_t rest = m - i;
  const int64_t first = rest > kRows ? (rest + 1) / 2 : rest;
  RemainderTile<kRows - 1, NV, kPartial>(first, a + i * a_rs, a_rs, a_cs, b, ldb, k, c + i * ldc,
                                         ldc, alpha, beta, last);
  i += first;
  RemainderTile<kRows - 1, NV, kPartial>(m - i, a + i * a_rs, a_rs, a_cs, b, ldb, k, c + i * ldc,
                                         ldc, alpha, beta, last);
}

// C = alpha · A' B' + beta · C with A' described by (a_rs, a_cs) and B' row-major (K, N, ldb).
void GemmSmallRowMajorB(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t a_rs,
                        int64_t a_cs, const float* b, int64_t ldb, float beta, float* c,
                        int64_t ldc) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  // Column panels two vectors wide: each B panel (K × 2N floats) stays in L1 while every row
  // tile of A streams past it.
  for (; j + 2 * N <= n; j += 2 * N)
    Panel<2, false>(a, a_rs, a_cs, b + j, ldb, m, k, c + j, ldc, alpha, beta, N);
  const int64_t rest = n - j;
  if (rest == N) {
    Panel<1, false>(a, a_rs, a_cs, b + j, ldb, m, k, c + j, ldc, alpha, beta, N);
    return;
  }
  if (rest == 0) return;
  // A ragged last panel: its columns copied into whole vectors (zero-padded), so the kernel's
  // loads never reach past B's last row.
  const int64_t width = rest > N ? 2 * N : N;
  FloatScratch<4096> scratch(k * width);
  float* panel = scratch.data();
  for (int64_t p = 0; p < k; ++p) {
    float* row = std::copy(b + p * ldb + j, b + p * ldb + n, panel + p * width);
    std::fill(row, panel + (p + 1) * width, 0.0f);
  }
  if (rest > N)
    Panel<2, true>(a, a_rs, a_cs, panel, width, m, k, c + j, ldc, alpha, beta, rest - N);
  else
    Panel<1, true>(a, a_rs, a_cs, panel, width, m, k, c + j, ldc, alpha, beta, rest);
}

// bt (K, N) = bᵀ for b (N, K, stride ldb): 8 × 8 blocks transposed in registers (three rounds
// of interleaves: 32-bit, 64-bit, then 128-bit halves) where vectors hold 8 floats, the rest
// element by element.
void TransposeIntoPanel(const float* HWY_RESTRICT b, int64_t ldb, int64_t n, int64_t k,
                        float* HWY_RESTRICT bt) {
  int64_t n8 = 0;  // rows of b done by blocks
#if HWY_MAX_BYTES >= 32
  const hn::FixedTag<float, 8> d8;
  const hn::Repartition<double, decltype(d8)> dd;
  using V8 = hn::Vec<decltype(d8)>;
  auto il64 = [&](V8 x, V8 y) {
    return hn::BitCast(d8, hn::InterleaveLower(dd, hn::BitCast(dd, x), hn::BitCast(dd, y)));
  };
  auto iu64 = [&](V8 x, V8 y) {
    return hn::BitCast(d8, hn::InterleaveUpper(dd, hn::BitCast(dd, x), hn::BitCast(dd, y)));
  };
  n8 = n / 8 * 8;
  const int64_t k8 = k / 8 * 8;
  for (int64_t j = 0; j < n8; j += 8) {
    const float* bj = b + j * ldb;
    for (int64_t p = 0; p < k8; p += 8) {
      V8 r[8];
      for (int i = 0; i < 8; ++i) r[i] = hn::LoadU(d8, bj + i * ldb + p);
      // rows a..h of the block; t: pairs (a0 b0 a1 b1 | a4 b4 a5 b5) …
      V8 t[8];
      for (int i = 0; i < 8; i += 2) {
        t[i] = hn::InterleaveLower(d8, r[i], r[i + 1]);
        t[i + 1] = hn::InterleaveUpper(d8, r[i], r[i + 1]);
      }
      // u: quads (a0 b0 c0 d0 | a4 b4 c4 d4) for columns 0..3 (rows a–d), likewise rows e–h
      const V8 u0 = il64(t[0], t[2]), u1 = iu64(t[0], t[2]), u2 = il64(t[1], t[3]),
               u3 = iu64(t[1], t[3]);
      const V8 v0 = il64(t[4], t[6]), v1 = iu64(t[4], t[6]), v2 = il64(t[5], t[7]),
               v3 = iu64(t[5], t[7]);
      float* out = bt + p * n + j;
      hn::StoreU(hn::ConcatLowerLower(d8, v0, u0), d8, out + 0 * n);
      hn::StoreU(hn::ConcatLowerLower(d8, v1, u1), d8, out + 1 * n);
      hn::StoreU(hn::ConcatLowerLower(d8, v2, u2), d8, out + 2 * n);
      hn::StoreU(hn::ConcatLowerLower(d8, v3, u3), d8, out + 3 * n);
      hn::StoreU(hn::ConcatUpperUpper(d8, v0, u0), d8, out + 4 * n);
      hn::StoreU(hn::ConcatUpperUpper(d8, v1, u1), d8, out + 5 * n);
      hn::StoreU(hn::ConcatUpperUpper(d8, v2, u2), d8, out + 6 * n);
      hn::StoreU(hn::ConcatUpperUpper(d8, v3, u3), d8, out + 7 * n);
    }
    for (int64_t p = k8; p < k; ++p)
      for (int64_t i = 0; i < 8; ++i) bt[p * n + j + i] = bj[i * ldb + p];
  }
#endif
  for (int64_t j = n8; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) bt[p * n + j] = b[j * ldb + p];
}

// gemm_small for one target: a transposed B packed into a (K, N) panel, then the kernel.
void GemmSmall(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
               float* c) {
  // op(A)[i, p] = a[i·a_rs + p·a_cs]
  const int64_t a_rs = s.trans_a ? 1 : s.lda, a_cs = s.trans_a ? s.lda : 1;
  if (!s.trans_b) {
    GemmSmallRowMajorB(s.m, s.n, s.k, alpha, a, a_rs, a_cs, b, s.ldb, beta, c, s.ldc);
    return;
  }
  FloatScratch<kSmallGemmMaxPanel> bt(s.k * s.n);
  TransposeIntoPanel(b, s.ldb, s.n, s.k, bt.data());
  GemmSmallRowMajorB(s.m, s.n, s.k, alpha, a, a_rs, a_cs, bt.data(), s.n, beta, c, s.ldc);
}

// Column panels of a packed B: two vectors of this target wide.
int64_t PackedWidth() {
  return 2 * static_cast<int64_t>(hn::Lanes(DF()));
}

// packed[j/w][p][j mod w] = op(B)[p, j] for w = PackedWidth(), zero past column n − 1 (see
// pack_b in gemm.h).
void PackB(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* packed) {
  const int64_t w = PackedWidth();
  for (int64_t j = 0; j < n; j += w) {
    float* panel = packed + j * k;
    const int64_t cols = std::min(w, n - j);
    if (trans_b && cols == w) {
      TransposeIntoPanel(b + j * ldb, ldb, w, k, panel);
      continue;
    }
    for (int64_t p = 0; p < k; ++p) {
      float* row = panel + p * w;
      for (int64_t jj = 0; jj < cols; ++jj)
        row[jj] = trans_b ? b[(j + jj) * ldb + p] : b[p * ldb + j + jj];
      std::fill(row + cols, row + w, 0.0f);
    }
  }
}

// C = alpha · op(A) B + beta · C with B packed by PackB: each panel (K × w, contiguous) stays in
// L1/L2 while the row tiles of A stream past it.
void GemmPackedB(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* packed, float beta, float* c, int64_t ldc) {
  const int64_t a_rs = trans_a ? 1 : lda, a_cs = trans_a ? lda : 1;
  const int64_t N = static_cast<int64_t>(hn::Lanes(DF())), w = 2 * N;
  int64_t j = 0;
  for (; j + w <= n; j += w)
    Panel<2, false>(a, a_rs, a_cs, packed + j * k, w, m, k, c + j, ldc, alpha, beta, N);
  const int64_t rest = n - j;
  if (rest > N)
    Panel<2, true>(a, a_rs, a_cs, packed + j * k, w, m, k, c + j, ldc, alpha, beta, rest - N);
  else if (rest > 0)
    Panel<1, true>(a, a_rs, a_cs, packed + j * k, w, m, k, c + j, ldc, alpha, beta, rest);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels::detail {

HWY_EXPORT(GemmSmall);
HWY_EXPORT(PackedWidth);
HWY_EXPORT(PackB);
HWY_EXPORT(GemmPackedB);

void gemm_small(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                float* c) {
  if (s.m == 0 || s.n == 0) return;
  HWY_DYNAMIC_DISPATCH(GemmSmall)(s, alpha, a, b, beta, c);
}

bool small_gemm_preferred(const GemmShape& s) {
  // Measured against dnnl_sgemm on one thread (1 AVX-512 core; bench_engine's
  // BM_GemmSmallVsBackend, table in docs/benchmarks.md): 1.04–2.7× faster while op(B) (K × N)
  // fits in L1 beside the A tiles (up to 96², any M: 3072×32×32, 1024×96×96, 96×64×128; 0.92×
  // for N = 7), 0.75–1.05× from 128² up.
  return s.k * s.n <= kSmallGemmMaxPanel;
}

}  // namespace attend::kernels::detail

namespace attend::kernels {

int64_t packed_b_width() {
  return HWY_DYNAMIC_DISPATCH(detail::PackedWidth)();
}

int64_t packed_b_floats(int64_t k, int64_t n) {
  const int64_t w = packed_b_width();
  return (n + w - 1) / w * w * k;
}

void pack_b(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* packed) {
  HWY_DYNAMIC_DISPATCH(detail::PackB)(trans_b, k, n, b, ldb, packed);
}

void gemm_packed_b(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* packed, float beta, float* c, int64_t ldc,
                   int threads) {
  if (m == 0 || n == 0) return;
  const double flops = 2.0 * m * n * k;
  const int64_t w = packed_b_width(), panels = (n + w - 1) / w;
  // Threaded from 1 MFLOP (~10 µs on a core): a region on the team's awake workers costs ~1 µs
  // (BM_ParallelRegion). At 8 MFLOP, the old limit for a sleeping OpenMP team, a batch-1 forward's
  // 11 × 512 × 512 products ran on one thread.
  const int t = flops < 1e6 ? 1 : static_cast<int>(std::clamp<int64_t>(threads, 1, panels));
  const CountedCall counted(gemm_counter(), flops, t);
  auto columns = [&](int64_t p0, int64_t p1) {  // panels [p0, p1): columns [p0·w, min(n, p1·w))
    const int64_t j0 = p0 * w, j1 = std::min(n, p1 * w);
    if (j1 <= j0) return;
    const auto kernel = HWY_DYNAMIC_DISPATCH(detail::GemmPackedB);
    kernel(trans_a, m, j1 - j0, k, alpha, a, lda, packed + j0 * k, beta, c + j0, ldc);
  };
  if (t == 1) {
    columns(0, panels);
    return;
  }
  parallel_region(t,
                  [&](int64_t i, int64_t nt) { columns(panels * i / nt, panels * (i + 1) / nt); });
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
