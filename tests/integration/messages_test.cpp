// Messages a person can act on (issue 16, section 4): a timeout is named with its limit and
// grace wherever a failed task is shown.
#include <gtest/gtest.h>


#include "tests/integration/harness.h"

namespace jr::test {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(MessagesTest, TimeoutsAreNamedWithTheirLimitAndGraceInEveryView) {
  TempDir dir;
  // "hard" ignores SIGTERM (and so do the sleeps it starts), so only SIGKILL after the grace
  // ends it; "soft" ends on SIGTERM.
  auto out = run_jr({"run", "-j", "2", "--timeout", "1s", "--grace", "1s", "--", "sh", "-c",
                     "if [ $1 = hard ]; then trap '' TERM; fi; while :; do sleep 0.1; done", "sh", "{}", ":::", "hard",
                     "soft"},
                    dir.path());
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_TRUE(contains(out.err, "task 0 timed out after 1s (killed after 1s grace)")) << out.err;
  EXPECT_TRUE(contains(out.err, "task 1 timed out after 1s (stopped by SIGTERM within the 1s grace)")) << out.err;
  EXPECT_FALSE(contains(out.err, "signal 9")) << out.err;

  auto stats = run_jr({"stats", "--state", ".jr"}, dir.path());
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(contains(stats.out, "task 0 timed out after 1s (killed after 1s grace), 1 attempt")) << stats.out;
  EXPECT_TRUE(contains(stats.out, "task 1 timed out after 1s (stopped by SIGTERM")) << stats.out;

  auto tasks = run_jr({"tasks", "1", "--state", ".jr"}, dir.path());
  EXPECT_EQ(tasks.exit_code, 0) << tasks.err;
  EXPECT_TRUE(contains(tasks.out, "timed out after 1s (killed after 1s grace)")) << tasks.out;
  auto json = run_jr({"tasks", "1", "--state", ".jr", "--json"}, dir.path());
  EXPECT_TRUE(contains(json.out, "\"detail\":\"timed out after 1s (killed after 1s grace)\"")) << json.out;
}

}  // namespace
}  // namespace jr::test
