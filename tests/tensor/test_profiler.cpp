// The per-op profile of retort bench: exclusive times, call counts, off by default.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tensor/profiler.h"

namespace retort {
namespace {

void busy(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

TEST(Profiler, NestedScopesChargeExclusiveTime) {
  profiler::reset();
  profiler::set_enabled(true);
  {
    RETORT_PROFILE_OP("outer");
    busy(20);
    for (int i = 0; i < 2; ++i) {
      RETORT_PROFILE_OP("inner");
      busy(30);
    }
  }
  profiler::set_enabled(false);
  const std::vector<profiler::OpTime> t = profiler::snapshot();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "inner");  // slowest first
  EXPECT_EQ(t[0].calls, 2);
  EXPECT_GE(t[0].seconds, 0.060);
  EXPECT_EQ(t[1].name, "outer");
  EXPECT_EQ(t[1].calls, 1);
  EXPECT_GE(t[1].seconds, 0.020);
  EXPECT_LT(t[1].seconds, t[0].seconds);  // inclusive, outer would exceed the inner 60 ms
}

TEST(Profiler, RecordsNothingWhenOff) {
  profiler::reset();
  { RETORT_PROFILE_OP("off"); }
  EXPECT_TRUE(profiler::snapshot().empty());
}

}  // namespace
}  // namespace retort
