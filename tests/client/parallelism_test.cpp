#include "cli/run/parallelism.h"

#include <gtest/gtest.h>

namespace jr {
namespace {

int jobs(const std::string& text, int usable = 8) {
  auto j = parse_parallelism(text, usable);
  EXPECT_TRUE(j.ok()) << text;
  return j ? *j : -1;
}

TEST(Parallelism, FormsOfGnuParallel) {
  EXPECT_EQ(jobs(""), 8);
  EXPECT_EQ(jobs("3"), 3);
  EXPECT_EQ(jobs("50%"), 4);
  EXPECT_EQ(jobs("100%"), 8);
  EXPECT_EQ(jobs("200%"), 16);
  EXPECT_EQ(jobs("+1"), 9);
  EXPECT_EQ(jobs("-1"), 7);
  EXPECT_EQ(jobs("+0"), 8);
}

TEST(Parallelism, NeverBelowOne) {
  EXPECT_EQ(jobs("-1", 1), 1);
  EXPECT_EQ(jobs("-20"), 1);
  EXPECT_EQ(jobs("10%", 2), 1);
}

TEST(Parallelism, RefusesZeroWithAReason) {
  auto j = parse_parallelism("0", 8);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, ErrorCode::Usage);
  EXPECT_EQ(j.error().message,
            "-j 0 (GNU parallel's \"as many as possible\") is not supported: give a number of tasks at once, "
            "or 100% for one per CPU");
}

TEST(Parallelism, RefusesWhatIsNotAForm) {
  for (const char* text : {"x", "%", "+", "-", "1.5", "+5%", "3x", "99999999999"}) {
    auto j = parse_parallelism(text, 8);
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_EQ(j.error().message, std::string("-j '") + text +
                                     "': expected N, N% of the CPUs, +N or -N (jr cpus says how many CPUs -j counts from)");
  }
}

}  // namespace
}  // namespace jr
