// Containment (issue 15): a task's descendant that leaves its process group and drops JR_RUN
// (`setsid env -i …`) still ends with the task, under a cgroup and under the subreaper fallback;
// after a kill -9 of jr run it is gone before attempt 2 starts (cgroup); a copy of a state
// directory never signals the original's tasks.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/containment.h"
#include "tests/integration/harness.h"

namespace jr::test {
namespace {

// Sets JR_CONTAINMENT for the jr processes this test starts, and unsets it after.
class ContainmentEnv {
 public:
  explicit ContainmentEnv(const std::string& kind) { ::setenv("JR_CONTAINMENT", kind.c_str(), 1); }
  ~ContainmentEnv() { ::unsetenv("JR_CONTAINMENT"); }
};

// Whether this machine lets jr make a cgroup (root on a cgroup2 mount with cgroup.kill).
bool cgroup_available(const TempDir& dir) {
  ContainmentEnv env("cgroup");
  return run_jr({"run", "--state", (dir / "probe").string(), "--", "true"}, dir.path()).exit_code == 0;
}

// A task that starts `setsid env -i sh -c 'echo $$ > PIDFILE; exec sleep 1000'`, waits until it
// has written its pid, then exits (or, with `then`, runs `then`).
std::string escaping_task(const std::filesystem::path& pid_file, const std::string& then = "exit 0") {
  return "setsid env -i sh -c 'echo $$ > " + pid_file.string() + ".tmp; mv " + pid_file.string() + ".tmp " +
         pid_file.string() + "; exec sleep 1000' & while [ ! -s " + pid_file.string() + " ]; do :; done; " + then;
}

pid_t read_pid(const std::filesystem::path& file) { return static_cast<pid_t>(std::atoi(read_file(file).c_str())); }

class EscapedDescendant : public ::testing::TestWithParam<std::string> {};

// Task 0 leaves an escaped descendant and ends; task 1, which starts after it in the same slot
// while the engine still runs, waits until that descendant no longer runs (a zombie runs
// nothing) and succeeds. Where containment fails, task 1 times out and jr exits 1.
TEST_P(EscapedDescendant, DiesWithItsTask) {
  TempDir dir;
  if (GetParam() == "cgroup" && !cgroup_available(dir)) GTEST_SKIP() << "no cgroup can be made here (needs root and cgroup2)";
  ContainmentEnv env(GetParam());
  auto pid_file = dir / "desc.pid";
  std::string wait_gone = "p=$(cat " + pid_file.string() + "); "
                          "while s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null) && [ \"$s\" != Z ]; do :; done";
  std::string task = "if [ {} = 0 ]; then " + escaping_task(pid_file) + "; else " + wait_gone + "; fi";
  auto out = run_jr({"run", "-j", "1", "--timeout", "120s", "--", "sh", "-c", task, ":::", "0", "1"}, dir.path());
  EXPECT_EQ(out.exit_code, 0) << "the escaped descendant outlived its task: " << out.err;
  pid_t desc = read_pid(pid_file);
  ASSERT_GT(desc, 0);
  EXPECT_FALSE(process_alive(desc));
}

INSTANTIATE_TEST_SUITE_P(Containment, EscapedDescendant, ::testing::Values("cgroup", "subreaper"));

TEST(ContainmentTest, PingAndExplainNameTheContainment) {
  TempDir dir;
  bool cgroup = cgroup_available(dir);
  auto out = run_jr({"run", "--explain", "--", "true"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find(cgroup ? "containment: cgroup" : "containment: subreaper"), std::string::npos) << out.out;
  ContainmentEnv env("subreaper");
  out = run_jr({"run", "--explain", "--", "true"}, dir.path());
  EXPECT_NE(out.out.find("containment: subreaper"), std::string::npos) << out.out;
}

TEST(ContainmentTest, AfterKillNineTheEscapedDescendantIsGoneBeforeAttemptTwo) {
  TempDir dir;
  if (!cgroup_available(dir)) GTEST_SKIP() << "no cgroup can be made here (needs root and cgroup2)";
  ContainmentEnv env("cgroup");
  // Attempt 1 leaves an escaped descendant and runs on; attempt 2 records whether that
  // descendant still runs (a zombie no longer runs anything).
  auto pid_file = dir / "desc.pid";
  std::string attempt2 = "p=$(cat " + pid_file.string() + "); s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); "
                         "if [ -n \"$s\" ] && [ \"$s\" != Z ]; then echo alive > " + (dir / "seen").string() +
                         "; else echo gone > " + (dir / "seen").string() + "; fi";
  std::string task = "if [ \"$JR_ATTEMPT\" = 1 ]; then " +
                     escaping_task(pid_file, "touch " + (dir / "running").string() + "; exec sleep 1000") +
                     "; else " + attempt2 + "; fi";
  // Without a keeper: the killed engine's task is killed, not adopted (adopt_test.cpp).
  std::vector<std::string> args = {"run", "--no-adopt", "--", "sh", "-c", task};
  pid_t jr = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "running"); })) << read_file(dir / "jr-bg.err");
  ::kill(jr, SIGKILL);
  wait_exit(jr);
  pid_t desc = read_pid(pid_file);
  ASSERT_TRUE(process_alive(desc)) << "the descendant should have outlived the killed engine";
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "seen"), "gone\n");
  EXPECT_FALSE(process_alive(desc));
}

