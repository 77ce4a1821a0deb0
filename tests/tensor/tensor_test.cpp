#include "attend/tensor/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace attend {
namespace {

TEST(Tensor, FactoriesAndMetadata) {
  Context ctx;
  Tensor t = Tensor::zeros({2, 3}, DType::F32, ctx);
  EXPECT_EQ(t.ndim(), 2);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.size(-1), 3);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 64, 0u);
  Tensor f = Tensor::full({2}, 2.5, DType::F64, ctx);
  EXPECT_EQ(f.at({1}), 2.5);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(t.item(), Error);
  EXPECT_EQ(Tensor::scalar(3.0, DType::F32, ctx).item(), 3.0);
}

TEST(Tensor, FromVectorChecksSize) {
  Context ctx;
  EXPECT_THROW(Tensor::from_vector<float>({1, 2, 3}, {2, 2}, ctx), Error);
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}, ctx);
  EXPECT_EQ(t.at({1, 0}), 3.0);
}

TEST(Tensor, StridedViewAndContiguousCopy) {
  Context ctx;
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3}, ctx);
  // transpose as a raw view: shape (3, 2), strides (1, 3)
  Tensor tt = t.as_strided({3, 2}, {1, 3}, 0);
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor c = tt.contiguous_data();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(t.as_strided({4, 2}, {1, 3}, 0), Error);  // past the end of storage
}

// Permuted views take the tiled-transpose copy; its result must equal the element-by-element walk
// (to_vector) for tile-unaligned sizes, an offset, and both 4- and 8-byte elements.
TEST(Tensor, PermutedViewsCopyLikeTheElementWalk) {
  Context ctx;
  const int64_t B = 2, L = 19, H = 3, D = 21;
  std::vector<float> vf(1 + B * L * H * D);
  std::vector<int64_t> vi(vf.size());
  for (size_t i = 0; i < vf.size(); ++i) {
    vf[i] = static_cast<float>(i);
    vi[i] = static_cast<int64_t>(i) * 1000003;
  }
  Tensor tf = Tensor::from_vector<float>(vf, {static_cast<int64_t>(vf.size())}, ctx);
  Tensor ti = Tensor::from_vector<int64_t>(vi, {static_cast<int64_t>(vi.size())}, ctx);
  // (B, L, H, D) stored at offset 1, viewed as (B, H, D, L): strides (L·H·D, D, 1, H·D).
  for (const Tensor& base : {tf, ti}) {
    Tensor v = base.as_strided({B, H, D, L}, {L * H * D, D, 1, H * D}, 1);
    Tensor c = v.contiguous_data();
    ASSERT_TRUE(c.is_contiguous());
    if (base.dtype() == DType::F32)
      EXPECT_EQ(c.to_vector<float>(), v.to_vector<float>());
    else
      EXPECT_EQ(c.to_vector<int64_t>(), v.to_vector<int64_t>());
  }
  // Unit stride on a middle dim: (B, L, H, D) viewed as (B, D, H, L).
  Tensor w = tf.as_strided({B, D, H, L}, {L * H * D, 1, D, H * D}, 1);
  EXPECT_EQ(w.contiguous_data().to_vector<float>(), w.to_vector<float>());
}

TEST(Tensor, CopyConvertsDtype) {
  Context ctx;
  Tensor t = Tensor::from_vector<float>({1.5f, -2.f}, {2}, ctx);
  Tensor d = t.copy_as(DType::F64);
  EXPECT_EQ(d.dtype(), DType::F64);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{1.5, -2.0}));
}

TEST(Random, SameSeedSameValuesAnyThreadCount) {
  Context a(ContextOptions{.threads = 1, .seed = 7});
  Context b(ContextOptions{.threads = 2, .seed = 7});
  Tensor x = Tensor::normal({100000}, 0, 1, DType::F32, a);
  Tensor y = Tensor::normal({100000}, 0, 1, DType::F32, b);
  EXPECT_EQ(x.to_vector<float>(), y.to_vector<float>());
  // moments of the normal draw
  double s = 0, s2 = 0;
  for (float v : x.to_vector<float>()) s += v, s2 += double(v) * v;
  EXPECT_NEAR(s / 1e5, 0.0, 0.02);
  EXPECT_NEAR(s2 / 1e5, 1.0, 0.02);
  Tensor u = Tensor::uniform({100000}, 2, 3, DType::F64, a);
  for (double v : u.to_vector<double>()) ASSERT_TRUE(v >= 2 && v < 3);
  Tensor m = Tensor::bernoulli({100000}, 0.3, DType::F32, a);
  double ones = 0;
  for (float v : m.to_vector<float>()) ones += v;
  EXPECT_NEAR(ones / 1e5, 0.3, 0.01);
}

TEST(Allocator, ReusesBlocksOfTheSameSize) {
  Context ctx;
  if (!ctx.allocator().caches()) GTEST_SKIP() << "an AddressSanitizer build caches nothing";
  { Tensor t = Tensor::empty({1000}, DType::F32, ctx); }
  uint64_t before = ctx.allocator().stats().system_allocations;
  for (int i = 0; i < 10; ++i) Tensor t = Tensor::empty({1000}, DType::F32, ctx);
  EXPECT_EQ(ctx.allocator().stats().system_allocations, before);
  EXPECT_EQ(ctx.allocator().stats().bytes_in_use, 0u);
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {
TEST(Tensor, Int64ValuesStayExact) {
  Context ctx;
  std::vector<int64_t> v{INT64_MAX, INT64_MIN, (int64_t(1) << 53) + 1};
  Tensor t = Tensor::from_vector<int64_t>(v, {3}, ctx);
  EXPECT_EQ(t.to_vector<int64_t>(), v);
  Tensor strided = t.as_strided({2}, {2}, 0);  // elements 0 and 2
  Tensor c = strided.contiguous_data();
  EXPECT_EQ(c.to_vector<int64_t>(), (std::vector<int64_t>{INT64_MAX, (int64_t(1) << 53) + 1}));
}
}  // namespace
}  // namespace attend
