// A full disk under the state directory (issue 15, "A full disk and I/O errors"): the state
// directory is a small tmpfs that the test fills to its last block while a task runs, then
// frees. jr starts nothing while it cannot write, keeps watching what runs, records the ends
// it saw once space returns (nothing runs twice), stops as on a preemption when told to
// (exit 143, "resume me"); jrd stays up, refuses submissions naming the store, and a jrd
// restarted on a full disk still kills what the last one left running.
//
// Needs root (mount); skips, saying why, where a tmpfs cannot be mounted.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root, to mount a small tmpfs as the state directory";
    std::filesystem::create_directory(state());
    if (::mount("tmpfs", state().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs on " << state() << ": " << std::strerror(errno);
    }
    mounted_ = true;
  }

  void TearDown() override {
    write_file(go(), "");  // a task still waiting for it ends
    for (pid_t& p : children_) {
      if (p <= 0) continue;
      ::kill(p, SIGKILL);
      wait_exit(p);
    }
    // A task a failed test left running.
    if (auto pid = read_file(dir / "pid"); !pid.empty()) ::kill(std::stoi(pid), SIGKILL);
    if (mounted_) ::umount2(state().c_str(), MNT_DETACH);
  }

  std::filesystem::path state() const { return dir / "state"; }
  std::filesystem::path db() const { return state() / "jr.db"; }
  std::filesystem::path go() const { return dir / "go"; }
  std::string socket() const { return (dir / "jrd.sock").string(); }
  // What jr says when it cannot write its store: the store's path and the reason.
  std::string full_message() const { return "cannot write " + db().string() + ": database or disk is full"; }

  // Fills the state's file system to its last block; free_disk() gives the space back.
  void fill_disk() {
    int fd = ::open((state() / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    std::string block(1 << 16, 'x');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    int err = errno;
    ::close(fd);
    ASSERT_EQ(err, ENOSPC) << std::strerror(err);
  }
  void free_disk() { std::filesystem::remove(state() / "filler"); }

  // Remembered so that TearDown ends it if the test did not.
  pid_t track(pid_t pid) {
    children_.push_back(pid);
    return pid;
  }
  int finish(pid_t pid) {
    for (pid_t& p : children_) {
      if (p == pid) p = -1;
    }
    return wait_exit(pid);
  }

  Output jr(std::vector<std::string> args) const {
    args.insert(args.begin() + 1, {"--socket", socket()});
    return run_jr(args, dir.path());
  }
  pid_t start_daemon(const std::string& log) {
    // Without a keeper: a killed jrd's tasks are killed by the next one, which these tests check.
    pid_t pid = track(start_jrd(state(), socket(), {"--workers", "2", "--sample-every", "0", "--grace", "2s", "--no-adopt"}, dir.path(), log));
    return pid;
  }
  bool says(const std::string& log, const std::string& text) const {
    return read_file(dir / log).find(text) != std::string::npos;
  }

  TempDir dir;
  bool mounted_ = false;
  std::vector<pid_t> children_;
};

// A task's script, `sh -c SCRIPT sh INPUT`: records its start in `starts`; input 0 runs until
// the test creates `go`.
std::vector<std::string> waiting_task(const std::filesystem::path& starts, const std::filesystem::path& running,
                                      const std::filesystem::path& go) {
  return {"sh", "-c",
          "echo $1 >> " + starts.string() + "; if [ $1 = 0 ]; then touch " + running.string() + "; while [ ! -e " +
              go.string() + " ]; do sleep 0.05; done; fi",
          "sh", "{}"};
}

TEST_F(DiskFullTest, JrRunStartsNothingWhileFullAndRecordsTheRunningTaskOnceSpaceReturns) {
  auto starts = dir / "starts";
  auto task = waiting_task(starts, dir / "running", go());
  pid_t run = track(start_jr(cat({"run", "-j", "1", "--sample-every", "0", "--state", state().string(), "--"},
                                 cat(task, {":::", "0", "1", "2"})),
                             dir.path()));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "running"); })) << read_file(dir / "jr-bg.err");
  fill_disk();
  // Task 0 ends: the commit of its end (and of task 1's start, in the same turn) fails.
  write_file(go(), "");
  ASSERT_TRUE(wait_for([&] { return says("jr-bg.err", full_message()) || !process_alive(run); }));
  EXPECT_TRUE(says("jr-bg.err", full_message())) << read_file(dir / "jr-bg.err");
  EXPECT_EQ(read_lines(starts), std::vector<std::string>{"0"}) << "a task started while the store could not be written";
  EXPECT_TRUE(process_alive(run)) << read_file(dir / "jr-bg.err");

  free_disk();
  EXPECT_EQ(finish(run), 0) << read_file(dir / "jr-bg.err");
  EXPECT_EQ(read_lines(starts), (std::vector<std::string>{"0", "1", "2"})) << "a task ran twice, or not at all";
  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM tasks WHERE state = 2"), 3);
  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM attempts"), 3);
  EXPECT_TRUE(says("jr-bg.err", "can be written again")) << read_file(dir / "jr-bg.err");
}

