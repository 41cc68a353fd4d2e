// Tasks outlive the engine (issue 17, engine/keeper.h). `jr run` killed with kill -9 while
// its tasks run, then started again, adopts them; so does a jrd started after a kill -9 or a
// SIGTERM of the last one (a restart). Every task starts exactly once, its recorded exit status
// is the real one (index % 4), and its log holds every line, whether the tasks end while the
// next engine watches them or while no engine runs at all (their exits then wait in the
// keeper's journal). When the keeper is killed too, the tasks end with the status the kernel
// tells the next engine (Linux 6.15's PIDFD_INFO_EXIT), or "exit status unknown", and never
// run again; after a reboot (another boot id) they are interrupted and run again.
// No timing: the tasks wait for a file the test writes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/proc.h"
#include "storage/types.h"
#include "tests/integration/harness.h"

namespace jr::test {
namespace {

constexpr int kTasks = 8;

// Each task notes its start and its pid, waits for `go`, prints 40 lines, and exits index % 4.
void write_task(const TempDir& dir) {
  write_file(dir / "task.sh",
             "#!/bin/sh\n"
             "echo \"$1\" >> starts\n"
             "echo $$ >> pids\n"
             "echo start \"$1\"\n"
             "while [ ! -e go ]; do sleep 0.02; done\n"
             "for i in $(seq 1 40); do echo \"$i\"; done\n"
             "exit $(($1 % 4))\n");
  ::chmod((dir / "task.sh").c_str(), 0755);
}

// Task `index`'s id in the store.
std::string task_id(const std::filesystem::path& db, int index) {
  return std::to_string(query_int(db, "SELECT id FROM tasks WHERE idx = " + std::to_string(index)));
}

// Every task started once, ran one attempt that ended with its real status, and logged all.
void expect_each_ran_once_with_its_status(const TempDir& dir, const std::filesystem::path& state) {
  std::map<std::string, int> starts;
  for (auto& line : read_lines(dir / "starts")) ++starts[line];
  auto db = state / "jr.db";
  for (int i = 0; i < kTasks; ++i) {
    std::string task = task_id(db, i);
    EXPECT_EQ(starts[std::to_string(i)], 1) << "task " << i << " started again";
    EXPECT_EQ(query_int(db, "SELECT attempts FROM tasks WHERE id = " + task), 1) << i;
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE task_id = " + task), 1) << i;
    EXPECT_EQ(query_int(db, "SELECT exit_code FROM attempts WHERE task_id = " + task), i % 4) << i;
    EXPECT_EQ(read_lines(state / ("logs/" + task + ".out")).size(), 41u) << i;
  }
  // Every exit is in the store: the keeper's journal holds none.
  EXPECT_EQ(read_file(state / "keeper.journal"), "");
}

// The keeper: the parent of the tasks (each wrote its pid).
pid_t keeper_of(const TempDir& dir) {
  auto pids = read_lines(dir / "pids");
  if (pids.empty()) return -1;
  auto stat = read_file("/proc/" + pids.front() + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  int ppid = -1;
  std::sscanf(stat.c_str() + paren + 2, "%*c %d", &ppid);
  return ppid;
}

class AdoptTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(put_jr_first_on_path());
    write_task(dir_);
    args_ = cat({"run", "-j", std::to_string(kTasks), "--", "./task.sh", ":::"}, seq(0, kTasks - 1));
  }

  // Starts jr run and kills it with kill -9 once every task runs.
  void run_and_kill() {
    pid_t first = start_jr(args_, dir_.path(), "first");
    ASSERT_TRUE(wait_for([&] { return read_lines(dir_ / "starts").size() == kTasks || !process_alive(first); }));
    ASSERT_TRUE(process_alive(first)) << read_file(dir_ / "first.err");
    ::kill(first, SIGKILL);
    wait_exit(first);
  }

