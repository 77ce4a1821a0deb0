// Head statistics and attention rollout.
#include "attend/explain/stats.h"

#include <cmath>
#include <limits>

#include "attend/base/error.h"

namespace attend::explain {

Matrix matmul(const Matrix& a, const Matrix& b) {
  ATTEND_CHECK(a.cols == b.rows, "[explain] matrices ({}, {}) and ({}, {}) do not align", a.rows,
               a.cols, b.rows, b.cols);
  Matrix c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t k = 0; k < a.cols; ++k) {
      const double x = a.at(i, k);
      if (x == 0.0) continue;
      for (int64_t j = 0; j < b.cols; ++j) c.at(i, j) += x * b.at(k, j);
    }
  return c;
}

double max_row_sum_error(const Tensor& weights) {
  ATTEND_CHECK(weights.ndim() >= 1, "[explain] weights must have a key dimension");
  const std::vector<float> w = weights.contiguous_data().to_vector<float>();
  const int64_t Lk = weights.size(-1);
  double worst = 0;
  for (size_t r = 0; Lk > 0 && r < w.size() / Lk; ++r) {
    double s = 0;
    for (int64_t j = 0; j < Lk; ++j) s += w[r * Lk + j];
    worst = std::max(worst, std::abs(s - 1.0));
  }
  return worst;
}

Matrix head_average(const Tensor& weights, int64_t batch_row) {
  ATTEND_CHECK(weights.ndim() == 4, "[explain] attention weights must be (B, H, Lq, Lk), got {}",
               weights.shape().str());
  const int64_t B = weights.size(0), H = weights.size(1), Lq = weights.size(2),
                Lk = weights.size(3);
  ATTEND_CHECK(batch_row >= 0 && batch_row < B, "[explain] batch row {} out of range for {}",
               batch_row, weights.shape().str());
  const Tensor c = weights.contiguous_data();
  Matrix m(Lq, Lk);
  const float* p = c.data<float>() + batch_row * H * Lq * Lk;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < Lq * Lk; ++i) m.v[i] += p[h * Lq * Lk + i] / static_cast<double>(H);
  return m;
}

HeadStatsAccumulator::HeadStatsAccumulator(int64_t heads, std::vector<double> q_pos,
                                           std::vector<double> k_pos)
    : heads_(heads),
      q_pos_(std::move(q_pos)),
      k_pos_(std::move(k_pos)),
      dist_sum_(heads, 0.0),
      ent_sum_(heads, 0.0) {
  ATTEND_CHECK(q_pos_.empty() == k_pos_.empty(),
               "[explain] give both query and key positions or neither");
}

void HeadStatsAccumulator::add(const Tensor& weights) {
  ATTEND_CHECK(weights.ndim() == 4 && weights.size(1) == heads_,
               "[explain] head statistics expect (B, {}, Lq, Lk) weights, got {}", heads_,
               weights.shape().str());
  const int64_t B = weights.size(0), H = heads_, Lq = weights.size(2), Lk = weights.size(3);
  if (has_distance())
    ATTEND_CHECK(
        static_cast<int64_t>(q_pos_.size()) == Lq && static_cast<int64_t>(k_pos_.size()) == Lk,
        "[explain] weights {} do not match {} query and {} key positions", weights.shape().str(),
        q_pos_.size(), k_pos_.size());
  const Tensor c = weights.contiguous_data();
  const float* w = c.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i) {
        const float* row = w + ((b * H + h) * Lq + i) * Lk;
        double d = 0, e = 0;
        for (int64_t j = 0; j < Lk; ++j) {
          const double p = row[j];
          if (p <= 0) continue;
          e -= p * std::log(p);
          if (has_distance()) d += p * std::abs(q_pos_[i] - k_pos_[j]);
        }
        dist_sum_[h] += d;
        ent_sum_[h] += e;
      }
  rows_ += B * Lq;
}

double HeadStatsAccumulator::distance(int64_t h) const {
  if (!has_distance() || rows_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return dist_sum_.at(h) / static_cast<double>(rows_);
}

double HeadStatsAccumulator::entropy(int64_t h) const {
  if (rows_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return ent_sum_.at(h) / static_cast<double>(rows_);
}

Matrix coverage_map(int64_t n_out, int64_t n_in) {
  ATTEND_CHECK(n_out > 0 && n_in > 0, "[explain] coverage map needs positive sizes");
  Matrix m(n_out, n_in);
  const double share = static_cast<double>(n_in) / static_cast<double>(n_out);
  for (int64_t r = 0; r < n_out; ++r) {
    const double lo = r * share, hi = (r + 1) * share;
    double total = 0;
    for (int64_t j = 0; j < n_in; ++j) {
      const double overlap = std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j));
      if (overlap > 0) m.at(r, j) = overlap, total += overlap;
    }
    for (int64_t j = 0; j < n_in; ++j) m.at(r, j) /= total;
  }
  return m;
}

Matrix attention_rollout(const std::vector<Matrix>& layers) {
  ATTEND_CHECK(!layers.empty(), "[explain] rollout needs at least one attention layer");
  Matrix r;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Matrix& a = layers[l];
    ATTEND_CHECK(a.rows == a.cols, "[explain] rollout needs self-attention, layer {} is ({}, {})",
                 l, a.rows, a.cols);
    Matrix ah = a;
    for (int64_t i = 0; i < a.rows; ++i) {
      ah.at(i, i) += 1.0;
      double s = 0;
      for (int64_t j = 0; j < a.cols; ++j) s += ah.at(i, j);
      for (int64_t j = 0; j < a.cols; ++j) ah.at(i, j) /= s;
    }
    if (l == 0) {
      r = ah;
    } else {
      if (r.rows != ah.cols) r = matmul(coverage_map(ah.cols, r.rows), r);
      r = matmul(ah, r);
    }
  }
  return r;
}

std::vector<double> row_mean(const Matrix& m) {
  std::vector<double> out(m.cols, 0.0);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) out[j] += m.at(i, j) / static_cast<double>(m.rows);
  return out;
}

}  // namespace attend::explain
