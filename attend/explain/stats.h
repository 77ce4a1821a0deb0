#pragma once
// Numbers behind the pictures: per-head attention distance and entropy, attention rollout
// (Abnar & Zuidema 2020) and row checks. Plain loops in double over float32 weights.
#include <cstdint>
#include <vector>

#include "attend/tensor/tensor.h"

namespace attend::explain {

// A dense row-major matrix of doubles.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;  // (rows, cols)

  Matrix() = default;
  Matrix(int64_t r, int64_t c, double fill = 0.0) : rows(r), cols(c), v(r * c, fill) {}
  double& at(int64_t i, int64_t j) { return v[i * cols + j]; }
  double at(int64_t i, int64_t j) const { return v[i * cols + j]; }
};

// a (n, k) · b (k, m) -> (n, m); errors name both shapes.
Matrix matmul(const Matrix& a, const Matrix& b);

// max over rows of |Σ_j w[..., i, j] − 1| for weights (..., Lq, Lk).
double max_row_sum_error(const Tensor& weights);

// Attention averaged over heads for one batch row: weights (B, H, Lq, Lk) -> (Lq, Lk).
Matrix head_average(const Tensor& weights, int64_t batch_row);

// Per-head statistics accumulated over batches of one attention layer.
// Distance of a query row i: Σ_j w_ij · |q_pos[i] − k_pos[j]| (positions in time steps);
// entropy of a row: −Σ_j w_ij · ln w_ij (nats; 0 for one-hot, ln Lk for uniform).
// Both are averaged over all rows of all batches seen.
class HeadStatsAccumulator {
 public:
  // q_pos (Lq) and k_pos (Lk); empty = no time positions (distance is not computed).
  HeadStatsAccumulator(int64_t heads, std::vector<double> q_pos, std::vector<double> k_pos);
  // weights: (B, H, Lq, Lk) with Lq, Lk matching the positions.
  void add(const Tensor& weights);
  int64_t heads() const { return heads_; }
  bool has_distance() const { return !q_pos_.empty(); }
  // Mean distance of head h in time steps (NaN without positions or rows).
  double distance(int64_t h) const;
  // Mean entropy of head h in nats.
  double entropy(int64_t h) const;
  // Rows averaged per head so far.
  int64_t rows() const { return rows_; }

 private:
  int64_t heads_;
  std::vector<double> q_pos_, k_pos_;
  std::vector<double> dist_sum_, ent_sum_;
  int64_t rows_ = 0;  // rows per head
};

// Row-stochastic map from n_in tokens to n_out tokens that each cover an equal share of the
// same span (row r spreads over the input tokens overlapping [r·n_in/n_out, (r+1)·n_in/n_out)),
// used between layers whose token counts differ (Informer's distilling).
Matrix coverage_map(int64_t n_out, int64_t n_in);

// Attention rollout: for each layer A_l (head-averaged, square), Â_l = rownorm(A_l + I);
// R = Â_L · … · Â_1 (with coverage_map between layers of different size) -> (L_last, L_first):
// how much each final token draws on each input token.
Matrix attention_rollout(const std::vector<Matrix>& layers);

// Mean of the rows of m: (rows, cols) -> (cols).
std::vector<double> row_mean(const Matrix& m);

}  // namespace attend::explain
