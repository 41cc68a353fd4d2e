// Tasks matched by identity across runs (issue 8), what --explain predicts (issue 9), atomic
// declared outputs and --on-finish, each checked after a kill -9 of the engine mid-run.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

// Each task appends its input to runs.txt, then works a little.
std::vector<std::string> job(const std::vector<std::string>& inputs) {
  // Without a keeper, so that a kill -9 interrupts the tasks (adopt_test.cpp: with one).
  std::vector<std::string> v = {"run", "--no-adopt", "-j", "3", "--", "sh", "-c", "echo $1 >> runs.txt; sleep 0.05", "sh", ":::"};
  v.insert(v.end(), inputs.begin(), inputs.end());
  return v;
}

std::vector<std::string> names(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i <= to; ++i) v.push_back("in" + std::to_string(i));
  return v;
}

std::map<std::string, int> runs(const TempDir& dir) {
  std::map<std::string, int> m;
  for (auto& l : read_lines(dir / "runs.txt")) ++m[l];
  return m;
}

// Live processes whose environment names `state_dir` as JR_STATE_DIR: the tasks of an engine.
std::vector<pid_t> tasks_of(const std::filesystem::path& state_dir) {
  std::vector<pid_t> out;
  std::string want = std::string(1, '\0') + "JR_STATE_DIR=" + state_dir.string() + '\0';
  for (auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
    std::string env = '\0' + read_file(entry.path() / "environ");  // each variable ends in NUL
    if (pid > 0 && env.find(want) != std::string::npos && process_alive(pid)) out.push_back(pid);
  }
  return out;
}

// Starts `args` and kills the engine with SIGKILL once `succeeded` tasks have; returns once
// the tasks it leaves (they live on, as after any kill -9) have finished, so that what they
// append to runs.txt is written before anyone counts it.
void kill_mid_run(const TempDir& dir, const std::vector<std::string>& args, int succeeded) {
  auto db = dir / ".jr/jr.db";
  pid_t pid = start_jr(args, dir.path());
  EXPECT_TRUE(wait_for([&] {
    return query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") >= succeeded || !process_alive(pid);
  }));
  kill(pid, SIGKILL);
  wait_exit(pid);
  EXPECT_TRUE(wait_for([&] { return tasks_of(dir / ".jr").empty(); })) << "the killed engine's tasks never ended";
}

// What `jr run --explain --json` says of `inputs`: the inputs it would skip, and its summary.
std::pair<std::set<std::string>, nlohmann::json> explain(const TempDir& dir, const std::vector<std::string>& inputs) {
  auto args = job(inputs);
  args.insert(args.begin() + 1, {"--explain", "--json"});
  auto out = run_jr(args, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  auto plan = nlohmann::json::parse(out.out);
  std::set<std::string> skipped;
  for (auto& t : plan["tasks"]) {
    if (t["action"] == "skip") skipped.insert(t["argv"].back().get<std::string>());
  }
  return {skipped, plan["summary"]};
}

struct Case {
  const char* name;
  std::vector<std::string> first, second;
};

TEST(IdentityTest, ChangedInputsAfterAKillRunOnlyWhatIsNew) {
  std::vector<Case> cases = {
      {"add", names(1, 30), names(1, 40)},
      {"remove", names(1, 30), names(1, 20)},
      {"reorder", names(1, 30), [] { auto v = names(1, 30); std::reverse(v.begin(), v.end()); return v; }()},
      {"duplicate", names(1, 30), [] { auto v = names(1, 30); auto w = names(1, 10); v.insert(v.end(), w.begin(), w.end()); return v; }()},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    auto db = dir / ".jr/jr.db";
    kill_mid_run(dir, job(c.first), 8);
    auto [succeeded_before, unused] = explain(dir, c.first);
    ASSERT_GE(succeeded_before.size(), 8u);
    auto before = runs(dir);
    auto [skipped, s] = explain(dir, c.second);
    auto out = run_jr(job(c.second), dir.path());
    ASSERT_EQ(out.exit_code, 0) << out.err;
    auto after = runs(dir);
    std::map<std::string, int> asked;  // input -> its copies
    for (auto& in : c.second) ++asked[in];
    // Explain skips exactly what succeeded before and is still asked for; nothing skipped runs
    // again; everything else runs once, every copy; the counts explain gave are what ran.
    std::set<std::string> expect_skipped;
    for (auto& in : succeeded_before) {
      if (asked.count(in)) expect_skipped.insert(in);
    }
    EXPECT_EQ(skipped, expect_skipped);
    std::int64_t ran_now = 0;
    for (auto& [in, copies] : asked) {
      int again = after[in] - before[in];
      EXPECT_EQ(again, copies - static_cast<int>(skipped.count(in))) << in;
      ran_now += again;
    }
    EXPECT_EQ(ran_now, s["new"].get<int>() + s["resume"].get<int>() + s["run"].get<int>());
    if (c.name == std::string("remove")) {
      EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 6"), 10);
      EXPECT_EQ(s["dropped"].get<int>(), 10);
    }
    if (c.name == std::string("duplicate")) {  // the second copies are tasks of their own
      EXPECT_EQ(s["total"].get<int>(), 40);
      EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 40);
    }
    EXPECT_NE(out.err.find("already succeeded (skipped)"), std::string::npos) << out.err;
  }
}

