// jr submit takes jr run's per-job options (docs/DESIGN.md "Per job, per engine"): each is
// carried in the submit request, stored in the job's spec and applied by jrd to that job alone.
// Each test starts its own jrd and waits on states, never on time.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

using json = nlohmann::json;

class SubmitOptionsTest : public ::testing::Test {
 protected:
  // Tasks call `jr checkpoint save`, `jr result save`, `jr progress`: the jr under test first on PATH.
  void SetUp() override { ASSERT_TRUE(put_jr_first_on_path()); }

  void TearDown() override {
    if (jrd_ > 0) {
      kill(jrd_, SIGTERM);
      EXPECT_EQ(wait_exit(jrd_), 0) << read_file(dir / "jrd.err");
    }
  }

  void start_daemon(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--workers", "4", "--grace", "2s", "--sample-every", "50ms"});
    jrd_ = start_jrd(dir / "state", socket(), args, dir.path());
    ASSERT_TRUE(wait_for([&] { return jr({"ping"}).exit_code == 0; })) << read_file(dir / "jrd.err");
  }

  std::string socket() const { return (dir / "jrd.sock").string(); }
  Output jr(std::vector<std::string> args) const {
    args.insert(args.begin() + 1, {"--socket", socket()});
    return run_jr(args, dir.path());
  }
  std::string submit(const std::vector<std::string>& args) {
    auto out = jr(cat({"submit"}, args));
    EXPECT_EQ(out.exit_code, 0) << out.err;
    return out.out.empty() ? "" : out.out.substr(0, out.out.size() - 1);
  }
  json tasks(const std::string& job) { return json::parse(jr({"tasks", job, "--json"}).out, nullptr, false)["tasks"]; }
  std::int64_t count(const std::string& job, const std::string& state) {
    auto s = json::parse(jr({"status", job, "--json"}).out, nullptr, false);
    return s.is_object() ? s["counts"].value(state, std::int64_t{-1}) : -1;
  }

  TempDir dir;
  pid_t jrd_ = -1;
};

TEST_F(SubmitOptionsTest, OutputIsRenamedOnlyWhenTheTaskSucceeds) {
  start_daemon();
  auto id = submit({"--output", "{}.res", "--", "sh", "-c", "echo $0 > \"$1\"; test $0 != bad", "{}", "{out}", ":::", "a", "bad"});
  EXPECT_EQ(jr({"wait", id}).exit_code, 1);
  EXPECT_EQ(read_file(dir / "a.res"), "a\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.res"));
  std::size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.path().filename().string().find("res") != std::string::npos;
  EXPECT_EQ(files, 1u) << "a partial output was left behind";
  EXPECT_EQ(tasks(id)[0]["index"], 0);
  // The same checks as jr run's, before anything is sent.
  auto no_out = jr({"submit", "--output", "{}.res", "--", "echo", "{}", ":::", "a"});
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_EQ(no_out.err, "jr submit: --output needs {out} in the command: where the task writes it\n");
}

TEST_F(SubmitOptionsTest, CheckpointAndResultLimitsAreTheJobsOwn) {
  start_daemon();
  write_file(dir / "task.sh", "#!/bin/sh\nset -e\nfor i in 1 2 3 4; do echo $i > \"$JR_CHECKPOINT_DIR/i\"; jr checkpoint save; done\n"
             "head -c 5000 /dev/zero > \"$JR_CHECKPOINT_DIR/big\"\n"
             "if jr checkpoint save 2> save-$1.err; then echo saved > big-$1.rc; fi\n"
             "head -c 5000 /dev/zero > result-$1\n"
             "if jr result save result-$1 2> result-$1.err; then echo saved > result-$1.rc; fi\n");
  chmod((dir / "task.sh").c_str(), 0755);
  auto limited = submit({"--keep-checkpoints", "1", "--max-checkpoint", "4K", "--max-result", "4K", "./task.sh", "limited"});
  auto plain = submit({"./task.sh", "plain"});
  ASSERT_EQ(jr({"wait", limited}).exit_code, 0);
  ASSERT_EQ(jr({"wait", plain}).exit_code, 0);
  auto seqs = [&](const std::string& job) {
    auto out = run_jr({"checkpoint", "list", job + ":0", "--socket", socket(), "--json"}, dir.path());
    EXPECT_EQ(out.exit_code, 0) << out.err;
    std::vector<std::int64_t> s;
    for (auto& c : json::parse(out.out, nullptr, false)) s.push_back(c["seq"]);
    return s;
  };
  EXPECT_EQ(seqs(limited), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(seqs(plain), (std::vector<std::int64_t>{4, 5}));  // the default keeps 2; the big one saved
  EXPECT_NE(read_file(dir / "save-limited.err").find("exceeds --max-checkpoint"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "big-limited.rc"));
  EXPECT_TRUE(std::filesystem::exists(dir / "big-plain.rc"));
  EXPECT_NE(read_file(dir / "result-limited.err").find("exceeds --max-result (5000 bytes, limit 4096)"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "result-plain.rc"));
}

TEST_F(SubmitOptionsTest, StallKillIsTheJobsOwn) {
  start_daemon();
  // Both write progress once, then none; only the second job asked for stall detection. The
  // first has been silent longer when the second's task is found stalled.
  auto waits = submit({"--", "sh", "-c", "jr progress 0.1 started; touch progressed; while [ ! -f go ]; do sleep 0.01; done"});
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "progressed"); }));
  auto stalls = submit({"--stall-timeout", "200ms", "--stall-action", "kill", "--", "sh", "-c", "jr progress 0.1 started; exec sleep 1000"});
  EXPECT_EQ(jr({"wait", stalls}).exit_code, 1);
  auto t = tasks(stalls)[0];
  EXPECT_EQ(t["state"], "failed");
  EXPECT_NE(t["detail"].get<std::string>().find("stalled: no progress for 200ms"), std::string::npos) << t.dump();
  EXPECT_EQ(count(waits, "running"), 1);
  EXPECT_EQ(jr({"events", waits, "--json"}).out.find("stalled"), std::string::npos);
  write_file(dir / "go", "");
  EXPECT_EQ(jr({"wait", waits}).exit_code, 0);
}

