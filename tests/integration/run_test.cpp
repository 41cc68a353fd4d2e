// jr run, driven as a user drives it: the real binary on a temporary state directory.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

std::map<std::string, int> count_lines(const std::filesystem::path& file) {
  std::map<std::string, int> counts;
  for (auto& line : read_lines(file)) ++counts[line];
  return counts;
}

TEST(RunTest, TwoHundredTasksEachRunOnceWithOutputInTheirLog) {
  TempDir dir;
  // Odd inputs write to stdout, even ones write nothing: a log that stayed empty is handed to
  // the slot's next task (engine/task_logs.h), which must never show up in another's log.
  auto out = run_jr(cat({"run", "-j", "4", "--", "sh", "-c",
                         "[ $(($1 % 2)) = 1 ] && echo out-$1; echo $1 >> runs.txt", "sh", "{}", ":::"},
                        seq(1, 200)),
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto runs = count_lines(dir / "runs.txt");
  ASSERT_EQ(runs.size(), 200u);
  for (auto& [input, n] : runs) EXPECT_EQ(n, 1) << input;
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 200);
  for (auto id : query_ints(db, "SELECT id FROM tasks")) {
    auto idx = query_int(db, "SELECT idx FROM tasks WHERE id = " + std::to_string(id));
    auto log = dir / (".jr/logs/" + std::to_string(id) + ".out");
    if ((idx + 1) % 2 == 1) {
      EXPECT_EQ(read_file(log), "out-" + std::to_string(idx + 1) + "\n");
    } else {
      EXPECT_FALSE(std::filesystem::exists(log)) << log << ": " << read_file(log);
    }
    EXPECT_FALSE(std::filesystem::exists(dir / (".jr/logs/" + std::to_string(id) + ".err")));
  }
}

TEST(RunTest, KillNineMidJobThenResumeRerunsNothingThatSucceeded) {
  TempDir dir;
  // Each task records that it started, works a little, then succeeds.
  auto args = cat({"run", "-j", "4", "--", "sh", "-c", "echo $1 >> runs.txt; sleep 0.02", "sh", "{}", ":::"}, seq(1, 300));
  auto db = dir / ".jr/jr.db";
  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] {
    return query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") >= 40 || !process_alive(pid);
  }));
  ASSERT_TRUE(process_alive(pid)) << "jr exited early: " << read_file(dir / "jr-bg.err");
  kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit(pid), 128 + SIGKILL);
  auto succeeded_before = query_ints(db, "SELECT idx + 1 FROM tasks WHERE state = 2");
  ASSERT_GE(succeeded_before.size(), 40u);
  ASSERT_LT(succeeded_before.size(), 300u);

  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("already succeeded (skipped)"), std::string::npos) << out.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 300);
  auto runs = count_lines(dir / "runs.txt");
  EXPECT_EQ(runs.size(), 300u);
  for (auto idx : succeeded_before) EXPECT_EQ(runs[std::to_string(idx)], 1) << "task " << idx << " ran again";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM engine_runs"), 2);
  EXPECT_EQ(query_text(db, "PRAGMA integrity_check"), "ok");
}

TEST(RunTest, FailingTaskIsRetriedThenReported) {
  TempDir dir;
  auto out = run_jr({"run", "--retries", "2", "--", "sh", "-c", "echo try >> tries.txt; echo no >&2; exit 3"}, dir.path());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(read_lines(dir / "tries.txt").size(), 3u);
  EXPECT_NE(out.err.find("1 of 1 task failed"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("exit 3"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("/logs/1.err"), std::string::npos) << out.err;
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_int(db, "SELECT attempts FROM tasks"), 3);
  EXPECT_EQ(query_int(db, "SELECT exit_code FROM tasks"), 3);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE exit_code = 3"), 3);
}

TEST(RunTest, FailedTasksRerunOnlyWithRetryFailed) {
  TempDir dir;
  std::vector<std::string> args = {"run", "--", "sh", "-c", "echo x >> tries.txt; test -e ok"};
  EXPECT_EQ(run_jr(args, dir.path()).exit_code, 1);
  EXPECT_EQ(run_jr(args, dir.path()).exit_code, 1);
  EXPECT_EQ(read_lines(dir / "tries.txt").size(), 1u);
  write_file(dir / "ok", "");
  args.insert(args.begin() + 1, "--retry-failed");
  EXPECT_EQ(run_jr(args, dir.path()).exit_code, 0);
  EXPECT_EQ(read_lines(dir / "tries.txt").size(), 2u);
}

TEST(RunTest, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  auto out = run_jr({"run", "--timeout", "300ms", "--grace", "200ms", "--", "sh", "-c",
                     "sleep 1000 & echo $! > child.pid; wait"},
                    dir.path());
  EXPECT_EQ(out.exit_code, 1) << out.err;
  auto pid = std::stoi(read_file(dir / "child.pid"));
  EXPECT_TRUE(wait_for([&] { return !process_alive(pid); }));
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_int(db, "SELECT signal FROM tasks"), SIGTERM);
  EXPECT_EQ(query_text(db, "SELECT detail FROM attempts"),
            "timed out after 300ms (stopped by SIGTERM within the 200ms grace)");
}

