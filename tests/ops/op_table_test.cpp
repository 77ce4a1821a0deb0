// One table of every differentiable op (in the spirit of ggml's test-backend-ops). Each row names
// an op and lists its cases: inputs (float64) and the call. For every case the harness runs
//   (a) a gradient check by float64 central differences (support/gradcheck.h) of every input that
//       requires a gradient, and
//   (b) the call in float32 (the fast kernels) against the same call in float64 (the reference
//       kernels the float64 paths use) on the same values: the output and, for the same upstream
//       gradient, every input gradient.
// Test names are row names (ctest -R 'OpTable.*/softmax ', test_ops --gtest_filter='*/softmax'); a
// row's name is its op's name, or the op's name, '_' and what sets the row apart
// ("conv1d_channels_last").
// Adding an op is one row: OpTableComplete fails while an autograd node (recorded in attend/) or a
// function declared in attend/ops/*.h has no row of its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "attend/ops/attention.h"
#include "attend/ops/lstm.h"
#include "attend/ops/ops.h"
#include "support/command.h"
#include "support/gradcheck.h"

namespace attend {
namespace {

using testing::all_close;
using testing::gradcheck;

using In = std::vector<Tensor>;
// The inputs of one case, float64 (those to differentiate are leaves that require a gradient);
// int64 indices and undefined tensors pass to the float32 run unchanged.
using Build = std::function<In(Context&)>;
using Call = std::function<Tensor(const In&)>;

struct Case {
  Build inputs;
  Call call;
};

struct Tol {
  double eps = 1e-6, atol = 1e-6, rtol = 1e-4;  // gradient check
  double f32_atol = 1e-5, f32_rtol = 1e-4;      // float32 against float64
};

struct OpRow {
  std::string name;
  std::vector<Case> cases;
  Tol tol = {};
};

void PrintTo(const OpRow& row, std::ostream* os) {
  *os << row.name;
}

// ---- input builders --------------------------------------------------------------------------

Tensor leaf(const Shape& shape, Context& ctx, double lo = -1, double hi = 1) {
  return testing::random_leaf(shape, ctx, lo, hi);
}

// A float64 tensor that is not differentiated (masks, running statistics).
Tensor constant(const Shape& shape, Context& ctx, double lo = -1, double hi = 1) {
  return Tensor::uniform(shape, lo, hi, DType::F64, ctx);
}

Tensor i64(const std::vector<int64_t>& v, const Shape& shape, Context& ctx) {
  return Tensor::from_vector<int64_t>(v, shape, ctx);
}

Tensor f64(const std::vector<double>& v, const Shape& shape, Context& ctx) {
  return Tensor::from_doubles(v, shape, DType::F64, ctx);
}

// Leaves of the given shapes, values in [lo, hi).
Build leaves(std::vector<Shape> shapes, double lo = -1, double hi = 1) {
  return [shapes = std::move(shapes), lo, hi](Context& ctx) {
    In in;
    for (const Shape& s : shapes) in.push_back(leaf(s, ctx, lo, hi));
    return in;
  };
}

// One case per list of input shapes, all with the same call.
std::vector<Case> shapes(const std::vector<std::vector<Shape>>& sets, const Call& call,
                         double lo = -1, double hi = 1) {
  std::vector<Case> cases;
  for (const auto& s : sets) cases.push_back({leaves(s, lo, hi), call});
  return cases;
}

// A unary op on (3, 5) (within one vector) and (4, 37) (whole vectors and a tail).
std::vector<Case> unary(const std::function<Tensor(const Tensor&)>& f, double lo = -2,
                        double hi = 2) {
  return shapes(
      {{{3, 5}}, {{4, 37}}}, [f](const In& x) { return f(x[0]); }, lo, hi);
}

// ---- the table ---------------------------------------------------------------------------------

// Broadcasts of every layout the binary kernels tell apart, within one vector and past one (37, 33:
// whole vectors and a tail).
const std::vector<std::vector<Shape>> kBinaryShapes = {
    // same shape
    {{3, 4}, {3, 4}},
    {{4, 37}, {4, 37}},
    // a scalar (0-d) b, a scalar a
    {{2, 3}, {}},
    {{4, 37}, {}},
    {{}, {4, 37}},
    // inner: b a row vector, a the row vector
    {{2, 3, 4}, {4}},
    {{4, 5, 33}, {33}},
    {{4}, {2, 3, 4}},
    {{33}, {4, 5, 33}},
    // outer: b a column vector, a the column vector
    {{2, 3, 4}, {2, 3, 1}},
    {{4, 5, 33}, {4, 5, 1}},
    {{4, 5, 1}, {4, 5, 33}},
    // the general walk: rows of a scalar a and b, rows of the same shape
    {{3, 1}, {1, 4}},
    {{1, 5, 1}, {4, 1, 6}},
    {{4, 1, 33}, {4, 5, 33}},
    {{2, 3, 4, 5}, {3, 1, 5}}};
// a transposed (a strided innermost dim, copied first) and b.
const std::vector<std::vector<Shape>> kTransposedBinaryShapes = {{{37, 4}, {4, 37}},
                                                                 {{5, 3}, {3, 1}}};

std::vector<Case> binary(const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
  return shapes(
      kBinaryShapes, [f](const In& x) { return f(x[0], x[1]); }, 0.5, 1.5);
}
std::vector<Case> binary_transposed(const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
  return shapes(
      kTransposedBinaryShapes, [f](const In& x) { return f(transpose(x[0], 0, 1), x[1]); }, 0.5,
      1.5);
}

// Reductions over dims of (2, 3, 4), with and without keepdim, and of (3, 4, 37) (vector rows).
std::vector<Case> reduce_dims(
    const std::function<Tensor(const Tensor&, const std::vector<int>&, bool)>& f) {
  std::vector<Case> cases;
  for (const std::vector<int>& d :
       std::vector<std::vector<int>>{{}, {0}, {1}, {2}, {0, 2}, {-1, 0, 1}})
    for (bool keep : {false, true})
      cases.push_back({leaves({{2, 3, 4}}), [=](const In& x) { return f(x[0], d, keep); }});
  for (const std::vector<int>& d : std::vector<std::vector<int>>{{2}, {1}, {0, 2}})
    cases.push_back({leaves({{3, 4, 37}}), [=](const In& x) { return f(x[0], d, false); }});
  return cases;
}

// Reductions along one dim of (2, 3, 4).
std::vector<Case> along_dims(const std::function<Tensor(const Tensor&, int)>& f) {
  std::vector<Case> cases;
  for (int d : {0, 1, 2})
    cases.push_back({leaves({{2, 3, 4}}), [=](const In& x) { return f(x[0], d); }});
  return cases;
}

Case conv(const Conv1dOptions& o, const Shape& x, const Shape& w, bool bias = true) {
  Build in = bias ? leaves({x, w, {w[0]}}) : leaves({x, w});
  return {in, [o](const In& v) { return conv1d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o); }};
}

AttentionOptions attention_options(AttentionPath path, AttentionOptions::FusedKernel kernel =
                                                           AttentionOptions::FusedKernel::Auto) {
  AttentionOptions o;
  o.path = path;
  o.fused_kernel = kernel;
  return o;
}

// q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv), and x[3] as the mask when there is one.
Case attention(const AttentionOptions& o, int64_t b, int64_t h, int64_t lq, int64_t lk, int64_t d,
               int64_t dv, const Shape& mask_shape = {}, bool boolean_mask = true) {
  Build in = [=](Context& ctx) {
    In x{leaf({b, h, lq, d}, ctx), leaf({b, h, lk, d}, ctx), leaf({b, h, lk, dv}, ctx)};
    if (mask_shape.size() > 0) {
      // Boolean: about one key in five hidden, never key 0 (a row that sees no key is its own row).
      Tensor m = constant(mask_shape, ctx, boolean_mask ? -0.25 : -1, 1);
      if (boolean_mask) {
        std::vector<double> v = m.to_vector<double>();
        for (size_t i = 0; i < v.size(); ++i) v[i] = (v[i] > 0 || i % mask_shape.back() == 0);
        m = f64(v, mask_shape, ctx);
      }
      x.push_back(m);
    }
    return x;
  };
  return {in, [o, boolean_mask](const In& x) {
            AttentionOptions opt = o;
            if (x.size() > 3) {
              opt.mask = x[3];
              opt.mask_type = boolean_mask ? MaskType::Boolean : MaskType::Additive;
            }
            return scaled_dot_product_attention(x[0], x[1], x[2], opt).output;
          }};
}

Case prob_sparse(bool causal) {
  Build in = [](Context& ctx) {
    std::vector<int64_t> sample(9 * 3);
    for (size_t i = 0; i < sample.size(); ++i) sample[i] = static_cast<int64_t>((i * 5 + 1) % 9);
    return In{leaf({2, 2, 9, 3}, ctx), leaf({2, 2, 9, 3}, ctx), leaf({2, 2, 9, 3}, ctx),
              i64(sample, {9, 3}, ctx)};
  };
  return {in, [causal](const In& x) {
            ProbSparseOptions ps;
            ps.factor = 1;  // U = u = ⌈ln 9⌉ = 3
            ps.causal = causal;
            ps.index_sample = x[3];
            // Selection is piecewise constant: the check perturbs by 1e-6, far from a tie.
            return prob_sparse_attention(x[0], x[1], x[2], ps).output;
          }};
}

// lstm_layer's three outputs, flattened into one.
Case lstm(int64_t b, int64_t l, int64_t h, bool bias_and_state) {
  Build in = [=](Context& ctx) {
    In x{leaf({b, l, 4 * h}, ctx), leaf({4 * h, h}, ctx)};
    for (const Shape& s : {Shape{4 * h}, Shape{b, h}, Shape{b, h}})
      x.push_back(bias_and_state ? leaf(s, ctx) : Tensor());
    return x;
  };
  return {in, [](const In& x) {
            LSTMOutput o = lstm_layer(x[0], x[1], x[2], x[3], x[4]);
            return concat({reshape(o.output, {-1}), reshape(o.h_n, {-1}), reshape(o.c_n, {-1})}, 0);
          }};
}

// Leaves packed back to back (pack_adjacent): concat_params and stack_params then return views in
// the float64 run (the float32 run's copies are not packed: the copying path).
Build packed_leaves(std::vector<Shape> shapes) {
  return [shapes = std::move(shapes)](Context& ctx) {
    In in;
    for (const Shape& s : shapes) in.push_back(leaf(s, ctx));
    pack_adjacent(in);
    return in;
  };
}

// batch_norm of x (N, C) or (N, C, L); x[3], x[4] the running mean and variance (copied: training
// updates them).
Case batch_norm_case(const Shape& s, bool training) {
  Build in = [s](Context& ctx) {
    return In{leaf(s, ctx, -2, 2), leaf({s[1]}, ctx, 0.5, 1.5), leaf({s[1]}, ctx),
              constant({s[1]}, ctx, -0.5, 0.5), constant({s[1]}, ctx, 0.5, 1.5)};
  };
  return {in, [training](const In& x) {
            return batch_norm(x[0], x[3].copy_as(x[3].dtype()), x[4].copy_as(x[4].dtype()), x[1],
                              x[2], training);
          }};
}

std::vector<OpRow> make_table() {
  using FK = AttentionOptions::FusedKernel;
  const AttentionPath kFused = AttentionPath::Fused, kReference = AttentionPath::Reference;
  std::vector<OpRow> t = {
      // ---- elementwise: binary with broadcasting, scalar forms, unary, cast ----
      {"add", binary([](const Tensor& a, const Tensor& b) { return add(a, b); })},
      {"sub", binary([](const Tensor& a, const Tensor& b) { return sub(a, b); })},
      {"mul", binary([](const Tensor& a, const Tensor& b) { return mul(a, b); })},
      {"div", binary([](const Tensor& a, const Tensor& b) { return div(a, b); })},
      {"add_transposed",
       binary_transposed([](const Tensor& a, const Tensor& b) { return add(a, b); })},
      {"sub_transposed",
       binary_transposed([](const Tensor& a, const Tensor& b) { return sub(a, b); })},
      {"mul_transposed",
       binary_transposed([](const Tensor& a, const Tensor& b) { return mul(a, b); })},
      {"div_transposed",
       binary_transposed([](const Tensor& a, const Tensor& b) { return div(a, b); })},
      {"add_scalar", unary([](const Tensor& x) { return x + 2.5; })},
      {"mul_scalar", unary([](const Tensor& x) { return x * -1.5; })},
      {"rsub", unary([](const Tensor& x) { return 3.0 - x; })},
      {"rdiv", unary([](const Tensor& x) { return 3.0 / x; }, 0.3, 2)},
      {"neg", unary([](const Tensor& x) { return neg(x); })},
      {"exp", unary([](const Tensor& x) { return exp(x); })},
      {"log", unary([](const Tensor& x) { return log(x); }, 0.3, 2)},
      {"sqrt", unary([](const Tensor& x) { return sqrt(x); }, 0.3, 2)},
      // exponents with a vector form (0, 1, 2, 3, ½, −1) and one without (2.7)
      {"pow_0", unary([](const Tensor& x) { return pow(x, 0.0); })},
      {"pow_1", unary([](const Tensor& x) { return pow(x, 1.0); })},
      {"pow_2", unary([](const Tensor& x) { return pow(x, 2.0); })},
      {"pow_3", unary([](const Tensor& x) { return pow(x, 3.0); })},
      {"pow_half", unary([](const Tensor& x) { return pow(x, 0.5); }, 0.3, 2)},
      {"pow_inverse", unary([](const Tensor& x) { return pow(x, -1.0); }, 0.3, 2)},
      {"pow_2_7", unary([](const Tensor& x) { return pow(x, 2.7); }, 0.3, 2)},
      {"abs", unary([](const Tensor& x) { return abs(x); })},
      {"tanh", unary([](const Tensor& x) { return tanh(x); })},
      {"sigmoid", unary([](const Tensor& x) { return sigmoid(x); })},
      {"relu", unary([](const Tensor& x) { return relu(x); })},
      {"gelu", unary([](const Tensor& x) { return gelu(x); })},
      {"elu", unary([](const Tensor& x) { return elu(x, 0.7); })},
      // float64 -> float32 -> float64 (float32 -> float64 -> float32 in the float32 run): values
      // that float32 holds exactly and a step of 2⁻¹⁰, so the round trip is exact.
      {"cast",
       {{[](Context& ctx) {
           Tensor x = Tensor::uniform({4, 37}, -1, 1, DType::F32, ctx).copy_as(DType::F64);
           x.set_requires_grad(true);
           return In{x};
         },
         [](const In& x) {
           DType other = x[0].dtype() == DType::F64 ? DType::F32 : DType::F64;
           return cast(cast(x[0], other), x[0].dtype());
         }}},
       {.eps = 0x1p-10}},
      {"sum_to",
       {{leaves({{2, 3, 4}}), [](const In& x) { return sum_to(x[0], {3, 1}); }},
        {leaves({{2, 3, 4}}), [](const In& x) { return sum_to(x[0], {4}); }},
        {leaves({{3, 5, 37}}), [](const In& x) { return sum_to(x[0], {3, 1, 37}); }}}},

      // ---- reductions ----
      {"sum", reduce_dims([](const Tensor& x, const std::vector<int>& d, bool k) {
         return sum(x, d, k);
       })},
      {"mean", reduce_dims([](const Tensor& x, const std::vector<int>& d, bool k) {
         return mean(x, d, k);
       })},
      {"var", reduce_dims([](const Tensor& x, const std::vector<int>& d, bool k) {
         return var(x, d.empty() ? std::vector<int>{0, 1, 2} : d, true, k);
       })},
      {"var_biased", reduce_dims([](const Tensor& x, const std::vector<int>& d, bool k) {
         return var(x, d.empty() ? std::vector<int>{0, 1, 2} : d, false, k);
       })},
      {"max", along_dims([](const Tensor& x, int d) { return max(x, d); })},
      {"min", along_dims([](const Tensor& x, int d) { return min(x, d, true); })},
      {"cumsum", along_dims([](const Tensor& x, int d) { return cumsum(x, d); })},

      // ---- shape and layout ----
      {"reshape",
       {{leaves({{3, 4}}), [](const In& x) { return reshape(x[0], {2, 6}); }},
        // a transposed tensor cannot be flattened as a view: copied
        {leaves({{3, 4}}), [](const In& x) { return reshape(transpose(x[0], 0, 1), {12}); }}}},
      {"flatten", shapes({{{3, 4}}}, [](const In& x) { return flatten(unsqueeze(x[0], 1)); })},
      {"squeeze", shapes({{{3, 4}}}, [](const In& x) { return squeeze(unsqueeze(x[0], 2), 2); })},
      {"unsqueeze", shapes({{{3, 4}}}, [](const In& x) { return unsqueeze(x[0], -1); })},
      {"permute", shapes({{{2, 3, 4}}}, [](const In& x) { return permute(x[0], {2, 0, 1}); })},
      {"transpose", shapes({{{2, 3, 4}}}, [](const In& x) { return transpose(x[0], 0, 2); })},
      {"slice",
       {{leaves({{2, 3, 4}}), [](const In& x) { return slice(x[0], 2, 1, 4, 2); }},
        {leaves({{2, 3, 4}}),
         [](const In& x) { return slice(transpose(x[0], 1, 2), 1, -3, 100); }}}},
      {"select", shapes({{{2, 3, 4}}}, [](const In& x) { return select(x[0], 1, -1); })},
      {"expand", shapes({{{3, 1}}}, [](const In& x) { return expand(x[0], {2, 3, 4}); })},
      {"contiguous",
       shapes({{{2, 3, 4}}}, [](const In& x) { return contiguous(transpose(x[0], 0, 2)); })},
      {"repeat",
       {{leaves({{2, 3}}), [](const In& x) { return repeat(x[0], {2, 1, 3}); }},
        {leaves({{2, 3}}), [](const In& x) { return repeat(transpose(x[0], 0, 1), {2, 2}); }}}},
      {"concat", shapes({{{2, 3}, {2, 2}, {3, 2}}}, [](const In& x) {
         return concat({x[0], x[1], transpose(x[2], 0, 1)}, 1);
       })},
      {"stack", shapes({{{2, 3}, {2, 3}}}, [](const In& x) { return stack({x[0], x[1]}, 2); })},
      {"concat_params",
       {{packed_leaves({{2, 3}, {1, 3}, {3, 3}}), [](const In& x) { return concat_params(x); }},
        {leaves({{2, 3}, {1, 3}}), [](const In& x) { return concat_params(x); }}}},
      {"stack_params",
       {{packed_leaves({{2, 3}, {2, 3}}), [](const In& x) { return stack_params(x); }},
        {leaves({{2, 3}, {2, 3}}), [](const In& x) { return stack_params(x); }}}},
      {"split",
       {// pieces used out of order and one unused: its gradient is zero
        {leaves({{3, 7}}),
         [](const In& x) {
           auto p = split(x[0], 3, 1);
           return concat({p[2], p[0]}, 1);
         }},
        {leaves({{3, 7}}), [](const In& x) {
           auto p = split(transpose(x[0], 0, 1), std::vector<int64_t>{4, 3}, 0);
           return stack({p[1], slice(p[0], 0, 0, 3)}, 0);
         }}}},
      {"index_select",
       {{[](Context& ctx) { return In{leaf({4, 3}, ctx), i64({3, 0, 3, 1}, {4}, ctx)}; },
         [](const In& x) { return index_select(x[0], 0, x[1]); }},
        {[](Context& ctx) { return In{leaf({4, 3}, ctx), i64({3, 0, 3, 1}, {4}, ctx)}; },
         [](const In& x) { return index_select(transpose(x[0], 0, 1), 1, x[1]); }}}},
      {"gather",
       {{[](Context& ctx) { return In{leaf({4, 3}, ctx), i64({0, 2, 2, 1, 0, 0}, {2, 3}, ctx)}; },
         [](const In& x) { return gather(x[0], 1, x[1]); }},
        {[](Context& ctx) { return In{leaf({4, 3}, ctx), i64({3, 3, 0, 1, 2, 1}, {2, 3}, ctx)}; },
         [](const In& x) { return gather(x[0], 0, x[1]); }}}},
      {"sort",
       {{leaves({{3, 5}}), [](const In& x) { return sort(x[0], 1); }},
        {leaves({{4, 2, 3}}), [](const In& x) { return sort(x[0], 0); }}}},
      {"masked_fill",
       {{[](Context& ctx) { return In{leaf({4, 3}, ctx), f64({0, 1, 1}, {3}, ctx)}; },
         [](const In& x) { return masked_fill(x[0], x[1], 5.0); }}}},
      {"where",
       {{[](Context& ctx) {
           return In{leaf({4, 1}, ctx), leaf({3}, ctx),
                     i64({1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1}, {4, 3}, ctx)};
         },
         [](const In& x) { return where(x[2], x[0], x[1]); }}}},

      // ---- matrix products ----
      {"matmul",
       shapes({{{3, 4}, {4, 2}},
               {{2, 2, 3, 4}, {2, 2, 4, 5}},  // attention-style scores, Lq ≠ Lk
               {{2, 1, 3, 4}, {3, 4, 2}},     // broadcast batch dims on both sides
               {{3, 4}, {2, 4, 5}},
               {{2, 3, 4}, {4, 5}},  // batched times a shared matrix (folded db)
               {{4}, {4}},
               {{4}, {2, 4, 3}},
               {{2, 3, 4}, {4}}},
              [](const In& x) { return matmul(x[0], x[1]); })},
      {"matmul_views",
       {{leaves({{2, 5, 3}, {2, 7, 3}}),
         [](const In& x) { return matmul(x[0], transpose(x[1], 1, 2)); }},
        {leaves({{2, 5, 3}, {2, 7, 3}, {7, 2, 4}}),
         [](const In& x) {
           return matmul(matmul(x[0], transpose(x[1], 1, 2)), permute(x[2], {1, 0, 2}));
         }},
        {leaves({{4, 3}, {6, 4}}),
         [](const In& x) {
           return matmul(transpose(x[0], 0, 1), slice(transpose(x[1], 0, 1), 1, 0, 6, 2));
         }},
        // op(B) past attend's small GEMM (K·N > 96² + 1024): the backend; B is not
        // differentiated, which keeps the check short
        {[](Context& ctx) { return In{leaf({2, 110}, ctx), constant({110, 100}, ctx)}; },
         [](const In& x) { return matmul(x[0], x[1]); }}}},
      {"linear",
       {{leaves({{3, 4}, {5, 4}, {5}}), [](const In& x) { return linear(x[0], x[1], x[2]); }},
        {leaves({{2, 3, 4}, {2, 4}, {2}}), [](const In& x) { return linear(x[0], x[1], x[2]); }},
        {leaves({{4}, {3, 4}, {3}}), [](const In& x) { return linear(x[0], x[1], x[2]); }},
        {leaves({{2, 3, 4}, {5, 4}}), [](const In& x) { return linear(x[0], x[1]); }},
        // only some inputs need a gradient
        {[](Context& ctx) { return In{constant({3, 4}, ctx), leaf({5, 4}, ctx), leaf({5}, ctx)}; },
         [](const In& x) { return linear(x[0], x[1], x[2]); }},
        // the backend's GEMM (weight not differentiated)
        {[](Context& ctx) {
           return In{leaf({2, 110}, ctx), constant({100, 110}, ctx), leaf({100}, ctx)};
         },
         [](const In& x) { return linear(x[0], x[1], x[2]); }}}},
      {"linear_views",
       {{leaves({{4, 3}, {4, 5}, {5}}),
         [](const In& x) { return linear(transpose(x[0], 0, 1), transpose(x[1], 0, 1), x[2]); }},
        {leaves({{3, 2, 4}, {5, 4}, {5}}),
         [](const In& x) { return linear(permute(x[0], {1, 0, 2}), x[1], x[2]); }}}},

      // ---- losses ----
      {"mse_loss",
       shapes({{{3, 4}, {3, 4}}}, [](const In& x) { return mse_loss(x[0], x[1]); }, -2, 2)},
      {"mae_loss",
       shapes({{{3, 4}, {3, 4}}}, [](const In& x) { return mae_loss(x[0], x[1]); }, -2, 2)},
      {"huber_loss",
       shapes({{{3, 4}, {3, 4}}}, [](const In& x) { return huber_loss(x[0], x[1], 0.7); }, -2,
              2)},
      {"pinball_loss",
       {{[](Context& ctx) { return In{leaf({2, 3, 4}, ctx), constant({2, 3}, ctx)}; },
         [](const In& x) { return pinball_loss(x[0], x[1], {0.1, 0.4, 0.6, 0.9}); }}}},

      // ---- neural-network functions ----
      {"softmax",
       {{leaves({{2, 3, 4}}, -2, 2), [](const In& x) { return softmax(x[0], 0); }},
        {leaves({{2, 3, 4}}, -2, 2), [](const In& x) { return softmax(x[0], 1); }},
        {leaves({{2, 3, 4}}, -2, 2), [](const In& x) { return softmax(x[0], 2); }},
        {leaves({{3, 5, 37}}, -5, 5), [](const In& x) { return softmax(x[0], 1); }},
        {leaves({{3, 5, 37}}, -5, 5), [](const In& x) { return softmax(x[0], -1); }}}},
      {"log_softmax",
       {{leaves({{2, 3, 4}}, -2, 2), [](const In& x) { return log_softmax(x[0], 0); }},
        {leaves({{2, 3, 4}}, -2, 2), [](const In& x) { return log_softmax(x[0], 1); }},
        {leaves({{2, 3, 4}}, -2, 2), [](const In& x) { return log_softmax(x[0], 2); }},
        {leaves({{3, 5, 37}}, -5, 5), [](const In& x) { return log_softmax(x[0], 1); }},
        {leaves({{3, 5, 37}}, -5, 5), [](const In& x) { return log_softmax(x[0], -1); }}}},
      {"layer_norm",
       {{[](Context& ctx) {
           return In{leaf({2, 3, 5}, ctx, -2, 2), leaf({5}, ctx, 0.5, 1.5), leaf({5}, ctx)};
         },
         [](const In& x) { return layer_norm(x[0], x[1], x[2]); }},
        {[](Context& ctx) {
           return In{leaf({6, 37}, ctx, -3, 3), leaf({37}, ctx, 0.5, 1.5), leaf({37}, ctx)};
         },
         [](const In& x) { return layer_norm(x[0], x[1], x[2]); }}}},
      {"layer_norm_no_affine",
       shapes({{{2, 3, 5}}, {{6, 37}}},
              [](const In& x) { return layer_norm(x[0], Tensor(), Tensor()); }, -2, 2)},
      {"batch_norm_training",
       {batch_norm_case({4, 3}, true), batch_norm_case({3, 2, 4}, true)}},
      {"batch_norm_eval", {batch_norm_case({4, 3}, false), batch_norm_case({3, 2, 4}, false)}},
      // the same mask on every call: the generator is reseeded
      {"dropout", shapes({{{4, 37}}}, [](const In& x) {
         x[0].context().generator().manual_seed(11);
         return dropout(x[0], 0.3, true);
       })},
      {"glu", shapes({{{2, 3, 10}}, {{3, 4, 74}}}, [](const In& x) { return glu(x[0]); }, -2, 2)},
      {"glu_residual", shapes({{{2, 3, 10}, {2, 3, 5}}, {{3, 4, 74}, {3, 4, 37}}},
                              [](const In& x) { return glu(x[0], x[1]); }, -2, 2)},

      // ---- convolution, pooling, embedding ----
      // Conv1dOptions{stride, padding, dilation, groups, padding_mode, padding_right,
      //               channels_last, relu}
      {"conv1d",
       {conv({}, {2, 3, 7}, {4, 3, 3}),
        // stride, padding and dilation 2; groups 2
        conv({2, 2, 2, 1, PaddingMode::Zeros}, {2, 2, 9}, {3, 2, 3}),
        conv({1, 1, 1, 2, PaddingMode::Zeros}, {2, 4, 6}, {6, 2, 3}),
        // causal (TCN): two zeros before the input, none after; dilation 2
        conv({1, 2, 2, 1, PaddingMode::Zeros, 0}, {2, 3, 7}, {4, 3, 2})}},
      // kernel 1: one sample is its own im2col matrix
      {"conv1d_pointwise",
       {conv({}, {1, 8, 33}, {8, 8, 1}), conv({}, {2, 8, 33}, {6, 8, 1}, false),
        conv({.groups = 4}, {2, 8, 33}, {8, 2, 1})}},
      {"conv1d_circular",
       {conv({1, 1, 1, 1, PaddingMode::Circular}, {2, 3, 5}, {4, 3, 3}),
        conv({2, 2, 1, 1, PaddingMode::Circular}, {1, 2, 4}, {2, 2, 3}),
        // TSLib's TokenEmbedding: x (B, L, C) permuted to (B, C, L), circular, no bias
        {leaves({{2, 6, 3}, {5, 3, 3}}), [](const In& x) {
           return conv1d(permute(x[0], {0, 2, 1}), x[1], Tensor(),
                         {1, 1, 1, 1, PaddingMode::Circular});
         }}}},
      {"conv1d_channels_last",
       {conv({1, 2, 2, 1, PaddingMode::Zeros, 0, true}, {2, 7, 3}, {4, 3, 2}),
        conv({2, 1, 1, 2, PaddingMode::Zeros, -1, true}, {2, 6, 4}, {6, 2, 3}),
        conv({1, 1, 1, 1, PaddingMode::Circular, -1, true}, {2, 5, 3}, {4, 3, 3}),
        conv({.channels_last = true}, {2, 33, 8}, {8, 8, 1})}},
      // fused ReLU (TCN): channels-first (a batch and one sample) and channels-last, causal
      {"conv1d_relu",
       {conv({1, 2, 2, 1, PaddingMode::Zeros, 0, false, true}, {2, 3, 7}, {4, 3, 2}),
        conv({1, 2, 2, 1, PaddingMode::Zeros, 0, false, true}, {1, 3, 7}, {4, 3, 2}),
        conv({1, 2, 2, 1, PaddingMode::Zeros, 0, true, true}, {2, 7, 3}, {4, 3, 2})}},
      {"max_pool1d",
       {{leaves({{2, 3, 9}}), [](const In& x) { return max_pool1d(x[0], 3, 2, 1); }},
        {leaves({{2, 8, 3}}), [](const In& x) { return max_pool1d(transpose(x[0], 1, 2), 2); }}}},
      {"avg_pool1d",
       {{leaves({{2, 3, 9}}), [](const In& x) { return avg_pool1d(x[0], 3, 2, 1); }},
        // DLinear's moving average: kernel 5, stride 1 on a (B, C, L) view of (B, L, C)
        {leaves({{2, 8, 3}}),
         [](const In& x) { return avg_pool1d(permute(x[0], {0, 2, 1}), 5, 1); }}}},
      {"embedding",
       {{[](Context& ctx) { return In{i64({2, 0, 2, 1}, {2, 2}, ctx), leaf({3, 2}, ctx)}; },
         [](const In& x) { return embedding(x[0], x[1]); }},
        {[](Context& ctx) { return In{i64({3, 3, 0, 1, 2}, {5}, ctx), leaf({4, 37}, ctx)}; },
         [](const In& x) { return embedding(x[0], x[1]); }}}},

      // ---- attention: (B, H, Lq, Lk, D, Dv) ----
      {"scaled_dot_product_attention",
       {attention(attention_options(kFused), 2, 2, 5, 7, 3, 4),
        attention(attention_options(AttentionPath::Auto), 1, 1, 30, 40, 16, 16)}},
      // a padding mask (B, 1, 1, Lk) hiding the last key, plus causal, on both paths
      {"scaled_dot_product_attention_masked",
       [&] {
         std::vector<Case> cases;
         for (AttentionPath path : {kFused, kReference}) {
           Build in = [](Context& ctx) {
             return In{leaf({1, 2, 6, 4}, ctx), leaf({1, 2, 6, 4}, ctx), leaf({1, 2, 6, 4}, ctx),
                       f64({1, 1, 1, 1, 1, 0}, {1, 1, 1, 6}, ctx)};
           };
           cases.push_back({in, [path](const In& x) {
                              AttentionOptions o = attention_options(path);
                              o.causal = true;
                              o.mask = x[3];
                              return scaled_dot_product_attention(x[0], x[1], x[2], o).output;
                            }});
         }
         return cases;
       }()},
      // matmul, softmax and masked_fill ops (the path that returns the weights)
      {"scaled_dot_product_attention_reference",
       {attention(attention_options(kReference), 2, 2, 5, 7, 3, 4),
        attention(attention_options(kReference), 2, 1, 5, 7, 3, 4, {2, 1, 5, 7}),
        attention(attention_options(kReference), 2, 1, 5, 7, 3, 4, {2, 1, 5, 7}, false)}},
      // the row-wise kernel (short keys, narrow heads)
      {"scaled_dot_product_attention_rows",
       {attention(attention_options(kFused, FK::Rows), 2, 2, 5, 7, 8, 8),
        attention(attention_options(kFused, FK::Rows), 1, 2, 9, 20, 3, 17, {9, 20}),
        attention(attention_options(kFused, FK::Rows), 2, 1, 6, 6, 4, 4, {2, 1, 6, 6}, false)}},
      // the GEMM tiles: two causal query tiles (64 rows), two key blocks (512 keys)
      {"scaled_dot_product_attention_tiles",
       {attention(attention_options(kFused, FK::Tiles), 2, 2, 5, 7, 8, 8),
        attention(attention_options(kFused, FK::Tiles), 1, 1, 3, 520, 2, 2, {1, 1, 1, 520}),
        attention(attention_options(kFused, FK::Tiles), 2, 1, 6, 9, 4, 5, {2, 1, 6, 9}, false),
        [&] {
          AttentionOptions o = attention_options(kFused, FK::Tiles);
          o.causal = true;
          return attention(o, 1, 1, 70, 70, 4, 3);
        }()}},
      // queries that are the last Lq of Lk positions (a decoder computing its last rows)
      {"scaled_dot_product_attention_causal_offset",
       [&] {
         std::vector<Case> cases;
         for (AttentionOptions o : {attention_options(kFused, FK::Rows),
                                    attention_options(kFused, FK::Tiles),
                                    attention_options(kReference)}) {
           o.causal = true;
           o.causal_offset = 5;
           cases.push_back(attention(o, 2, 2, 4, 9, 8, 8));
         }
         return cases;
       }()},
      // a query that sees no key: zeros forward and backward
      {"scaled_dot_product_attention_fully_masked_row",
       [&] {
         std::vector<Case> cases;
         for (AttentionOptions o : {attention_options(kFused, FK::Rows),
                                    attention_options(kFused, FK::Tiles),
                                    attention_options(kReference)}) {
           Build in = [](Context& ctx) {
             std::vector<double> m(4 * 5, 1.0);
             for (int j = 0; j < 5; ++j) m[2 * 5 + j] = 0.0;
             return In{leaf({2, 1, 4, 8}, ctx), leaf({2, 1, 5, 8}, ctx), leaf({2, 1, 5, 8}, ctx),
                       f64(m, {4, 5}, ctx)};
           };
           cases.push_back({in, [o](const In& x) {
                              AttentionOptions opt = o;
                              opt.mask = x[3];
                              return scaled_dot_product_attention(x[0], x[1], x[2], opt).output;
                            }});
         }
         return cases;
       }()},
      // the same dropout stream on every call (the generator is reseeded) and on both paths
      {"scaled_dot_product_attention_dropout",
       [&] {
         std::vector<Case> cases;
         for (AttentionOptions o : {attention_options(kFused, FK::Rows),
                                    attention_options(kFused, FK::Tiles),
                                    attention_options(kReference)}) {
           o.dropout_p = 0.3;
           Case c = attention(o, 2, 2, 5, 7, 8, 8);
           cases.push_back({c.inputs, [call = c.call](const In& x) {
                              x[0].context().generator().manual_seed(5);
                              return call(x);
                            }});
         }
         return cases;
       }()},
      {"prob_sparse_attention", {prob_sparse(false)}},
      {"prob_sparse_attention_causal", {prob_sparse(true)}},

      // ---- recurrent ----
      {"lstm_layer", {lstm(2, 3, 17, true), lstm(2, 4, 3, false)}},
  };
  return t;
}

const std::vector<OpRow>& op_table() {
  static const std::vector<OpRow> table = make_table();
  return table;
}

// ---- the harness -------------------------------------------------------------------------------

std::string shapes_of(const In& in) {
  std::string s;
  for (const Tensor& t : in) s += (s.empty() ? "" : " ") + (t.defined() ? t.shape().str() : "-");
  return s;
}

Tensor as_float32(const Tensor& t) {
  if (!t.defined() || t.dtype() != DType::F64) return t;
  Tensor c = t.detach().copy_as(DType::F32);
  if (t.requires_grad()) c.set_requires_grad(true);
  return c;
}

class OpTable : public ::testing::TestWithParam<OpRow> {};

TEST_P(OpTable, GradcheckAndFloat32MatchesFloat64) {
  const OpRow& row = GetParam();
  const Tol& tol = row.tol;
  Context ctx({.threads = 1, .seed = 1});
  for (size_t c = 0; c < row.cases.size(); ++c) {
    const Case& cs = row.cases[c];
    // (a) gradient check, float64
    In x = cs.inputs(ctx);
    SCOPED_TRACE(::testing::Message() << row.name << " case " << c << ": " << shapes_of(x));
    EXPECT_TRUE(gradcheck(cs.call, x, tol.eps, tol.atol, tol.rtol)) << "gradient check";

    // (b) float32 (fast kernels) against float64 (reference kernels), forward and backward
    In x64 = cs.inputs(ctx), x32;
    for (const Tensor& t : x64) x32.push_back(as_float32(t));
    Tensor y64 = cs.call(x64), y32 = cs.call(x32);
    ASSERT_EQ(y32.dtype(), DType::F32);
    EXPECT_TRUE(all_close(y32, y64, tol.f32_atol, tol.f32_rtol)) << "float32 output";
    Tensor g = Tensor::normal(y64.shape(), 0, 1, DType::F64, ctx);
    y64.backward(g);
    y32.backward(g.copy_as(DType::F32));
    for (size_t i = 0; i < x64.size(); ++i) {
      if (!x64[i].defined() || !x64[i].requires_grad()) continue;
      Tensor g64 = x64[i].grad(), g32 = x32[i].grad();
      if (!g64.defined()) g64 = Tensor::zeros(x64[i].shape(), DType::F64, ctx);
      if (!g32.defined()) g32 = Tensor::zeros(x32[i].shape(), DType::F32, ctx);
      EXPECT_TRUE(all_close(g32, g64, tol.f32_atol, tol.f32_rtol))
          << "float32 gradient of input " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTable, ::testing::ValuesIn(op_table()),
                         [](const ::testing::TestParamInfo<OpRow>& info) {
                           return info.param.name;
                         });

// ---- completeness ------------------------------------------------------------------------------

using testing::read_text;

// Node names given as literals to record(...) / record_multi(...) anywhere in attend/ (names built
// at run time, such as the unary ops', are reached through the functions check below).
std::set<std::string> recorded_names_in_sources() {
  const std::regex call(R"re(\brecord(?:_multi)?\(\s*"(\w+)")re");
  std::set<std::string> names;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(std::string(ATTEND_SOURCE_DIR) + "/attend")) {
    const std::string ext = e.path().extension().string();
    if (ext != ".cpp" && ext != ".h") continue;
    const std::string text = read_text(e.path());
    for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it)
      names.insert((*it)[1]);
  }
  return names;
}

// Free functions declared at the start of a line in attend/ops/*.h: Tensor f(, std::vector<Tensor>
// f(, or a result struct (AttentionResult f(...).
std::set<std::string> declared_ops() {
  const std::regex decl(R"re(^(?:[A-Z]\w*|std::vector<Tensor>)\s+(\w+)\()re");
  std::set<std::string> names;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(ATTEND_SOURCE_DIR) + "/attend/ops")) {
    if (e.path().extension() != ".h") continue;
    std::istringstream text(read_text(e.path()));
    std::smatch m;
    for (std::string line; std::getline(text, line);)
      if (std::regex_search(line, m, decl)) names.insert(m[1]);
  }
  return names;
}