TEST_F(SubmitOptionsTest, ExpectIsTheJobsOwnAndTheDeadlineIsJrds) {
  start_daemon({"--deadline", "+1h"});
  auto quick = submit({"--", "sh", "-c", "while [ ! -f go ]; do sleep 0.01; done"});
  ASSERT_TRUE(wait_for([&] { return count(quick, "running") == 1; }));
  // Expected to take longer than what is left before the deadline: held back, never started.
  auto slow = submit({"--expect", "2h", "--", "touch", "slow-ran"});
  EXPECT_EQ(count(slow, "pending"), 1);
  write_file(dir / "go", "");
  // Nothing left that can end in time: jrd stops as jr run does, to be started again later.
  EXPECT_EQ(wait_exit(jrd_), 0);
  jrd_ = -1;
  EXPECT_NE(read_file(dir / "jrd.err").find("stopped before the deadline"), std::string::npos) << read_file(dir / "jrd.err");
  auto status = [&](const std::string& job) {
    auto out = run_jr({"status", job, "--state", (dir / "state").string(), "--json"}, dir.path());
    return json::parse(out.out, nullptr, false)["counts"];
  };
  EXPECT_EQ(status(quick)["succeeded"], 1);
  EXPECT_EQ(status(slow)["pending"], 1);
  EXPECT_FALSE(std::filesystem::exists(dir / "slow-ran"));
}

// The job-end hook runs in jrd when the job ends, and jrd does not wait for it: a second job
// runs to its end while the first one's hook is still running. Under the subreaper containment,
// where jrd kills every child it did not start once a task ends, the hook survives that too.
class SubmitOnFinishTest : public SubmitOptionsTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (!GetParam().empty()) ::setenv("JR_CONTAINMENT", GetParam().c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("JR_CONTAINMENT");
    SubmitOptionsTest::TearDown();
  }
};