TEST(RunTest, SigtermInterruptsAndTheNextRunFinishes) {
  TempDir dir;
  auto db = dir / ".jr/jr.db";
  auto args = cat({"run", "-j", "2", "--grace", "5s", "--", "sh", "-c",
                   "echo $1 >> runs.txt; test -e go || exec sleep 1000", "sh", "{}", ":::"},
                  seq(1, 4));
  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] { return read_lines(dir / "runs.txt").size() == 2; }));
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 143);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 4"), 2);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 0"), 2);
  EXPECT_NE(read_file(dir / "jr-bg.err").find("run the same command again to resume"), std::string::npos);

  write_file(dir / "go", "");
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("2 interrupted (resumed)"), std::string::npos) << out.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 4);
  EXPECT_EQ(query_int(db, "SELECT max(attempts) FROM tasks"), 2);
}

// A resumed run takes this run's -j, not the first run's (a requeued Slurm job may land on a
// bigger allocation): tasks a and b each wait for the other to start, which -j 1 never allows
// (each then times out and jr exits 1).
TEST(RunTest, AResumedRunTakesTheNewParallelism) {
  TempDir dir;
  std::string task = "[ $1 = x ] && exit 0; touch started-$1; while [ ! -e started-a ] || [ ! -e started-b ]; do :; done";
  auto first = run_jr({"run", "-j", "1", "--", "sh", "-c", task, "sh", "{}", ":::", "x"}, dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = run_jr({"run", "-j", "2", "--timeout", "120s", "--", "sh", "-c", task, "sh", "{}", ":::", "x", "a", "b"}, dir.path());
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("resuming"), std::string::npos) << second.err;
}

// A resumed task takes this run's --retries (and its other limits), not its first run's.
TEST(RunTest, AResumedTaskTakesTheNewRetries) {
  TempDir dir;
  std::vector<std::string> cmd = {"--", "sh", "-c", "[ $JR_ATTEMPT -ge 3 ]"};
  auto first = run_jr(cat({"run", "--retries", "0"}, cmd), dir.path());
  ASSERT_EQ(first.exit_code, 1) << first.err;
  auto second = run_jr(cat({"run", "--retry-failed", "--retries", "2"}, cmd), dir.path());
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(query_int(dir / ".jr/jr.db", "SELECT attempts FROM tasks"), 3);
}

TEST(RunTest, SigintExits130) {
  TempDir dir;
  pid_t pid = start_jr({"run", "--", "sleep", "1000"}, dir.path());
  auto db = dir / ".jr/jr.db";
  ASSERT_TRUE(wait_for([&] { return query_int(db, "SELECT count(*) FROM tasks WHERE state = 1 AND pid > 0") == 1; }));
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  EXPECT_EQ(query_int(db, "SELECT state FROM tasks"), 4);
}

TEST(RunTest, SecondEngineOnTheSameStateIsRefused) {
  TempDir dir;
  pid_t pid = start_jr({"run", "--", "sleep", "1000"}, dir.path());
  auto db = dir / ".jr/jr.db";
  ASSERT_TRUE(wait_for([&] { return query_int(db, "SELECT count(*) FROM tasks WHERE state = 1") == 1; }));
  auto out = run_jr({"run", "--", "sleep", "1000"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("another jr engine (pid " + std::to_string(pid) + ") is using"), std::string::npos) << out.err;
  kill(pid, SIGKILL);
  wait_exit(pid);
}

TEST(RunTest, LeftoverOfAKilledEngineIsKilledBeforeTheTaskRunsAgain) {
  TempDir dir;
  auto db = dir / ".jr/jr.db";
  // The first attempt leaves a grandchild behind; the second must find it already dead. Without
  // a keeper: the killed engine's task is killed, not adopted (adopt_test.cpp).
  std::vector<std::string> args = {"run", "--no-adopt", "--", "sh", "-c",
                                   // A zombie counts as gone: it runs no code.
                                   "if [ -e first.pid ]; then case $(ps -o stat= -p $(cat first.pid)) in ''|Z*) exit 0;; esac; exit 9; fi;"
                                   "sleep 1000 & echo $! > first.pid; wait"};
  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "first.pid") && read_file(dir / "first.pid").size() > 1; }));
  kill(pid, SIGKILL);
  wait_exit(pid);
  auto leftover = std::stoi(read_file(dir / "first.pid"));
  ASSERT_TRUE(process_alive(leftover));
  auto out = run_jr(args, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(process_alive(leftover));
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE detail = 'engine died'"), 1);
}

