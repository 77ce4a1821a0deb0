#pragma once
// A single-threaded float32 GEMM for small products (attention heads, d_model ≤ ~96 layers at
// batch 1), where a library GEMM's per-call packing and dispatch cost more than the arithmetic.
// Same contract as kernels::gemm (row-major, C = alpha · op(A) op(B) + beta · C; beta = 0 never
// reads C); kernels::gemm calls it below a measured size (see small_gemm_preferred).
#include "attend/kernels/gemm.h"

namespace attend::kernels::detail {

// The largest op(B) (K·N floats) small_gemm_preferred hands to gemm_small: 40 KB, which stays in
// L1 beside the A tiles; a transposed B up to this size is packed on the stack.
constexpr int64_t kSmallGemmMaxPanel = 96 * 96 + 1024;

// C(M, N) = alpha · op(A)(M, K) · op(B)(K, N) + beta · C. No threads. op(B) is copied into a
// (K, N) panel when trans_b (on the stack up to kSmallGemmMaxPanel floats), and a ragged last
// column panel into whole vectors (on the stack up to 4096 floats); op(A) is read in place.
void gemm_small(const GemmShape& s, float alpha, const float* a, const float* b, float beta,
                float* c);

// Whether gemm_small beats the backend for this shape on one thread.
bool small_gemm_preferred(const GemmShape& s);

}  // namespace attend::kernels::detail
