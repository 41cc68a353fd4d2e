// A state directory read without its engine answers a request as jrd would: its params are
// checked against protocol/methods.h's table, and what does not exist is not_found.
#include "cli/target.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace jr {
namespace {

using json = nlohmann::json;

TEST(StoreTargetTest, ChecksParamsAsJrdDoes) {
  test::TempDir dir;
  auto out = test::run_jr({"run", "--state", "s", "--", "echo", "{}", ":::", "a", "b"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto target = Target::open({"", (dir / "s").string()});
  ASSERT_TRUE(target.ok()) << target.error().message;
  ASSERT_FALSE((*target)->live());

  auto error = [&](const std::string& method, const json& params) {
    auto reply = (*target)->call(method, params);
    return reply ? "accepted: " + reply->dump() : reply.error().message;
  };
  EXPECT_EQ(error("tasks", {{"job", 1}, {"index", 1.5}}), "tasks: index: expected an integer ≥ 0, got 1.5");
  EXPECT_EQ(error("status", {{"job", "1"}}), "status: job: expected an integer ≥ 1, got \"1\"");
  EXPECT_EQ(error("events", json::object()), "events: give \"job\" or \"name\"");
  EXPECT_EQ(error("list", {{"state", "done"}}),
            "list: state: expected a job state (pending, running, paused, succeeded, failed, cancelled), got \"done\"");
  EXPECT_EQ(error("tasks", {{"job", 1}, {"index", 2}}), "job 1 has no task 2");

  auto task = (*target)->call("tasks", {{"job", 1}, {"index", 1}});
  ASSERT_TRUE(task.ok()) << task.error().message;
  EXPECT_EQ((*task)["tasks"][0]["argv"], json({"echo", "b"}));
}

}  // namespace
}  // namespace jr
