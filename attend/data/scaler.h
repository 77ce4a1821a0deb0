#pragma once
// StandardScaler as scikit-learn's: fitted on the training rows, population variance, a
// constant column gets scale 1. Saved as JSON {"columns": [...], "mean": [...], "scale": [...]}.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend::data {

class StandardScaler {
 public:
  StandardScaler() = default;
  // A scaler with known statistics (e.g. loaded from a checkpoint); sizes must agree, scale > 0.
  StandardScaler(std::vector<std::string> columns, std::vector<double> mean,
                 std::vector<double> scale);

  // Fits on `data` (rows, columns.size()) row-major with `row_stride` doubles between rows:
  // mean = sum / n, var = sum((x - mean)^2) / n (sklearn's correction included), scale = sqrt(var)
  // or 1 where sklearn treats the column as constant.
  void fit(const double* data, int64_t rows, int64_t row_stride, std::vector<std::string> columns);

  bool fitted() const { return !mean_.empty() || !columns_.empty(); }
  int64_t size() const { return static_cast<int64_t>(mean_.size()); }
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }
  // Population variance seen by fit (empty for a scaler made from mean/scale).
  const std::vector<double>& var() const { return var_; }

  // (x - mean[c]) / scale[c] of one value of column c, in float64.
  double transform_value(double x, int64_t c) const { return (x - mean_[c]) / scale_[c]; }
  // x * scale[c] + mean[c] of one value of column c, in float64.
  double inverse_value(double x, int64_t c) const { return x * scale_[c] + mean_[c]; }

  // Scales `rows` rows of `in` (row_stride doubles apart, size() columns) into `out`
  // (rows, size()) float32, each value computed in float64 and rounded once.
  void transform(const double* in, int64_t rows, int64_t row_stride, float* out) const;
  // In place on a (rows, size()) float array: x * scale + mean.
  void inverse_transform(float* data, int64_t rows) const;
  // Tensor (..., size()) float32/float64 -> new contiguous tensor of the same dtype, scaled.
  Tensor transform(const Tensor& x) const;
  // Tensor (..., size()) float32/float64 -> new contiguous tensor of the same dtype, unscaled.
  Tensor inverse_transform(const Tensor& x) const;

  // {"columns": [...], "mean": [...], "scale": [...]}
  nlohmann::json to_json() const;
  // Parses and validates the JSON written by to_json; `source` names it in messages.
  static StandardScaler from_json(const nlohmann::json& j, const std::string& source = "scaler");

 private:
  Tensor apply(const Tensor& x, bool inverse) const;

  std::vector<std::string> columns_;
  std::vector<double> mean_;
  std::vector<double> scale_;
  std::vector<double> var_;
};

}  // namespace attend::data
