// The kernels' work counters (the roofline of `attend bench model --train`): a GEMM counts
// 2·M·N·K FLOPs, fused attention 2·B·H·Lq·Lk·(D + Dv) forward and twice that backward, the GEMMs
// inside the attention kernel are not counted again, and nothing is counted while counting is off.
#include "attend/kernels/counters.h"

#include <gtest/gtest.h>

#include <vector>

#include "attend/kernels/attention.h"
#include "attend/kernels/fma_peak.h"
#include "attend/kernels/gemm.h"

namespace attend::kernels {
namespace {

void reset() {
  gemm_counter().reset();
  attention_counter().reset();
}

TEST(KernelCounters, GemmAndAttentionFlops) {
  std::vector<float> a(64 * 16, 0.5f), b(16 * 32, 0.25f), c(64 * 32);
  const GemmShape s{false, false, 64, 32, 16, 16, 32, 32};
  reset();
  gemm(s, 1.0f, a.data(), b.data(), 0.0f, c.data(), 1);
  EXPECT_EQ(gemm_counter().calls.load(), 0);  // counting is off by default
  set_kernel_counting(true);
  gemm(s, 1.0f, a.data(), b.data(), 0.0f, c.data(), 1);
  gemm(s, 1.0f, a.data(), b.data(), 0.0f, c.data(), 1);
  EXPECT_EQ(gemm_counter().calls.load(), 2);
  EXPECT_EQ(gemm_counter().flops.load(), 2 * 2 * 64 * 32 * 16);
  EXPECT_GT(gemm_counter().core_nanoseconds.load(), 0);

  // B 2, H 3, Lq 40, Lk 50, D 16, Dv 8: the tiled kernel, whose tiles are GEMMs
  const int64_t B = 2, H = 3, Lq = 40, Lk = 50, D = 16, Dv = 8;
  std::vector<float> q(B * H * Lq * D, 0.1f), k(B * H * Lk * D, 0.2f), v(B * H * Lk * Dv, 0.3f),
      o(B * H * Lq * Dv), lse(B * H * Lq), dout(B * H * Lq * Dv, 1.0f), dq(q.size()), dk(k.size()),
      dv(v.size());
  auto view = [](std::vector<float>& x, int64_t l, int64_t d) {
    return View<float, 4>::dense(x.data(), {2, 3, l, d});
  };
  AttentionParams p;
  p.scale = 0.25f;
  p.kernel = AttentionParams::Kernel::Tiles;
  reset();
  attention_forward(view(q, Lq, D), view(k, Lk, D), view(v, Lk, Dv), {}, p, view(o, Lq, Dv),
                    lse.data(), 1);
  const int64_t forward = 2 * B * H * Lq * Lk * (D + Dv);
  EXPECT_EQ(attention_counter().calls.load(), 1);
  EXPECT_EQ(attention_counter().flops.load(), forward);
  EXPECT_EQ(gemm_counter().calls.load(), 0);  // the tiles' GEMMs are the attention's
  attention_backward(view(q, Lq, D), view(k, Lk, D), view(v, Lk, Dv), {}, p, view(o, Lq, Dv),
                     lse.data(), view(dout, Lq, Dv), view(dq, Lq, D), view(dk, Lk, D),
                     view(dv, Lk, Dv), 1);
  EXPECT_EQ(attention_counter().flops.load(), 3 * forward);
  EXPECT_EQ(gemm_counter().calls.load(), 0);
  set_kernel_counting(false);
}

TEST(KernelCounters, FmaPeakIsMeasured) {
  const FmaPeak p = measure_fma_peak(1, 0.02);
  EXPECT_EQ(p.threads, 1);
  EXPECT_GT(p.gflops, 0.5);  // any x86-64 core with SSE2 does far more
  EXPECT_EQ(p.gflops, p.gflops_per_core);
  EXPECT_STRNE(p.target, "");
}

}  // namespace
}  // namespace attend::kernels