  TempDir dir_;
  std::vector<std::string> args_;
};

TEST_P(AdoptTest, KillNineThenTheSameCommandAdoptsTheRunningTasks) {
  const bool end_while_no_engine = GetParam();
  ASSERT_NO_FATAL_FAILURE(run_and_kill());
  // While no engine runs, the views show the tasks running under the keeper, not interrupted.
  auto status = nlohmann::json::parse(run_jr({"status", "1", "--state", ".jr", "--json"}, dir_.path()).out, nullptr, false);
  EXPECT_EQ(status["counts"]["running"], kTasks) << status.dump();
  EXPECT_EQ(status["engine_gone"]["keeper"], true) << status.dump();
  EXPECT_NE(run_jr({"tasks", "1", "--state", ".jr"}, dir_.path()).out.find("its keeper runs it, the next engine adopts it"),
            std::string::npos);

  if (end_while_no_engine) {
    write_file(dir_ / "go", "");
    // The keeper reaps them with no engine to tell: each exit waits in its journal.
    ASSERT_TRUE(wait_for([&] { return read_lines(dir_ / ".jr/keeper.journal").size() == kTasks; }));
  }
  pid_t second = start_jr(args_, dir_.path(), "second");
  if (!end_while_no_engine) {
    ASSERT_TRUE(wait_for([&] {
      return read_file(dir_ / "second.err").find(std::to_string(kTasks) + " still running (adopted)") != std::string::npos ||
             !process_alive(second);
    })) << read_file(dir_ / "second.err");
    write_file(dir_ / "go", "");
  }
  EXPECT_EQ(wait_exit(second), 1) << read_file(dir_ / "second.err");  // tasks 1, 2, 3, 5, 6, 7 fail
  expect_each_ran_once_with_its_status(dir_, dir_ / ".jr");
  // The keeper is gone with its tasks and its engine, and took its files with it.
  EXPECT_FALSE(std::filesystem::exists(dir_ / ".jr/keeper.sock"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / ".jr/keeper.journal"));
}

INSTANTIATE_TEST_SUITE_P(Ending, AdoptTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WhileNoEngineRuns" : "UnderTheNextEngine"; });

// A declared output (--output) is renamed in the turn that records the end. An engine killed
// between the two leaves the file renamed and the exit unrecorded, but still in its keeper's
// journal: the next engine takes that exit again, and the renamed file counts as the output.
// (The engine's window is short; the test makes the same state by renaming the file itself
// while no engine runs.)
TEST(AdoptOutputs, AFileRenamedByAnEngineThatDiedBeforeRecordingTheEndCounts) {
  TempDir dir;
  write_file(dir / "out.sh",
             "#!/bin/sh\n"
             "echo \"$1\" >> starts\n"
             "while [ ! -e go ]; do sleep 0.02; done\n"
             "echo \"result $1\" > \"$2\"\n");
  ::chmod((dir / "out.sh").c_str(), 0755);
  std::vector<std::string> args = {"run", "-j", "2", "--output", "out-{}.txt", "--", "./out.sh", "{}", "{out}", ":::", "a", "b"};
  pid_t first = start_jr(args, dir.path(), "first");
  ASSERT_TRUE(wait_for([&] {
    return query_int(dir / ".jr/jr.db", "SELECT count(*) FROM tasks WHERE pid IS NOT NULL") == 2 || !process_alive(first);
  })) << read_file(dir / "first.err");
  ::kill(first, SIGKILL);
  wait_exit(first);
  write_file(dir / "go", "");
  ASSERT_TRUE(wait_for([&] { return read_lines(dir / ".jr/keeper.journal").size() == 2; }));
  // What the killed engine would have done with task a's exit before its commit.
  ASSERT_EQ(::rename((dir / ".out-a.txt.jr-partial").c_str(), (dir / "out-a.txt").c_str()), 0);

  auto second = run_jr(args, dir.path());
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(read_file(dir / "out-a.txt"), "result a\n");
  EXPECT_EQ(read_file(dir / "out-b.txt"), "result b\n");
  EXPECT_EQ(query_int(dir / ".jr/jr.db", "SELECT count(*) FROM tasks WHERE state = 2 AND attempts = 1"), 2);
  EXPECT_EQ(read_lines(dir / "starts").size(), 2u) << "a task ran again";
}

// Starts `args` (jr run) as `name` and waits until the store has every task's pid.
void start_until_recorded(const TempDir& dir, const std::vector<std::string>& args, const std::string& name, pid_t* engine) {
  *engine = start_jr(args, dir.path(), name);
  ASSERT_TRUE(wait_for([&] {
    return query_int(dir / ".jr/jr.db", "SELECT count(*) FROM tasks WHERE pid IS NOT NULL") == kTasks || !process_alive(*engine);
  })) << read_file(dir / (name + ".err"));
}

// Kills the keeper of `engine`'s tasks with kill -9 and waits until it is gone.
void kill_keeper(const TempDir& dir, pid_t engine) {
  pid_t keeper = keeper_of(dir);
  ASSERT_GT(keeper, 1);
  ASSERT_NE(keeper, engine);
  ::kill(keeper, SIGKILL);
  ASSERT_TRUE(wait_for([&] { return !process_alive(keeper); }));
}

// Starts `args` (jr run), and once the store has every task's pid, kills it and its keeper
// with kill -9: a task whose keeper and engine both die before its pid is recorded cannot be
// watched, and is killed and run again, as without a keeper.
void kill_engine_and_keeper(const TempDir& dir, const std::vector<std::string>& args) {
  pid_t first = 0;
  ASSERT_NO_FATAL_FAILURE(start_until_recorded(dir, args, "first", &first));
  ::kill(first, SIGKILL);
  wait_exit(first);
  ASSERT_NO_FATAL_FAILURE(kill_keeper(dir, first));
}

// The keeper is killed while its engine runs: the tasks, reparented to the engine (a
// subreaper), run on; the engine reaps them itself and records their real status.
TEST(KeeperKilledUnderItsEngine, TheTasksRunOnAndEndWithTheirRealStatus) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_task(dir);
  auto args = cat({"run", "-j", std::to_string(kTasks), "--", "./task.sh", ":::"}, seq(0, kTasks - 1));
  pid_t run = 0;
  ASSERT_NO_FATAL_FAILURE(start_until_recorded(dir, args, "run", &run));
  ASSERT_NO_FATAL_FAILURE(kill_keeper(dir, run));
  write_file(dir / "go", "");
  EXPECT_EQ(wait_exit(run), 1) << read_file(dir / "run.err");  // tasks 1, 2, 3, 5, 6, 7 fail
  expect_each_ran_once_with_its_status(dir, dir / ".jr");
}

// Whether this kernel tells whoever holds a pidfd how its process ended (PIDFD_INFO_EXIT,
// Linux 6.15): asked of a child of this test, as the engine asks of a task it watches.
bool kernel_reports_exits() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(5);
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  ::waitpid(child, nullptr, 0);
  if (fd < 0) return false;
  PidfdExit got = pidfd_exit(fd);
  ::close(fd);
  return got.status && WIFEXITED(*got.status) && WEXITSTATUS(*got.status) == 5;
}