// Not differentiable: no row.
const std::set<std::string> kNotDifferentiable = {"argmax", "argsort"};

// Names of the nodes in the graph behind y (leaf accumulators left out).
void collect_node_names(const Tensor& y, std::set<std::string>& names) {
  std::vector<const Node*> stack;
  std::set<const Node*> seen;
  if (y.grad_fn()) stack.push_back(y.grad_fn().get());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    if (std::string(n->name()) != "AccumulateGrad") names.insert(n->name());
    for (const Edge& e : n->next_edges)
      if (e.fn) stack.push_back(e.fn.get());
  }
}

// Every autograd node (recorded with a literal name anywhere in attend/, or reached by any row) has
// a row of its own: one named after the node ("softmax", "softmax_..."), whose graphs contain it.
// Nodes that a row reaches only inside another op's graph (mul_scalar in the attention reference
// path) do not count for that node.
TEST(OpTableComplete, EveryNodeHasItsOwnRow) {
  Context ctx({.threads = 1, .seed = 1});
  std::map<std::string, std::set<std::string>> reached;  // row name -> node names in its graphs
  std::set<std::string> names = recorded_names_in_sources();
  ASSERT_TRUE(names.count("matmul")) << "no record(\"...\") found under " ATTEND_SOURCE_DIR;
  for (const OpRow& row : op_table())
    for (const Case& c : row.cases) collect_node_names(c.call(c.inputs(ctx)), reached[row.name]);
  for (const auto& [row, nodes] : reached) names.insert(nodes.begin(), nodes.end());
  for (const std::string& name : names) {
    bool own_row = false;
    for (const auto& [row, nodes] : reached)
      own_row |= (row == name || row.rfind(name + "_", 0) == 0) && nodes.count(name);
    EXPECT_TRUE(own_row) << "no row of tests/ops/op_table_test.cpp named '" << name << "' or '"
                         << name << "_...' reaches the autograd node '" << name << "': add one";
  }
}

TEST(OpTableComplete, EveryDeclaredOpHasARow) {
  const std::set<std::string> declared = declared_ops();
  ASSERT_TRUE(declared.count("matmul")) << "no op declarations found under " ATTEND_SOURCE_DIR;
  // A row covers the longest declared name it starts with ("sum_to_x" covers sum_to, not sum).
  std::set<std::string> covered;
  for (const OpRow& row : op_table()) {
    std::string best;
    for (const std::string& op : declared)
      if ((row.name == op || row.name.rfind(op + "_", 0) == 0) && op.size() > best.size())
        best = op;
    covered.insert(best);
  }
  for (const std::string& op : declared) {
    if (kNotDifferentiable.count(op)) continue;
    EXPECT_TRUE(covered.count(op))
        << "attend/ops declares '" << op
        << "' but tests/ops/op_table_test.cpp has no row for it: add a row";
  }
}

}  // namespace
}  // namespace attend
