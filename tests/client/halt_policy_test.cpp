#include "cli/run/halt_policy.h"

#include <gtest/gtest.h>

namespace jr {
namespace {

HaltPolicy policy(const std::string& text) {
  auto p = parse_halt_policy(text);
  EXPECT_TRUE(p.ok()) << text;
  return p ? *p : HaltPolicy{};
}

TEST(HaltPolicy, NeverTrips) {
  EXPECT_FALSE(policy("never").trips(100, 0, 100));
  EXPECT_FALSE(policy("0").trips(100, 0, 100));
}

TEST(HaltPolicy, NowAtTheFirstFailure) {
  HaltPolicy p = policy("now,fail=1");
  EXPECT_EQ(p.when, HaltPolicy::When::Now);
  EXPECT_FALSE(p.trips(0, 50, 100));
  EXPECT_TRUE(p.trips(1, 0, 100));
}

TEST(HaltPolicy, SoonAtAPercentageOfTheJob) {
  HaltPolicy p = policy("soon,fail=10%");
  EXPECT_EQ(p.when, HaltPolicy::When::Soon);
  EXPECT_FALSE(p.trips(9, 80, 100));
  EXPECT_TRUE(p.trips(10, 0, 100));
  EXPECT_TRUE(p.trips(1, 0, 5));
}

TEST(HaltPolicy, SuccessAndDone) {
  EXPECT_TRUE(policy("now,success=2").trips(5, 2, 10));
  EXPECT_FALSE(policy("now,success=2").trips(5, 1, 10));
  EXPECT_TRUE(policy("soon,done=3").trips(1, 2, 10));
  EXPECT_FALSE(policy("soon,done=50%").trips(2, 2, 10));
}

TEST(HaltPolicy, ParallelsShorthands) {
  EXPECT_EQ(policy("1").when, HaltPolicy::When::Soon);
  EXPECT_EQ(policy("2").when, HaltPolicy::When::Now);
  EXPECT_EQ(policy("-1").why, HaltPolicy::Why::Success);
  EXPECT_EQ(policy("-2").when, HaltPolicy::When::Now);
  HaltPolicy p = policy("25%");
  EXPECT_EQ(p.when, HaltPolicy::When::Soon);
  EXPECT_TRUE(p.trips(1, 0, 4));
}

TEST(HaltPolicy, RefusesOtherText) {
  for (const char* text : {"", "later,fail=1", "now", "now,fail", "now,fail=0", "now,fail=x", "now,crash=1",
                           "soon,fail=101%", "100%", "3"}) {
    auto p = parse_halt_policy(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.error().code, ErrorCode::Usage);
  }
}

}  // namespace
}  // namespace jr