// Gone from /proc: exited and reaped by whoever is its parent now.
bool reaped(const std::string& pid) { return !std::filesystem::exists("/proc/" + pid); }

// The engine and the keeper are killed; the tasks end under the next engine, which watches
// them (pidfd) and learns their real status where the kernel tells it, or while no engine
// runs, when nobody can know. An unknown end is failed and never run again; a known one is
// recorded as any other.
class AdoptAfterKeeperDeath : public ::testing::TestWithParam<bool> {};

TEST_P(AdoptAfterKeeperDeath, TasksEndWithTheStatusTheKernelToldOrUnknownAndNeverRunAgain) {
  const bool end_while_no_engine = GetParam();
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_task(dir);
  auto args = cat({"run", "-j", std::to_string(kTasks), "--", "./task.sh", ":::"}, seq(0, kTasks - 1));
  auto db = dir / ".jr/jr.db";
  ASSERT_NO_FATAL_FAILURE(kill_engine_and_keeper(dir, args));

  if (end_while_no_engine) {
    write_file(dir / "go", "");
    ASSERT_TRUE(wait_for([&] {
      auto pids = read_lines(dir / "pids");
      return std::all_of(pids.begin(), pids.end(), reaped);
    }));
  }
  pid_t second = start_jr(args, dir.path(), "second");
  if (!end_while_no_engine) {
    // The tasks are watched, not adopted: no keeper reaps them for the engine.
    ASSERT_TRUE(wait_for([&] { return read_file(dir / "second.err").find("still running") != std::string::npos || !process_alive(second); }))
        << read_file(dir / "second.err");
    write_file(dir / "go", "");
  }
  EXPECT_EQ(wait_exit(second), 1) << read_file(dir / "second.err");
  EXPECT_EQ(read_lines(dir / "starts").size(), static_cast<std::size_t>(kTasks)) << "a task ran again";
  const bool known = !end_while_no_engine && kernel_reports_exits();
  std::printf("keeper killed, tasks ended %s: exit statuses %s\n", end_while_no_engine ? "with no engine" : "under the next engine",
              known ? "told by the kernel" : "unknown");
  for (int i = 0; i < kTasks; ++i) {
    std::string task = task_id(db, i);
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE task_id = " + task), 1) << i;
    std::string detail = query_text(db, "SELECT detail FROM attempts WHERE task_id = " + task);
    if (known) {
      EXPECT_EQ(query_int(db, "SELECT exit_code FROM attempts WHERE task_id = " + task), i % 4) << i;
      auto state = i % 4 == 0 ? TaskState::Succeeded : TaskState::Failed;
      EXPECT_EQ(query_int(db, "SELECT state FROM tasks WHERE id = " + task), static_cast<int>(state)) << i;
      EXPECT_EQ(detail.find("exit status unknown"), std::string::npos) << i << ": " << detail;
    } else {
      EXPECT_EQ(query_int(db, "SELECT state FROM tasks WHERE id = " + task), static_cast<int>(TaskState::Failed)) << i;
      EXPECT_NE(detail.find("exit status unknown"), std::string::npos) << i << ": " << detail;
    }
  }
  // And the same command once more runs nothing: an unknown end is not retried silently.
  auto third = run_jr(args, dir.path());
  EXPECT_EQ(third.exit_code, 1) << third.err;
  EXPECT_EQ(read_lines(dir / "starts").size(), static_cast<std::size_t>(kTasks)) << "a task ran again";
}