TEST_F(DiskFullTest, JrRunToldToStopWhileFullStopsItsTasksAndExitsResumeMe) {
  auto starts = dir / "starts";
  // Input 0 waits for `go`; input 1 runs on (its first attempt) until it is stopped.
  std::string script = "echo $1 >> " + starts.string() +
                       "; if [ $1 = 0 ]; then touch " + (dir / "running").string() + "; while [ ! -e " + go().string() +
                       " ]; do sleep 0.05; done; elif [ $1 = 1 ] && [ $JR_ATTEMPT = 1 ]; then echo $$ > " +
                       (dir / "pid").string() + "; exec sleep 300; fi";
  std::vector<std::string> args = {"run", "-j", "2", "--sample-every", "0", "--grace", "2s",
                                   "--state", state().string(), "--", "sh", "-c", script, "sh", "{}", ":::", "0", "1", "2"};
  pid_t run = track(start_jr(args, dir.path()));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "running") && !read_file(dir / "pid").empty(); }))
      << read_file(dir / "jr-bg.err");
  pid_t sleeper = std::stoi(read_file(dir / "pid"));
  fill_disk();
  write_file(go(), "");
  ASSERT_TRUE(wait_for([&] { return says("jr-bg.err", full_message()) || !process_alive(run); }));
  ASSERT_TRUE(says("jr-bg.err", full_message())) << read_file(dir / "jr-bg.err");
  EXPECT_TRUE(process_alive(sleeper)) << "the running task was not kept running";

  ::kill(run, SIGTERM);
  EXPECT_EQ(finish(run), 143) << read_file(dir / "jr-bg.err");
  EXPECT_FALSE(process_alive(sleeper)) << "a task outlived jr";
  EXPECT_TRUE(says("jr-bg.err", "run again next time")) << read_file(dir / "jr-bg.err");
  auto started = read_lines(starts);
  std::sort(started.begin(), started.end());
  EXPECT_EQ(started, (std::vector<std::string>{"0", "1"})) << "a task started while the store could not be written";

  // Resumed once there is space, the job completes.
  free_disk();
  auto again = run_jr(args, dir.path());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM tasks WHERE state = 2"), 3);
}

// A requeued job whose disk is full when it starts again: jr run waits for space, starting
// nothing, rather than end as failed or misused; once space returns it resumes the job (the
// task the killed run left to its keeper is adopted, not run again). Told to stop while it
// waits, it exits 143, "resume me" (was: 2, a usage error, when the store could not be opened).
TEST_F(DiskFullTest, JrRunStartedWhileFullWaitsForSpaceThenResumes) {
  auto starts = dir / "starts";
  std::vector<std::string> args = cat({"run", "-j", "1", "--sample-every", "0", "--state", state().string(), "--"},
                                      cat(waiting_task(starts, dir / "running", go()), {":::", "0", "1", "2"}));
  pid_t first = track(start_jr(args, dir.path(), "first"));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "running") || !process_alive(first); }))
      << read_file(dir / "first.err");
  ::kill(first, SIGKILL);
  finish(first);

  fill_disk();
  pid_t stopped = track(start_jr(args, dir.path(), "stopped"));
  ASSERT_TRUE(wait_for([&] { return says("stopped.err", "its file system is full") || !process_alive(stopped); }));
  EXPECT_TRUE(process_alive(stopped)) << read_file(dir / "stopped.err");
  ::kill(stopped, SIGTERM);
  EXPECT_EQ(finish(stopped), 143) << read_file(dir / "stopped.err");

  // Whether it finds the disk full while it starts or once the job runs, it waits.
  pid_t waiting = track(start_jr(args, dir.path(), "waiting"));
  ASSERT_TRUE(wait_for([&] { return says("waiting.err", "starts until it can") || !process_alive(waiting); }));
  EXPECT_TRUE(process_alive(waiting)) << read_file(dir / "waiting.err");
  free_disk();
  write_file(go(), "");
  EXPECT_EQ(finish(waiting), 0) << read_file(dir / "waiting.err");
  EXPECT_TRUE(says("waiting.err", "can be written again")) << read_file(dir / "waiting.err");
  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM tasks WHERE state = 2 AND attempts = 1"), 3);
  EXPECT_EQ(read_lines(starts), (std::vector<std::string>{"0", "1", "2"})) << "a task ran twice, or not at all";
}

