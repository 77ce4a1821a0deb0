#pragma once
// Shape and Strides: a small inline vector of dimensions (no heap allocation per tensor).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "attend/base/error.h"

namespace attend {

constexpr int kMaxDims = 8;

class Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Dims(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }
  template <typename It>
  Dims(It first, It last) {
    assign(first, last);
  }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t back() const { return d_[n_ - 1]; }
  const int64_t* begin() const { return d_.data(); }
  const int64_t* end() const { return d_.data() + n_; }
  int64_t* begin() { return d_.data(); }
  int64_t* end() { return d_.data() + n_; }
  const int64_t* data() const { return d_.data(); }

  void push_back(int64_t v) {
    ATTEND_CHECK(n_ < kMaxDims, "[shape] at most {} dimensions are supported", kMaxDims);
    d_[n_++] = v;
  }
  void insert(int pos, int64_t v) {
    ATTEND_CHECK(n_ < kMaxDims, "[shape] at most {} dimensions are supported", kMaxDims);
    for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
    d_[pos] = v;
    ++n_;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
    --n_;
  }
  void resize(int n, int64_t fill = 0) {
    ATTEND_CHECK(n <= kMaxDims, "[shape] at most {} dimensions are supported", kMaxDims);
    for (int i = n_; i < n; ++i) d_[i] = fill;
    n_ = n;
  }

  // Product of all dimensions (1 for a 0-d shape).
  int64_t numel() const {
    int64_t p = 1;
    for (int i = 0; i < n_; ++i) p *= d_[i];
    return p;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  // "(3, 4)"; "()" for 0-d.
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < n_; ++i) s += (i ? ", " : "") + std::to_string(d_[i]);
    return s + ")";
  }

  friend bool operator==(const Dims& a, const Dims& b) {
    if (a.n_ != b.n_) return false;
    for (int i = 0; i < a.n_; ++i)
      if (a.d_[i] != b.d_[i]) return false;
    return true;
  }

 private:
  template <typename It>
  void assign(It first, It last) {
    n_ = 0;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

using Shape = Dims;
using Strides = Dims;

// Row-major (C-contiguous) strides of a shape, in elements.
inline Strides contiguous_strides(const Shape& shape) {
  Strides s;
  s.resize(shape.size());
  int64_t acc = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

// Maps a possibly negative dimension index into [0, ndim); `what` names the op for the error.
inline int normalize_dim(int dim, int ndim, const char* what) {
  int d = dim < 0 ? dim + ndim : dim;
  ATTEND_CHECK(d >= 0 && d < ndim, "[{}] dimension {} is out of range for a {}-d tensor", what, dim,
               ndim);
  return d;
}

// NumPy broadcasting of two shapes; `what` names the op for the error.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* what) {
  int n = std::max(a.size(), b.size());
  Shape out;
  out.resize(n);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    ATTEND_CHECK(da == db || da == 1 || db == 1, "[{}] shapes {} and {} cannot be broadcast", what,
                 a.str(), b.str());
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace attend