INSTANTIATE_TEST_SUITE_P(Ending, AdoptAfterKeeperDeath, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WhileNoEngineRuns" : "UnderTheNextEngine"; });

TEST(AdoptAfterReboot, TasksAreInterruptedAndRunAgain) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_task(dir);
  auto args = cat({"run", "-j", std::to_string(kTasks), "--", "./task.sh", ":::"}, seq(0, kTasks - 1));
  // A reboot kills everything and leaves the keeper's files behind; the store's place then
  // names another boot.
  ASSERT_NO_FATAL_FAILURE(kill_engine_and_keeper(dir, args));
  for (auto& pid : read_lines(dir / "pids")) ::kill(std::stoi(pid), SIGKILL);
  auto db = dir / ".jr/jr.db";
  ASSERT_TRUE(exec_sql(db, "UPDATE meta SET value = json_set(value, '$.boot_id', 'another-boot') WHERE key = 'engine_place'"));
  ASSERT_EQ(query_text(db, "SELECT json_extract(value, '$.boot_id') FROM meta WHERE key = 'engine_place'"), "another-boot");

  write_file(dir / "go", "");
  auto second = run_jr(args, dir.path());
  EXPECT_EQ(second.exit_code, 1) << second.err;
  std::map<std::string, int> starts;
  for (auto& line : read_lines(dir / "starts")) ++starts[line];
  for (int i = 0; i < kTasks; ++i) {
    std::string task = task_id(db, i);
    EXPECT_EQ(starts[std::to_string(i)], 2) << "task " << i << " should run again after a reboot";
    EXPECT_EQ(query_int(db, "SELECT exit_code FROM tasks WHERE id = " + task), i % 4) << i;
    EXPECT_NE(query_text(db, "SELECT detail FROM attempts WHERE task_id = " + task + " AND attempt = 1").find("elsewhere"), std::string::npos) << i;
  }
}

