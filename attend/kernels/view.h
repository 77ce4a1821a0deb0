#pragma once
// View<T, N>: what a kernel takes for an N-d array (N ≤ 4) instead of a list of pointers, sizes
// and strides. Element (i_0, …, i_{N−1}) is data[Σ_k i_k · strides[k]] (strides in elements; 0 on
// a broadcast dim). A view owns nothing and is passed by value; kernels read its fields once,
// before their loops.
#include <array>
#include <cstdint>
#include <type_traits>

namespace attend::kernels {

template <typename T, int N>
struct View {
  static_assert(N >= 1 && N <= 4, "views have 1 to 4 dims");
  T* data = nullptr;
  std::array<int64_t, N> shape{};
  std::array<int64_t, N> strides{};

  // The row-major dense view of `shape` at `data`.
  static View dense(T* data, const std::array<int64_t, N>& shape) {
    View v{data, shape, {}};
    int64_t s = 1;
    for (int k = N - 1; k >= 0; --k) v.strides[k] = s, s *= shape[k];
    return v;
  }

  // The same view, read-only.
  operator View<const T, N>() const requires(!std::is_const_v<T>) { return {data, shape, strides}; }

  // Address of element (i_0, …, i_{k−1}, 0, …): the first k ≤ N indices given.
  template <typename... I>
  T* at(I... i) const {
    static_assert(sizeof...(I) <= N, "more indices than dims");
    int64_t offset = 0, k = 0;
    ((offset += static_cast<int64_t>(i) * strides[k++]), ...);
    return data + offset;
  }
};

}  // namespace attend::kernels
