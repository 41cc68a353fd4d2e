// Every door reads every state (docs/cli.md, "Where commands look"): the commands a jrd user
// has work on a `jr run` state directory, with its engine running or long gone, and a jrd's
// state answers the same through its socket or its directory.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

using json = nlohmann::json;

json parsed(const Output& out) {
  EXPECT_EQ(out.exit_code, 0) << out.err;
  return json::parse(out.out.empty() ? "null" : out.out);
}

// A finished jr run in DIR/s: 4 tasks, index 2 fails with a line on stderr, each saves a checkpoint.
void finished_run(const TempDir& dir) {
  auto out = run_jr({"run", "--state", "s", "-j", "2", "--", "sh", "-c",
                     "echo out $1; echo x > $JR_CHECKPOINT_DIR/f; jr checkpoint save; "
                     "if [ $1 = 3 ]; then echo broken $1 >&2; exit 3; fi",
                     "sh", "{}", ":::", "1", "2", "3", "4"},
                    dir.path());
  ASSERT_EQ(out.exit_code, 1) << out.err;
}

TEST(DoorsTest, EveryQueryReadsAJrRunStateWhoseEngineHasEnded) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  finished_run(dir);
  if (HasFatalFailure()) return;
  auto in = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--state", "s"});
    return run_jr(args, dir.path());
  };

  json status = parsed(in({"status", "1", "--json"}));
  EXPECT_EQ(status["state"], "failed");
  EXPECT_EQ(status["counts"]["succeeded"], 3);
  EXPECT_EQ(parsed(in({"list", "--json"}))["jobs"].size(), 1u);
  EXPECT_EQ(parsed(in({"list", "--only", "succeeded", "--json"}))["jobs"].size(), 0u);
  json failed = parsed(in({"tasks", "1", "--only", "failed", "--json"}))["tasks"];
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["index"], 2);
  EXPECT_EQ(failed[0]["exit_code"], 3);
  EXPECT_EQ(parsed(in({"tasks", "1", "--json"}))["tasks"].size(), 4u);
  EXPECT_EQ(in({"logs", "1:1"}).out, "out 2\n");
  EXPECT_EQ(in({"logs", "1:2", "--stderr"}).out, "broken 3\n");
  EXPECT_NE(in({"logs", "1"}).out.find("==> task 1:3 (succeeded) <==\nout 4\n"), std::string::npos);
  json events = parsed(in({"events", "1", "--json"}))["events"];
  EXPECT_EQ(events.front()["detail"], "job created");
  auto waited = in({"wait", "1"});
  EXPECT_EQ(waited.exit_code, 1) << waited.err;
  EXPECT_NE(waited.err.find("1 of 4 tasks failed"), std::string::npos) << waited.err;
  EXPECT_EQ(parsed(in({"stats", "--json"}))["tasks"]["failed"], 1);
  auto trace = in({"trace"});
  EXPECT_EQ(trace.exit_code, 0) << trace.err;
  EXPECT_EQ(std::count(trace.out.begin(), trace.out.end(), '\n'), 5) << trace.out;  // a header and 4 attempts
  EXPECT_EQ(in({"report", "-o", "r.html"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "r.html"));
  EXPECT_EQ(parsed(in({"checkpoint", "list", "1:0", "--json"})).size(), 1u);

  // What needs an engine says that none runs there.
  for (auto args : std::vector<std::vector<std::string>>{{"cancel", "1"}, {"pause", "1"}, {"retry", "1"}, {"ping"}}) {
    auto out = in(args);
    EXPECT_EQ(out.exit_code, 5) << args[0] << ": " << out.err;
    EXPECT_NE(out.err.find("no engine runs on"), std::string::npos) << out.err;
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
  }
}

TEST(DoorsTest, WithNeitherFlagCommandsReadDotJrHere) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  auto out = run_jr({"run", "--", "echo", "{}", ":::", "a", "b"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  ::unsetenv("JR_DAEMON_SOCKET");
  EXPECT_EQ(parsed(run_jr({"status", "1", "--json"}, dir.path()))["state"], "succeeded");
  EXPECT_EQ(run_jr({"logs", "1:1"}, dir.path()).out, "b\n");
  EXPECT_EQ(parsed(run_jr({"stats", "--json"}, dir.path()))["tasks"]["succeeded"], 2);
  auto both = run_jr({"status", "--socket", "x", "--state", ".jr"}, dir.path());
  EXPECT_EQ(both.exit_code, 2) << both.err;
}

TEST(DoorsTest, ControlCommandsReachARunningJrRunThroughItsStateDirectory) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  pid_t run = start_jr({"run", "--state", "s", "-j", "1", "--", "sleep", "{}", ":::", "600", "601", "602"}, dir.path());
  auto in = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--state", "s"});
    return run_jr(args, dir.path());
  };
  ASSERT_TRUE(wait_for([&] {
    auto out = in({"status", "1", "--json"});
    return out.exit_code == 0 && json::parse(out.out)["counts"]["running"] == 1;
  })) << read_file(dir / "jr-bg.err");
  EXPECT_EQ(parsed(in({"ping", "--json"}))["pid"], run);
  auto paused = in({"pause", "1"});
  EXPECT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(parsed(in({"status", "1", "--json"}))["paused"], true);
  auto one = in({"cancel", "1:0"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "job 1 task 0: cancelled\n");
  // Paused: the next task does not start; the rest of the job is cancelled.
  auto rest = in({"cancel", "1"});
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(wait_exit(run), 3) << read_file(dir / "jr-bg.err");
  json status = parsed(in({"status", "1", "--json"}));
  EXPECT_EQ(status["state"], "cancelled");
  EXPECT_EQ(status["counts"]["cancelled"], 3);
  auto submit = run_jr({"submit", "--socket", (dir / "s/sock").string(), "--", "true"}, dir.path());
  EXPECT_EQ(submit.exit_code, 5) << "the engine has ended: " << submit.err;
}

TEST(DoorsTest, JrdAnswersTheSameThroughItsSocketAndItsStateDirectory) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  auto sock = (dir / "jrd.sock").string();
  pid_t jrd = start_jrd(dir / "st", sock, {"--workers", "2"}, dir.path());
  ASSERT_TRUE(wait_for([&] { return run_jr({"ping", "--socket", sock}, dir.path()).exit_code == 0; }))
      << read_file(dir / "jrd.err");
  auto id = run_jr({"submit", "--socket", sock, "--wait", "--", "sh", "-c", "echo $1", "sh", "{}", ":::", "x", "y"},
                   dir.path());
  ASSERT_EQ(id.exit_code, 0) << id.err;
  auto socket_view = parsed(run_jr({"tasks", "1", "--socket", sock, "--json"}, dir.path()));
  auto live_dir_view = parsed(run_jr({"tasks", "1", "--state", "st", "--json"}, dir.path()));
  EXPECT_EQ(socket_view, live_dir_view);
  EXPECT_EQ(parsed(run_jr({"ping", "--state", "st", "--json"}, dir.path()))["pid"], jrd);
  EXPECT_EQ(run_jr({"logs", "1:1", "--state", "st"}, dir.path()).out, "y\n");
  EXPECT_EQ(parsed(run_jr({"stats", "--socket", sock, "--json"}, dir.path()))["tasks"]["succeeded"], 2);
  kill(jrd, SIGTERM);
  ASSERT_EQ(wait_exit(jrd), 0) << read_file(dir / "jrd.err");
  // Stopped: the directory still answers, from its store.
  EXPECT_EQ(parsed(run_jr({"tasks", "1", "--state", "st", "--json"}, dir.path())), socket_view);
}

}  // namespace
}  // namespace jr::test
