// What jr run prints of its tasks' output (issue 16): grouped per task by default, in input
// order with -k, a line at a time with --line-buffer, tagged with --tag, nothing with -q; a
// resumed run prints only what it ran; jr logs --state DIR prints what ran, in input order.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Each task writes two lines to stdout, a moment apart, and one to stderr.
std::vector<std::string> two_lines(const std::vector<std::string>& extra_flags, int tasks) {
  std::vector<std::string> args = {"run", "-j", "4"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  args.insert(args.end(), {"--shell", "--", "echo {} a; sleep 0.0{}; echo {} b; echo err {} >&2", ":::"});
  auto inputs = seq(1, tasks);
  args.insert(args.end(), inputs.begin(), inputs.end());
  return args;
}

TEST(OutputTest, EachTasksOutputIsPrintedWholeAsItEnds) {
  TempDir dir;
  auto out = run_jr(two_lines({}, 9), dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto lines = lines_of(out.out);
  ASSERT_EQ(lines.size(), 18u) << out.out;
  // Grouped: a task's second line follows its first, whatever ran beside it.
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    auto input = lines[i].substr(0, lines[i].find(' '));
    EXPECT_EQ(lines[i], input + " a") << out.out;
    EXPECT_EQ(lines[i + 1], input + " b") << out.out;
  }
  auto err = lines_of(out.err);
  for (int i = 1; i <= 9; ++i) {
    EXPECT_EQ(std::count(err.begin(), err.end(), "err " + std::to_string(i)), 1) << out.err;
  }
  // The logs are kept all the same.
  auto logs = run_jr({"logs"}, dir.path());
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(lines_of(logs.out).size(), 18u) << logs.out;
}

TEST(OutputTest, IdenticalInputsAreThreeTasksAndThreeOutputs) {
  TempDir dir;
  auto out = run_jr({"run", "--", "echo", "hi", ":::", "1", "1", "1"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "hi 1\nhi 1\nhi 1\n");
  EXPECT_NE(out.err.find("3 tasks succeeded"), std::string::npos) << out.err;
}

TEST(OutputTest, KeepOrderPrintsInInputOrderWhateverOrderTasksEnd) {
  TempDir dir;
  // Later inputs end first: each task waits for the next one's output to exist.
  auto out = run_jr({"run", "-k", "-j", "5", "--shell", "--",
                     "[ {} = 5 ] || while [ ! -e done{} ]; do sleep 0.01; done; echo {}; touch done$(({} - 1))",
                     ":::", "1", "2", "3", "4", "5"},
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "1\n2\n3\n4\n5\n");
}

TEST(OutputTest, TagPutsTheArgumentsAndATabBeforeEachLine) {
  TempDir dir;
  auto out = run_jr({"run", "--tag", "--", "echo", ":::", "a", "b", ":::", "1", "2"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(sorted(lines_of(out.out)), (std::vector<std::string>{"a 1\ta 1", "a 2\ta 2", "b 1\tb 1", "b 2\tb 2"}));
  auto more = run_jr({"run", "--state", "s2", "--tag", "--shell", "--", "printf 'x\\ny\\n'; echo e >&2; : {}", ":::", "t"},
                     dir.path());
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_EQ(more.out, "t\tx\nt\ty\n");
  EXPECT_EQ(lines_of(more.err).front(), "t\te");
}

TEST(OutputTest, QuietPrintsNothingAndKeepsTheLogs) {
  TempDir dir;
  auto out = run_jr({"run", "-q", "--", "echo", ":::", "x", "y"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "");
  auto logs = run_jr({"logs", "--state", ".jr"}, dir.path());
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "x\ny\n");
}

TEST(OutputTest, LineBufferPrintsALineBeforeItsTaskEnds) {
  TempDir dir;
  pid_t pid = start_jr({"run", "--line-buffer", "--tag", "--shell", "--",
                        "echo first; while [ ! -e go ]; do sleep 0.01; done; printf 'second\\nthird'", ":::", "t"},
                       dir.path());
  // The task cannot end before `go` exists: the first line was printed while it ran.
  ASSERT_TRUE(wait_for([&] { return read_file(dir / "jr-bg.out") == "t\tfirst\n"; })) << read_file(dir / "jr-bg.out");
  write_file(dir / "go", "");
  ASSERT_EQ(wait_exit(pid), 0) << read_file(dir / "jr-bg.err");
  EXPECT_EQ(read_file(dir / "jr-bg.out"), "t\tfirst\nt\tsecond\nt\tthird");
}

TEST(OutputTest, KeepOrderWithLineBufferFollowsTheFirstTaskLive) {
  TempDir dir;
  // Task 2 ends at once; task 1 prints a line, then waits: its line is printed while it runs,
  // task 2's only after task 1 has ended.
  pid_t pid = start_jr({"run", "-k", "--line-buffer", "-j", "2", "--shell", "--",
                        "echo start {}; [ {} = 2 ] || while [ ! -e go ]; do sleep 0.01; done; echo end {}",
                        ":::", "1", "2"},
                       dir.path());
  auto db = dir / ".jr/jr.db";
  ASSERT_TRUE(wait_for([&] {
    return read_file(dir / "jr-bg.out") == "start 1\n" && query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") == 1;
  })) << read_file(dir / "jr-bg.out");
  write_file(dir / "go", "");
  ASSERT_EQ(wait_exit(pid), 0) << read_file(dir / "jr-bg.err");
  EXPECT_EQ(read_file(dir / "jr-bg.out"), "start 1\nend 1\nstart 2\nend 2\n");
}

TEST(OutputTest, ARetriedTaskIsPrintedOnceWithEveryAttempt) {
  TempDir dir;
  auto out = run_jr({"run", "--retries", "1", "--shell", "--", "echo try $JR_ATTEMPT {}; [ $JR_ATTEMPT = 2 ]", ":::", "x"},
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "try 1 x\ntry 2 x\n");
}

TEST(OutputTest, AResumedRunPrintsOnlyWhatItRan) {
  TempDir dir;
  auto db = dir / ".jr/jr.db";
  // Task 3's first attempt writes a line and waits to be stopped; its second one finishes.
  auto args = std::vector<std::string>{"run", "-j", "4", "--grace", "5s", "--shell", "--",
                                       "echo task {} attempt $JR_ATTEMPT; [ {} = 3 ] && [ $JR_ATTEMPT = 1 ] && exec sleep 1000; true",
                                       ":::", "1", "2", "3"};
  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] {
    auto id = query_int(db, "SELECT id FROM tasks WHERE idx = 2");
    return query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") == 2 &&
           read_file(dir / (".jr/logs/" + std::to_string(id) + ".out")) == "task 3 attempt 1\n";
  }));
  kill(pid, SIGTERM);
  ASSERT_EQ(wait_exit(pid), 143);
  EXPECT_EQ(sorted(read_lines(dir / "jr-bg.out")),
            (std::vector<std::string>{"task 1 attempt 1", "task 2 attempt 1", "task 3 attempt 1"}));
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "task 3 attempt 2\n");
  // jr logs prints what ran, every attempt, in input order.
  auto logs = run_jr({"logs"}, dir.path());
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "task 1 attempt 1\ntask 2 attempt 1\ntask 3 attempt 1\ntask 3 attempt 2\n");
}

TEST(OutputTest, LogsWithoutATaskPrintsEachStreamInInputOrder) {
  TempDir dir;
  auto out = run_jr({"run", "-q", "-j", "3", "--state", "st", "--shell", "--", "echo out {}; echo err {} >&2",
                     ":::", "c", "a", "b"},
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto logs = run_jr({"logs", "--state", "st"}, dir.path());
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "out c\nout a\nout b\n");
  EXPECT_EQ(logs.err, "err c\nerr a\nerr b\n");
}

}  // namespace
}  // namespace jr::test