// A state directory not made yet, on a file system with no inode left: its mkdir fails, which
// is a full disk like any other, waited out (was: exit 2, "cannot create state directory").
TEST_F(DiskFullTest, JrRunWhoseNewStateDirectoryCannotBeMadeWaitsForRoom) {
  auto fresh = state() / "fresh";
  auto set_inodes = [&](const std::string& count) {
    return ::mount("tmpfs", state().c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, ("nr_inodes=" + count).c_str());
  };
  ASSERT_EQ(set_inodes("1"), 0) << std::strerror(errno);  // the root's own: none left
  pid_t waiting = track(start_jr({"run", "--sample-every", "0", "--state", fresh.string(), "--", "echo", "{}", ":::", "a", "b"},
                                 dir.path(), "waiting"));
  ASSERT_TRUE(wait_for([&] { return says("waiting.err", "starts until it can") || !process_alive(waiting); }));
  EXPECT_TRUE(process_alive(waiting)) << read_file(dir / "waiting.err");
  EXPECT_FALSE(std::filesystem::exists(fresh));
  ASSERT_EQ(set_inodes("1000"), 0) << std::strerror(errno);
  EXPECT_EQ(finish(waiting), 0) << read_file(dir / "waiting.err");
  EXPECT_EQ(query_int(fresh / "jr.db", "SELECT count(*) FROM tasks WHERE state = 2 AND attempts = 1"), 2);
}

TEST_F(DiskFullTest, JrdStaysUpRefusesSubmissionsNamingTheStoreAndAcceptsOnceSpaceReturns) {
  pid_t jrd = start_daemon("jrd");
  ASSERT_TRUE(wait_for([&] { return jr({"ping"}).exit_code == 0; })) << read_file(dir / "jrd.err");
  auto starts = dir / "starts";
  auto first = jr(cat(cat({"submit", "--"}, waiting_task(starts, dir / "running", go())), {":::", "0"}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string first_id = first.out.substr(0, first.out.find('\n'));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "running"); })) << read_file(dir / "jrd.err");
  fill_disk();

  auto refused = jr({"submit", "--", "true", ":::", "1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find(full_message()), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("jrd accepts no job until it can"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;

  // The running task ends while the store cannot be written: jrd keeps it and stays up.
  write_file(go(), "");
  ASSERT_TRUE(wait_for([&] { return says("jrd.err", full_message()) || !process_alive(jrd); }));
  EXPECT_TRUE(says("jrd.err", full_message())) << read_file(dir / "jrd.err");
  EXPECT_EQ(jr({"ping"}).exit_code, 0) << read_file(dir / "jrd.err");

  free_disk();
  auto accepted = jr({"submit", "--", "true", ":::", "1"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  std::string second_id = accepted.out.substr(0, accepted.out.find('\n'));
  EXPECT_EQ(jr({"wait", first_id}).exit_code, 0);
  EXPECT_EQ(jr({"wait", second_id}).exit_code, 0);
  EXPECT_EQ(read_lines(starts), std::vector<std::string>{"0"}) << "the task ran twice";
  EXPECT_EQ(query_int(db(), "SELECT count(*) FROM attempts"), 2);

  ::kill(jrd, SIGTERM);
  EXPECT_EQ(finish(jrd), 0) << read_file(dir / "jrd.err");
}

TEST_F(DiskFullTest, JrdRestartedWhileFullKillsWhatTheLastOneLeftRunning) {
  pid_t first = start_daemon("jrd1");
  ASSERT_TRUE(wait_for([&] { return jr({"ping"}).exit_code == 0; })) << read_file(dir / "jrd1.err");
  std::string script = "if [ $JR_ATTEMPT = 1 ]; then echo $$ > " + (dir / "pid").string() + "; exec sleep 300; fi";
  auto submitted = jr({"submit", "--", "sh", "-c", script, "sh", "{}", ":::", "0"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  ASSERT_TRUE(wait_for([&] { return !read_file(dir / "pid").empty(); })) << read_file(dir / "jrd1.err");
  pid_t leftover = std::stoi(read_file(dir / "pid"));
  ::kill(first, SIGKILL);
  finish(first);
  ASSERT_TRUE(process_alive(leftover));

  fill_disk();
  pid_t second = start_daemon("jrd2");
  EXPECT_NE(finish(second), 0) << "jrd started on a full disk";
  EXPECT_FALSE(process_alive(leftover)) << "the task the killed jrd left running survived a restart on a full disk";
  EXPECT_TRUE(says("jrd2.err", full_message())) << read_file(dir / "jrd2.err");

  free_disk();
  pid_t third = start_daemon("jrd3");
  ASSERT_TRUE(wait_for([&] { return jr({"ping"}).exit_code == 0; })) << read_file(dir / "jrd3.err");
  EXPECT_EQ(jr({"wait", id}).exit_code, 0) << read_file(dir / "jrd3.err");
  ::kill(third, SIGTERM);
  EXPECT_EQ(finish(third), 0) << read_file(dir / "jrd3.err");
}

}  // namespace
}  // namespace jr::test