TEST(RunTest, JoblogHasGnuParallelsFormat) {
  TempDir dir;
  auto out = run_jr({"run", "-j", "1", "--joblog", "log.tsv", "--", "sh", "-c", "exit $1", "sh", ":::", "0", "4"}, dir.path());
  EXPECT_EQ(out.exit_code, 1);
  auto lines = read_lines(dir / "log.tsv");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand");
  // The Command column is shell-quoted: pasted into a shell, it runs the same task.
  EXPECT_NE(lines[1].find("\t0\t0\tsh -c 'exit $1' sh 0"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("2\t:\t", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("\t4\t0\tsh -c 'exit $1' sh 4"), std::string::npos) << lines[2];
}

TEST(RunTest, TasksFileRunsOneShellLineEach) {
  TempDir dir;
  write_file(dir / "tasks.txt", "echo a > a.txt\n# a comment\n\necho b | tr b c > b.txt\n");
  auto out = run_jr({"run", "--tasks", "tasks.txt"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "a.txt"), "a\n");
  EXPECT_EQ(read_file(dir / "b.txt"), "c\n");
}

TEST(RunTest, TaskEnvironmentCarriesItsIdentity) {
  TempDir dir;
  auto out = run_jr({"run", "--shell", "--", "echo $JR_TASK_INDEX $JR_ATTEMPT $JR_SLOT ${JR_RUN:+run} > env-{}.txt", ":::", "a"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "env-a.txt"), "0 1 1 run\n");
}

TEST(RunTest, ADifferentCommandOnTheSameStateIsRefusedUnlessFresh) {
  TempDir dir;
  ASSERT_EQ(run_jr({"run", "true"}, dir.path()).exit_code, 0);
  auto out = run_jr({"run", "false"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("--fresh"), std::string::npos);
  EXPECT_EQ(run_jr({"run", "--fresh", "echo"}, dir.path()).exit_code, 0);
}

struct BadInput {
  std::vector<std::string> args;
  std::string message;
};

TEST(RunTest, BadInputGivesOneLineAndExit2AndNoState) {
  TempDir dir;
  write_file(dir / "ro", "a regular file, so nothing can be created under it");
  std::vector<BadInput> cases = {
      {{"run", "--bogus", "echo"}, "--bogus"},
      {{"run", "echo", ":::"}, "':::' needs at least one argument"},
      {{"run"}, "no command given"},
      {{"run", "--"}, "no command given"},
      {{"run", "--tasks", "missing.txt"}, "cannot read tasks file missing.txt"},
      {{"run", "--state", "ro/state", "echo", ":::", "a"}, "cannot create state directory"},
      {{"run", "--timeout", "soon", "echo"}, "invalid duration 'soon'"},
      {{"run", "-j", "x", "echo"}, "-j"},
      {{"run", "--preempt-signal", "NOPE", "echo"}, "unknown signal"},
  };
  for (auto& c : cases) {
    auto out = run_jr(c.args, dir.path());
    EXPECT_EQ(out.exit_code, 2) << c.args.back();
    EXPECT_NE(out.err.find(c.message), std::string::npos) << out.err;
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
    EXPECT_FALSE(std::filesystem::exists(dir / ".jr")) << "no partial job for " << c.message;
  }
}

TEST(RunTest, VersionFlagsNameTheRelease) {
  TempDir dir;
  auto jr = run_jr({"--version"}, dir.path());
  EXPECT_EQ(jr.exit_code, 0) << jr.err;
  EXPECT_EQ(jr.out, "jr " JR_VERSION "\n");
  std::string jrd;
  if (FILE* p = ::popen(JRD_BIN " --version", "r")) {
    char buf[128];
    while (std::fgets(buf, sizeof buf, p)) jrd += buf;
    EXPECT_EQ(::pclose(p), 0);
  }
  EXPECT_EQ(jrd, "jrd " JR_VERSION "\n");
}

}  // namespace
}  // namespace jr::test
