#pragma once
// Elementwise kernels over raw float arrays: binary arithmetic in the layouts broadcasting reduces
// to, and the unary activations with their derivatives. The fast float32 kernels use Highway with
// runtime dispatch; the *_reference templates are the plain twins (and the float64 path).
#include <cstdint>

namespace attend::kernels {

enum class Binary : uint8_t { Add, Sub, Mul, Div };

enum class Unary : uint8_t { Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, Relu, Gelu, Elu, Pow };

// out[i] = a[i] op b[i], i < n.
void binary_same(Binary op, const float* a, const float* b, float* out, int64_t n, int threads);
// out[i] = a[i] op s, or s op a[i] when scalar_first.
void binary_scalar(Binary op, const float* a, float s, float* out, int64_t n, bool scalar_first,
                   int threads);
// a: (rows, cols), v: (cols): out[r, c] = a[r, c] op v[c] (v[c] op a[r, c] when vec_first).
void binary_inner(Binary op, const float* a, const float* v, float* out, int64_t rows, int64_t cols,
                  bool vec_first, int threads);
// a: (rows, cols), v: (rows): out[r, c] = a[r, c] op v[r] (v[r] op a[r, c] when vec_first).
void binary_outer(Binary op, const float* a, const float* v, float* out, int64_t rows, int64_t cols,
                  bool vec_first, int threads);

// out[i] = f(x[i]); param is the exponent of Pow and alpha of Elu.
void unary(Unary op, float param, const float* x, float* out, int64_t n, int threads);
// dx[i] = g[i] · f'(x[i]); y = f(x) (used by Exp, Sqrt, Tanh, Sigmoid, Elu).
void unary_backward(Unary op, float param, const float* x, const float* y, const float* g,
                    float* dx, int64_t n, int threads);

// Gated linear unit over rows, g (rows, 2·d) = [a | b], residual r (rows, d) or null:
//   out (rows, d) = a ⊙ σ(b) (+ r)
void glu_forward(const float* g, const float* r, float* out, int64_t rows, int64_t d, int threads);
// dg (rows, 2·d) = [dout ⊙ σ(b) | dout ⊙ a ⊙ σ(b)·(1 − σ(b))]
void glu_backward(const float* g, const float* dout, float* dg, int64_t rows, int64_t d,
                  int threads);

// ---- reference twins (float and double) ----
template <typename T>
inline T binary_apply(Binary op, T a, T b) {
  switch (op) {
    case Binary::Add:
      return a + b;
    case Binary::Sub:
      return a - b;
    case Binary::Mul:
      return a * b;
    case Binary::Div:
      return a / b;
  }
  return T(0);
}
template <typename T>
void binary_same_reference(Binary op, const T* a, const T* b, T* out, int64_t n);
template <typename T>
void binary_scalar_reference(Binary op, const T* a, T s, T* out, int64_t n, bool scalar_first);
template <typename T>
void binary_inner_reference(Binary op, const T* a, const T* v, T* out, int64_t rows, int64_t cols,
                            bool vec_first);
template <typename T>
void binary_outer_reference(Binary op, const T* a, const T* v, T* out, int64_t rows, int64_t cols,
                            bool vec_first);
template <typename T>
void unary_reference(Unary op, T param, const T* x, T* out, int64_t n);
template <typename T>
void unary_backward_reference(Unary op, T param, const T* x, const T* y, const T* g, T* dx,
                              int64_t n);
template <typename T>
void glu_forward_reference(const T* g, const T* r, T* out, int64_t rows, int64_t d);
template <typename T>
void glu_backward_reference(const T* g, const T* dout, T* dg, int64_t rows, int64_t d);

}  // namespace attend::kernels