TEST_P(SubmitOnFinishTest, RunsWhenTheJobEndsWhileOtherJobsGoOn) {
  start_daemon();
  auto first = submit({"--on-finish",
                       "touch hook-started; while [ ! -f release ]; do sleep 0.01; done; "
                       "echo $JR_JOB_ID $JR_JOB_STATE $JR_SUCCEEDED $JR_FAILED $JR_TOTAL > finished.txt; exit 5",
                       "--", "sh", "-c", "exit $0", "{}", ":::", "0", "00", "1"});
  EXPECT_EQ(jr({"wait", first}).exit_code, 1);
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "hook-started"); })) << read_file(dir / "jrd.err");
  auto second = submit({"--", "touch", "second-ran"});
  EXPECT_EQ(jr({"wait", second}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "second-ran"));
  EXPECT_FALSE(std::filesystem::exists(dir / "finished.txt")) << "the hook ran before it was released";
  write_file(dir / "release", "");
  // Job 1 of jrd: 2 succeeded, 1 failed of 3, as jr run's hook is told (OnFinishTest in identity_test).
  ASSERT_TRUE(wait_for([&] { return read_file(dir / "finished.txt").find('\n') != std::string::npos; }))
      << read_file(dir / "jrd.err");
  EXPECT_EQ(read_file(dir / "finished.txt"), first + " failed 2 1 3\n");
  ASSERT_TRUE(wait_for([&] { return read_file(dir / "jrd.err").find("--on-finish command failed (exit 5)") != std::string::npos; }))
      << read_file(dir / "jrd.err");
  // Its failure changes nothing, and the second job, which has no hook, ran none.
  EXPECT_EQ(count(first, "failed"), 1);
  EXPECT_EQ(jr({"status", second}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Containment, SubmitOnFinishTest, ::testing::Values("", "subreaper"),
                         [](const auto& info) { return info.param.empty() ? std::string("Default") : info.param; });

TEST_F(SubmitOptionsTest, ShardKeepsEveryNthCombination) {
  start_daemon();
  auto id = submit({"--shard", "1/3", "--", "touch", "{}", ":::", "a", "b", "c", "d", "e"});
  EXPECT_EQ(jr({"wait", id}).exit_code, 0);
  for (std::string f : {"a", "c", "d"}) EXPECT_FALSE(std::filesystem::exists(dir / f)) << f;
  for (std::string f : {"b", "e"}) EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  auto t = tasks(id);
  ASSERT_EQ(t.size(), 2u);
  auto bad = jr({"submit", "--shard", "3/3", "--", "true"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "jr submit: invalid --shard '3/3' (expected K/N with 0 <= K < N)\n");
}

TEST_F(SubmitOptionsTest, ExplainRunsNothingAndSaysWhatWouldRun) {
  start_daemon({"--sync-full"});
  auto text = jr({"submit", "--explain", "--name", "demo", "--cpus", "1", "--", "touch", "{}", ":::", "a", "b"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("     1  new"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("touch b"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("would run 2 of 2 tasks: 2 new"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("each task holds while it runs: 1 core\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("containment: "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("nothing was submitted (--explain)"), std::string::npos) << text.out;
  EXPECT_EQ(json::parse(jr({"list", "--json"}).out, nullptr, false)["jobs"].size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir / "a"));

  auto id = submit({"--name", "demo", "--", "touch", "{}", ":::", "a"});
  EXPECT_EQ(jr({"wait", id}).exit_code, 0);
  auto again = jr({"submit", "--explain", "--json", "--name", "demo", "--", "touch", "{}", ":::", "a", "b"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto ex = json::parse(again.out, nullptr, false);
  ASSERT_TRUE(ex.is_object()) << again.out;
  EXPECT_EQ(ex["summary"]["new"], 2);
  EXPECT_EQ(ex["tasks"][1]["argv"], (json{"touch", "b"}));
  EXPECT_EQ(ex["same_name"], json::array({json{{"job", std::stoll(id)}, {"state", "succeeded"}}}));
  EXPECT_EQ(json::parse(jr({"list", "--json"}).out, nullptr, false)["jobs"].size(), 1u);
  // jrd's checks are a submit's: a program it cannot run is refused, nothing is created.
  auto missing = jr({"submit", "--explain", "--", "no-such-program-jr", "{}", ":::", "a"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "jr submit: command not found: no-such-program-jr (not on PATH)\n");
}

TEST_F(SubmitOptionsTest, JrdChecksTheProgramAsJrRunDoes) {
  start_daemon();
  write_file(dir / "not-executable", "#!/bin/sh\n");
  for (auto [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"no-such-program-jr", "{}", ":::", "a"}, "command not found: no-such-program-jr (not on PATH)"},
           {{"./not-executable", "{}", ":::", "a"}, "cannot run ./not-executable: it is not executable"},
           {{"echo {} > out", ":::", "a"}, "'echo {} > out' is one word holding shell syntax (>); to run it through a shell, add --shell"}}) {
    auto out = jr(cat({"submit", "--"}, args));
    EXPECT_EQ(out.exit_code, 2);
    EXPECT_EQ(out.err, "jr submit: " + message + "\n");
  }
  EXPECT_EQ(json::parse(jr({"list", "--json"}).out, nullptr, false)["jobs"].size(), 0u);
  EXPECT_EQ(jr({"wait", submit({"--shell", "--", "echo {} > out", ":::", "a"})}).exit_code, 0);
}

TEST_F(SubmitOptionsTest, WhatIsNotPerJobIsRefusedInOneLine) {
  auto deadline = run_jr({"submit", "--socket", socket(), "--deadline", "+1h", "--", "true"}, dir.path());
  EXPECT_EQ(deadline.exit_code, 2);
  EXPECT_NE(deadline.err.find("--deadline is the engine's, not a job's"), std::string::npos) << deadline.err;
  EXPECT_EQ(std::count(deadline.err.begin(), deadline.err.end(), '\n'), 1);
  auto action = run_jr({"submit", "--socket", socket(), "--stall-action", "shout", "--", "true"}, dir.path());
  EXPECT_EQ(action.exit_code, 2);
  EXPECT_EQ(action.err, "jr submit: --stall-action must be report or kill\n");
}

}  // namespace
}  // namespace jr::test