// jrd: 8 tasks at once; jrd is killed (kill -9) or stopped (SIGTERM, what `systemctl restart`
// sends) while they run, and started again; `jr wait` sees the job through.
class JrdAdoptTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(put_jr_first_on_path());
    write_task(dir_);
  }
  void TearDown() override {
    if (jrd_ > 0) {
      ::kill(jrd_, SIGTERM);
      EXPECT_EQ(wait_exit(jrd_), 0) << read_file(dir_ / (log_ + ".err"));
    }
  }
  void start_daemon(const std::string& log) {
    log_ = log;
    jrd_ = start_jrd(dir_ / "state", socket(), {"--workers", std::to_string(kTasks)}, dir_.path(), log);
    ASSERT_TRUE(wait_for([&] { return jr({"ping"}).exit_code == 0 || !process_alive(jrd_); })) << read_file(dir_ / (log + ".err"));
  }
  std::string socket() const { return (dir_ / "jrd.sock").string(); }
  Output jr(std::vector<std::string> args) const {
    args.insert(args.begin() + 1, {"--socket", socket()});
    return run_jr(args, dir_.path());
  }

  TempDir dir_;
  pid_t jrd_ = -1;
  std::string log_;
};

TEST_P(JrdAdoptTest, ARestartNeitherKillsNorRerunsARunningTask) {
  const int signal = GetParam();
  ASSERT_NO_FATAL_FAILURE(start_daemon("jrd"));
  auto submitted = jr(cat({"submit", "-j", std::to_string(kTasks), "--", "./task.sh", ":::"}, seq(0, kTasks - 1)));
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string id = submitted.out.substr(0, submitted.out.size() - 1);
  ASSERT_TRUE(wait_for([&] { return read_lines(dir_ / "pids").size() == kTasks; }));

  ::kill(jrd_, signal);
  int code = wait_exit(jrd_);
  jrd_ = -1;
  if (signal == SIGTERM) {
    EXPECT_EQ(code, 0) << read_file(dir_ / "jrd.err");
    EXPECT_NE(read_file(dir_ / "jrd.err").find("the next jrd adopts them"), std::string::npos) << read_file(dir_ / "jrd.err");
  }
  for (auto& pid : read_lines(dir_ / "pids")) EXPECT_TRUE(process_alive(std::stoi(pid))) << pid << " died with jrd";

  ASSERT_NO_FATAL_FAILURE(start_daemon("jrd-again"));
  auto ping = nlohmann::json::parse(jr({"ping", "--json"}).out, nullptr, false);
  EXPECT_NE(ping.value("keeping", "").find("keeper"), std::string::npos) << ping.dump();
  write_file(dir_ / "go", "");
  auto waited = jr({"wait", id});
  EXPECT_EQ(waited.exit_code, 1) << waited.err;
  EXPECT_EQ(waited.err, "jr wait: job " + id + " failed: 6 of 8 tasks failed (jr tasks " + id + " --only failed)\n");
  expect_each_ran_once_with_its_status(dir_, dir_ / "state");
}

INSTANTIATE_TEST_SUITE_P(Stopped, JrdAdoptTest, ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& info) { return info.param == SIGKILL ? "ByKillNine" : "BySigterm"; });

}  // namespace
}  // namespace jr::test
