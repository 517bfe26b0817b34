#include <gtest/gtest.h>

#include "tensor/ops.h"
#include "tests/testing.h"

namespace retort {
namespace {

TEST(Shape, NumelStridesAndAxes) {
  const Shape s{2, 3, 4};
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(contiguous_strides(s), (Shape{12, 4, 1}));
  EXPECT_EQ(s.axis(-1), 2);
  EXPECT_THROW(s.axis(3), Error);
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_EQ(s.str(), "[2, 3, 4]");
  EXPECT_THROW(Shape({-1}), Error);
}

TEST(Tensor, FactoriesAndItem) {
  Tensor z = zeros(Shape{2, 3});
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(full(Shape{2}, 2.5).to_vector<float>(), (std::vector<float>{2.5f, 2.5f}));
  EXPECT_EQ(arange(4, DType::I64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_FLOAT_EQ(scalar(3.0f).item<float>(), 3.0f);
  EXPECT_THROW(z.item<float>(), Error);
  EXPECT_THROW(z.item<int64_t>(), Error);
  EXPECT_THROW(from_vector<float>({1, 2, 3}, Shape{2, 2}), Error);
}

TEST(Tensor, ReshapeIsAViewWhenContiguous) {
  Tensor t = from_vector<float>({0, 1, 2, 3, 4, 5}, Shape{2, 3});
  Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(r.storage(), t.storage());
  EXPECT_THROW(t.reshape({4, -1}), Error);
  EXPECT_THROW(t.reshape({-1, -1}), Error);
}

TEST(Tensor, NarrowPermuteAndContiguous) {
  Tensor t = from_vector<float>({0, 1, 2, 3, 4, 5}, Shape{2, 3});
  Tensor col = t.narrow(1, 1, 2);
  EXPECT_FALSE(col.is_contiguous());
  EXPECT_EQ(col.contiguous().to_vector<float>(), (std::vector<float>{1, 2, 4, 5}));
  Tensor tr = t.transpose(0, 1);
  EXPECT_EQ(tr.shape(), (Shape{3, 2}));
  EXPECT_EQ(tr.contiguous().to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  // reshape of a non-contiguous view copies.
  EXPECT_EQ(tr.reshape({6}).to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(t.narrow(1, 2, 2), Error);
  EXPECT_THROW(t.permute({0, 0}), Error);
}

TEST(Tensor, CopyIntoAStridedView) {
  Tensor t = zeros(Shape{3, 3});
  Tensor window = t.narrow(0, 1, 2).narrow(1, 1, 2);
  ops::copy_(window, from_vector<float>({1, 2, 3, 4}, Shape{2, 2}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 1, 2, 0, 3, 4}));
}

TEST(Tensor, VersionCountsInPlaceChanges) {
  Tensor t = zeros(Shape{4});
  const uint64_t v0 = t.version();
  ops::fill_(t, 1.0);
  EXPECT_EQ(t.version(), v0 + 1);
  Tensor view = t.reshape({2, 2});
  ops::mul_(view, 2.0f);
  EXPECT_EQ(t.version(), v0 + 2);  // views share the counter
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(4, 2.0f));
}

TEST(Tensor, Printing) {
  Tensor t = from_vector<float>({1, 2, 3, 4}, Shape{2, 2});
  EXPECT_EQ(t.str(), "tensor([[1, 2], [3, 4]], shape=[2, 2], dtype=f32, device=cpu)");
  EXPECT_EQ(arange(10, DType::I64).str(2), "tensor([0, 1, ..., 8, 9], shape=[10], dtype=i64, device=cpu)");
}

TEST(Tensor, DeviceParsing) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_THROW(Device::parse("gpu"), Error);
  EXPECT_THROW(Device::parse("cuda:x"), Error);
}

TEST(Tensor, CudaTensorsFailClearlyWithoutAGpu) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(empty(Shape{2}, DType::F32, Device::cuda(0)), Error);
}

TEST(Allocator, SteadyStateReusesBlocks) {
  Allocator& a = cpu_allocator();
  { Tensor warm = empty(Shape{1000, 37}); }
  const uint64_t before = a.stats().system_allocs;
  for (int i = 0; i < 10; ++i) {
    Tensor t = empty(Shape{1000, 37});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % kCpuAlignment, 0u);
  }
  EXPECT_EQ(a.stats().system_allocs, before);
}

TEST(Allocator, PinnedTensorsAreCpuTensorsFromThePinnedAllocator) {
  Allocator& pinned = pinned_host_allocator();
  // Without a GPU the pinned allocator is the CPU allocator itself.
  if (!cuda_available()) {
    EXPECT_EQ(&pinned, &cpu_allocator());
  }
  const uint64_t before = pinned.stats().current_bytes;
  {
    Tensor t = empty_pinned(Shape{3, 5}, DType::I64);
    EXPECT_TRUE(t.device().is_cpu());
    EXPECT_EQ(t.shape(), (Shape{3, 5}));
    EXPECT_EQ(t.dtype(), DType::I64);
    EXPECT_GE(pinned.stats().current_bytes, before + 3 * 5 * 8);
    ops::fill_(t, 7.0);
    EXPECT_EQ(t.to_vector<int64_t>(), std::vector<int64_t>(15, 7));
  }
  EXPECT_EQ(pinned.stats().current_bytes, before);
}

TEST(Tensor, NonblockingCopyOnTheCpuIsAnOrdinaryCopyAndItsFenceIsDone) {
  Tensor src = empty_pinned(Shape{4, 3});
  ops::fill_(src, 2.5);
  const Tensor same = to_device_nonblocking(src.narrow(0, 1, 2), Device::cpu());
  EXPECT_EQ(same.shape(), (Shape{2, 3}));
  EXPECT_EQ(same.to_vector<float>(), std::vector<float>(6, 2.5f));
  DeviceFence fence;
  fence.wait();  // nothing recorded
  fence.record(Device::cpu());
  fence.wait();  // CPU work is synchronous
  if (!cuda_available()) {
    EXPECT_THROW(to_device_nonblocking(src, Device::cuda(0)), Error);
  }
}

}  // namespace
}  // namespace retort