TEST(ContainmentTest, ACopiedStateDirectoryNeverSignalsTheOriginalsTasks) {
  TempDir dir;
  // A's task writes its pid and runs on; B's (the copy's) ends at once.
  auto a = dir / "A";
  auto b = dir / "B";
  std::string task = "if [ \"$JR_STATE_DIR\" = " + a.string() + " ]; then echo $$ > " + (dir / "a.pid").string() +
                     ".tmp; mv " + (dir / "a.pid").string() + ".tmp " + (dir / "a.pid").string() + "; exec sleep 1000; fi";
  std::vector<std::string> cmd = {"--", "sh", "-c", task};
  auto with_state = [&](const std::filesystem::path& state) {
    std::vector<std::string> args = {"run", "--state", state.string()};
    args.insert(args.end(), cmd.begin(), cmd.end());
    return args;
  };
  pid_t jr_a = start_jr(with_state(a), dir.path(), "jr-a");
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "a.pid"); })) << read_file(dir / "jr-a.err");
  pid_t task_a = read_pid(dir / "a.pid");
  // As a user would copy it: cp copies the socket too, which std::filesystem::copy refuses.
  ASSERT_EQ(std::system(("cp -r " + a.string() + " " + b.string()).c_str()), 0);
  auto out = run_jr(with_state(b), dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(process_alive(task_a)) << "the copy's engine killed the original's task";
  EXPECT_NE(query_text(a / "jr.db", "SELECT value FROM meta WHERE key = 'state_id'"),
            query_text(b / "jr.db", "SELECT value FROM meta WHERE key = 'state_id'"))
      << "a copy keeps its original's JR_RUN tokens";
  ::kill(jr_a, SIGTERM);
  EXPECT_EQ(wait_exit(jr_a), 143) << read_file(dir / "jr-a.err");
}

// Under a cgroup, a task's CPU time counts what a descendant that escaped it used: the task
// starts a double-forked, setsid descendant that burns a fixed amount of CPU, writes what its
// own /proc stat says it used, and wakes the task through a FIFO. The task's first process
// never waits for that descendant, so its rusage does not hold that time; the slot group does.
TEST(ContainmentTest, ATasksCpuTimeCountsItsEscapedDescendant) {
  TempDir dir;
  if (!cgroup_available(dir)) GTEST_SKIP() << "no cgroup can be made here (needs root and cgroup2)";
  ContainmentEnv env("cgroup");
  auto fifo = (dir / "woken").string();
  auto used = (dir / "used").string();
  // Fields 14 and 15 of /proc/PID/stat: user and system time in clock ticks.
  write_file(dir / "burner.sh", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done\n"
                                "cut -d' ' -f14,15 /proc/$$/stat > " + used + "\n"
                                "echo done > " + fifo + "\n");
  std::string task = "mkfifo " + fifo + "; sh -c 'setsid sh " + (dir / "burner.sh").string() + " &'; read x < " + fifo;
  auto out = run_jr({"run", "--", "sh", "-c", task}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::istringstream ticks(read_file(used));
  std::int64_t utime = 0, stime = 0;
  ASSERT_TRUE(ticks >> utime >> stime) << "the descendant did not say what it used";
  std::int64_t burned_ms = (utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK);
  ASSERT_GT(burned_ms, 20) << "the descendant burned too little CPU to tell";
  std::int64_t recorded_ms = query_int(dir / ".jr" / "jr.db", "SELECT utime_ms + stime_ms FROM attempts");
  // A tick of rounding on each of the two /proc fields.
  EXPECT_GE(recorded_ms, burned_ms - 2 * 1000 / ::sysconf(_SC_CLK_TCK))
      << "the task's CPU time leaves out its escaped descendant's " << burned_ms << " ms";
}

// The pid of a process that has ended and been reaped.
pid_t gone_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

// An engine killed with kill -9 and never resumed leaves its group behind. The next engine to
// start in the same cgroup removes such a group once it is empty, and never one that still
// holds a process: that is an orphaned task, which only its own store's recovery may kill.
TEST(ContainmentTest, AnAbandonedEmptyGroupIsRemovedAndAPopulatedOneKept) {
  TempDir dir;
  if (!cgroup_available(dir)) GTEST_SKIP() << "no cgroup can be made here (needs root and cgroup2)";
  std::string base = own_cgroup();  // the engines this test starts are made in this group too
  ASSERT_FALSE(base.empty());
  std::string empty = base + "/jr-abandoned0000-" + std::to_string(gone_pid());
  std::string held = base + "/jr-abandoned0001-" + std::to_string(gone_pid());
  ASSERT_EQ(::mkdir(empty.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((empty + "/slot-1").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(held.c_str(), 0755), 0);
  pid_t orphan = ::fork();
  if (orphan == 0) {
    ::pause();
    ::_exit(0);
  }
  write_file(held + "/cgroup.procs", std::to_string(orphan));
  auto out = run_jr({"run", "--", "true"}, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(std::filesystem::exists(empty)) << "the abandoned empty group is still there";
  EXPECT_TRUE(std::filesystem::exists(held)) << "a group that holds a process was removed";
  EXPECT_TRUE(process_alive(orphan)) << "another store's orphaned task was killed";
  EXPECT_TRUE(kill_group_tree(held, 60'000).ok());
  ::waitpid(orphan, nullptr, 0);
}

}  // namespace
}  // namespace jr::test
