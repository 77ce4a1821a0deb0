#pragma once
// Gradient check by float64 central differences (test kind 2 of DESIGN.md).
//   L(x) = Σ f(x) ⊙ R for a fixed random R; analytic dL/dx from backward(R) is compared with
//   (L(x + eps·e_i) − L(x − eps·e_i)) / (2·eps) for every element i of every input.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "attend/autograd/node.h"
#include "attend/tensor/tensor.h"

namespace attend::testing {

// A tensor of the given values (row-major), for hand-computed expectations.
inline Tensor vals(const std::vector<double>& v, const Shape& s, DType t = DType::F32) {
  return Tensor::from_doubles(v, s, t);
}

// Random float64 leaf with requires_grad (values in [low, high)).
inline Tensor random_leaf(const Shape& shape, Context& ctx, double low = -1.0, double high = 1.0) {
  Tensor t = Tensor::uniform(shape, low, high, DType::F64, ctx);
  t.set_requires_grad(true);
  return t;
}

inline double dot_with(const Tensor& out, const Tensor& r) {
  std::vector<double> a = out.to_vector<double>(), b = r.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Checks every input of `f` that requires a gradient. Inputs must be contiguous float64 leaves.
inline ::testing::AssertionResult gradcheck(
    const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
    double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4) {
  for (const Tensor& x : inputs) {
    if (!x.defined() || !x.requires_grad()) continue;
    if (x.dtype() != DType::F64 || !x.is_contiguous())
      return ::testing::AssertionFailure() << "gradcheck inputs must be contiguous float64";
    x.zero_grad();
  }
  Tensor out = f(inputs);
  if (out.dtype() != DType::F64) return ::testing::AssertionFailure() << "output is not float64";
  Context& ctx = out.context();
  Tensor r = Tensor::normal(out.shape(), 0.0, 1.0, DType::F64, ctx);
  out.backward(r);

  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor g = x.grad();
    std::vector<double> analytic =
        g.defined() ? g.to_vector<double>() : std::vector<double>(x.numel(), 0.0);
    double* p = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double saved = p[i];
      double lp, lm;
      {
        NoGradGuard ng;
        p[i] = saved + eps;
        lp = dot_with(f(inputs), r);
        p[i] = saved - eps;
        lm = dot_with(f(inputs), r);
        p[i] = saved;
      }
      double numeric = (lp - lm) / (2 * eps);
      if (std::abs(numeric - analytic[i]) > atol + rtol * std::abs(numeric)) {
        return ::testing::AssertionFailure() << "input " << k << " element " << i << ": analytic "
                                             << analytic[i] << " vs numeric " << numeric;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// |a − b| <= atol + rtol·|b| for every element (NaN is never close). A failure names `what` and
// the worst element, with its |a − b| / (atol + rtol·|b|).
inline ::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double atol = 1e-5,
                                            double rtol = 1e-4, const std::string& what = "") {
  const std::string label = what.empty() ? "" : what + ": ";
  if (!(a.shape() == b.shape()))
    return ::testing::AssertionFailure()
           << label << "shapes " << a.shape().str() << " vs " << b.shape().str();
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  bool close = true;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double err = std::abs(va[i] - vb[i]), tol = atol + rtol * std::abs(vb[i]);
    if (err <= tol) continue;
    const double ratio = std::isnan(err) ? INFINITY : err / tol;
    if (close || ratio > worst) worst = ratio, at = i;
    close = false;
  }
  if (!close)
    return ::testing::AssertionFailure() << label << "element " << at << ": " << va[at] << " vs "
                                         << vb[at] << " (" << worst << "x tolerance)";
  return ::testing::AssertionSuccess();
}

using V = std::vector<double>;

// A float64 tensor of `shape` holding `values`.
inline Tensor T64(const V& values, const Shape& shape, Context& ctx) {
  return Tensor::from_doubles(values, shape, DType::F64, ctx);
}

// Expects f() to throw attend::Error whose message contains `part`.
template <typename F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error thrown, expected one containing '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// Path of a file under ../shared (the environment variable ATTEND_SHARED overrides).
inline std::string shared_path(const std::string& rel) {
  const char* env = std::getenv("ATTEND_SHARED");
  return std::string(env ? env : ATTEND_SHARED_DIR) + "/" + rel;
}

}  // namespace attend::testing