// Identical inputs are tasks of their own (issue 16): with copies present, a kill -9 of the
// engine and a resume run every copy once, and none that succeeded again.
TEST(IdentityTest, CopiesOfOneInputEachRunOnceAcrossAKill) {
  TempDir dir;
  auto db = dir / ".jr/jr.db";
  std::vector<std::string> inputs;
  for (int i = 0; i < 30; ++i) inputs.push_back("in" + std::to_string(i % 4));
  std::vector<std::string> args = {"run", "--no-adopt", "-j", "3", "--", "sh", "-c", "echo $1 $JR_TASK_ID >> runs.txt; sleep 0.05",
                                   "sh", ":::"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  kill_mid_run(dir, args, 8);
  auto succeeded_before = query_ints(db, "SELECT id FROM tasks WHERE state = 2");
  ASSERT_GE(succeeded_before.size(), 8u);
  auto before = runs(dir);
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("resuming"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("30 tasks succeeded"), std::string::npos) << out.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 30);
  auto after = runs(dir);
  std::map<std::string, std::set<std::string>> tasks_of_input;
  for (auto& [line, n] : after) {
    auto space = line.find(' ');
    tasks_of_input[line.substr(0, space)].insert(line.substr(space + 1));
    std::int64_t task = std::stoll(line.substr(space + 1));
    bool skipped = std::count(succeeded_before.begin(), succeeded_before.end(), task) > 0;
    EXPECT_EQ(n - before[line], skipped ? 0 : 1) << line;
  }
  ASSERT_EQ(tasks_of_input.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(tasks_of_input["in" + std::to_string(i)].size(), i < 2 ? 8u : 7u) << i;
  }
}

TEST(OutputTest, DeclaredOutputsAreAlwaysCompleteEvenAcrossAKill) {
  TempDir dir;
  // 400 lines, written slowly: a partial file must never appear under the declared name.
  std::vector<std::string> args = {"run", "-j", "4", "--shell", "--output", "out/{}.txt", "--",
                                   "mkdir -p out; for i in $(seq 400); do echo line$i; [ $((i % 40)) = 0 ] && sleep 0.01; done > {out}",
                                   ":::"};
  for (int i = 0; i < 16; ++i) args.push_back("f" + std::to_string(i));
  std::atomic<bool> stop{false};
  std::atomic<int> incomplete{0}, checked{0};
  std::thread checker([&] {
    while (!stop) {
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(dir / "out", ec)) {
        auto name = e.path().filename().string();
        if (name[0] == '.') continue;  // a partial file, under its hidden name
        auto text = read_file(e.path());
        ++checked;
        if (text.size() < 8 || text.substr(text.size() - 8) != "line400\n") ++incomplete;
      }
    }
  });
  pid_t pid = start_jr(args, dir.path());
  auto db = dir / ".jr/jr.db";
  wait_for([&] { return query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") >= 6 || !process_alive(pid); });
  kill(pid, SIGKILL);
  wait_exit(pid);
  auto out = run_jr(args, dir.path());
  stop = true;
  checker.join();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(incomplete, 0) << "a declared output was seen incomplete";
  EXPECT_GT(checked, 0);
  for (int i = 0; i < 16; ++i) {
    auto text = read_file(dir / ("out/f" + std::to_string(i) + ".txt"));
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 400) << i;
  }
}

TEST(OutputTest, ExitZeroWithoutTheDeclaredOutputFails) {
  TempDir dir;
  auto out = run_jr({"run", "--output", "{}.out", "--", "sh", "-c", "test $1 = b || echo > $2", "sh", "{}", "{out}", ":::", "a", "b"}, dir.path());
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "a.out"));
  EXPECT_FALSE(std::filesystem::exists(dir / "b.out"));
  EXPECT_EQ(query_text(dir / ".jr/jr.db", "SELECT detail FROM attempts WHERE outcome = 3"),
            "declared output missing: " + (dir / "b.out").string());
}

// Issue 15: {out} inside an input is the input's text, never the output's path, and under
// --shell the value and the path are quoted together: nothing in an input runs.
TEST(OutputTest, OutInsideAnInputIsNeitherSubstitutedNorRunUnderShell) {
  TempDir dir;
  std::string input = "v{out}$(touch PWN)";
  auto out = run_jr({"run", "-q", "--shell", "--output", "{}.res", "--", "echo", "{}", ">", "{out}", ":::", input}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "PWN")) << "a command substitution in an input ran";
  EXPECT_EQ(read_file(dir / (input + ".res")), input + "\n");
}

TEST(OnFinishTest, RunsOnceWithTheJobsFiguresAndItsFailureChangesNothing) {
  TempDir dir;
  auto out = run_jr({"run", "--on-finish", "echo $JR_JOB_ID $JR_JOB_STATE $JR_SUCCEEDED $JR_FAILED $JR_TOTAL >> finished.txt; exit 5",
                     "--", "sh", "-c", "exit $1", "sh", ":::", "0", "00", "1"},
                    dir.path());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(read_file(dir / "finished.txt"), "1 failed 2 1 3\n");  // job 1: 2 succeeded, 1 failed of 3
  EXPECT_NE(out.err.find("--on-finish command failed (exit 5)"), std::string::npos) << out.err;
}

}  // namespace
}  // namespace jr::test
