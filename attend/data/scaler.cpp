#include "attend/data/scaler.h"

#include <cfloat>
#include <cmath>

#include "attend/base/error.h"

namespace attend::data {
namespace {

// Neumaier-compensated running sum (close to numpy's pairwise sums for any layout).
struct CompensatedSum {
  double sum = 0, c = 0;
  void add(double x) {
    const double t = sum + x;
    if (std::fabs(sum) >= std::fabs(x))
      c += (sum - t) + x;
    else
      c += (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + c; }
};

}  // namespace

StandardScaler::StandardScaler(std::vector<std::string> columns, std::vector<double> mean,
                               std::vector<double> scale)
    : columns_(std::move(columns)), mean_(std::move(mean)), scale_(std::move(scale)) {
  ATTEND_CHECK(columns_.size() == mean_.size() && mean_.size() == scale_.size(),
               "[scaler] {} columns, {} means and {} scales do not agree", columns_.size(),
               mean_.size(), scale_.size());
  for (size_t c = 0; c < mean_.size(); ++c) {
    ATTEND_CHECK(std::isfinite(mean_[c]), "[scaler] column '{}': mean {} is not finite",
                 columns_[c], mean_[c]);
    ATTEND_CHECK(std::isfinite(scale_[c]) && scale_[c] > 0,
                 "[scaler] column '{}': scale {} is not a positive finite number", columns_[c],
                 scale_[c]);
  }
}

void StandardScaler::fit(const double* data, int64_t rows, int64_t row_stride,
                         std::vector<std::string> columns) {
  const int64_t cols = static_cast<int64_t>(columns.size());
  ATTEND_CHECK(rows > 0, "[scaler] cannot fit on 0 rows");
  columns_ = std::move(columns);
  mean_.assign(cols, 0.0);
  var_.assign(cols, 0.0);
  scale_.assign(cols, 1.0);
  const double n = static_cast<double>(rows);
  for (int64_t c = 0; c < cols; ++c) {
    CompensatedSum s;
    for (int64_t r = 0; r < rows; ++r) s.add(data[r * row_stride + c]);
    const double mean = s.value() / n;
    // sklearn's _incremental_mean_and_var: sum(d^2) - sum(d)^2 / n, d = x - mean.
    CompensatedSum corr, sq;
    for (int64_t r = 0; r < rows; ++r) {
      const double d = data[r * row_stride + c] - mean;
      corr.add(d);
      sq.add(d * d);
    }
    const double correction = corr.value();
    const double var = (sq.value() - correction * correction / n) / n;
    mean_[c] = mean;
    var_[c] = var;
    // sklearn's _is_constant_feature: var <= n eps var + (n mean eps)^2 -> scale 1.
    const double eps = DBL_EPSILON;
    const double bound = n * eps * var + (n * mean * eps) * (n * mean * eps);
    scale_[c] = var <= bound ? 1.0 : std::sqrt(var);
  }
}

void StandardScaler::transform(const double* in, int64_t rows, int64_t row_stride,
                               float* out) const {
  const int64_t cols = size();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[r * cols + c] = static_cast<float>((in[r * row_stride + c] - mean_[c]) / scale_[c]);
}

void StandardScaler::inverse_transform(float* data, int64_t rows) const {
  const int64_t cols = size();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float& v = data[r * cols + c];
      v = static_cast<float>(static_cast<double>(v) * scale_[c] + mean_[c]);
    }
}

Tensor StandardScaler::apply(const Tensor& x, bool inverse) const {
  const char* op = inverse ? "scaler.inverse_transform" : "scaler.transform";
  ATTEND_CHECK(x.defined() && x.ndim() >= 1, "[{}] expects a tensor with a last dim of {}", op,
               size());
  ATTEND_CHECK(x.size(-1) == size(), "[{}] last dim {} does not match the scaler's {} columns", op,
               x.size(-1), size());
  Tensor src = x.contiguous_data();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.context());
  const int64_t cols = size();
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* in = src.data<T>();
    T* o = out.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = i % cols;
      const double v = static_cast<double>(in[i]);
      o[i] = static_cast<T>(inverse ? v * scale_[c] + mean_[c] : (v - mean_[c]) / scale_[c]);
    }
  });
  return out;
}

Tensor StandardScaler::transform(const Tensor& x) const {
  return apply(x, false);
}

Tensor StandardScaler::inverse_transform(const Tensor& x) const {
  return apply(x, true);
}

nlohmann::json StandardScaler::to_json() const {
  return nlohmann::json{{"columns", columns_}, {"mean", mean_}, {"scale", scale_}};
}

StandardScaler StandardScaler::from_json(const nlohmann::json& j, const std::string& source) {
  ATTEND_CHECK(j.is_object(), "{}: scaler JSON must be an object with columns, mean, scale",
               source);
  for (const char* key : {"columns", "mean", "scale"})
    ATTEND_CHECK(j.contains(key) && j.at(key).is_array(), "{}: scaler JSON needs an array '{}'",
                 source, key);
  std::vector<std::string> columns;
  std::vector<double> mean, scale;
  for (const auto& v : j.at("columns")) {
    ATTEND_CHECK(v.is_string(), "{}: scaler 'columns' must hold strings", source);
    columns.push_back(v.get<std::string>());
  }
  for (const auto& v : j.at("mean")) {
    ATTEND_CHECK(v.is_number(), "{}: scaler 'mean' must hold numbers", source);
    mean.push_back(v.get<double>());
  }
  for (const auto& v : j.at("scale")) {
    ATTEND_CHECK(v.is_number(), "{}: scaler 'scale' must hold numbers", source);
    scale.push_back(v.get<double>());
  }
  try {
    return StandardScaler(std::move(columns), std::move(mean), std::move(scale));
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }
}

}  // namespace attend::data
