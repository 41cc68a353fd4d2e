// Supervisor (engine/supervisor.h) with real processes and no store: an exit is reaped with
// its status, a stop signals the task's group, a timeout is SIGTERM then SIGKILL after the
// grace period, reaping a task kills what it left in its group, and a hook's end is its own.
// Each case runs twice: tasks started and reaped by the engine itself (the default), and by a
// keeper (engine/keeper.h), whose exits arrive on the event loop.
#include "engine/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace jr {
namespace {

namespace fs = std::filesystem;
using test::wait_for;

class SupervisorTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jr-supervisor-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto loop = EventLoop::create({});
    ASSERT_TRUE(loop) << loop.error().message;
    loop_ = std::move(*loop);
    supervisor_ = std::make_unique<Supervisor>(containment_, *loop_, Millis(0), KeeperPlace{GetParam(), dir_, "test"});
  }
  void TearDown() override {
    supervisor_.reset();
    // The keeper, a child of this process, exits now that no engine and no task is left; reaped
    // here, so that the next case does not take its exit for a task's.
    while (::waitpid(-1, nullptr, 0) > 0) {
    }
    fs::remove_all(dir_);
  }

  // Spawns `script` under /bin/sh as the attempt of task 1 in slot 1, watched.
  Attempt* start(const std::string& script) {
    auto a = std::make_unique<Attempt>();
    a->task = 1;
    a->attempt = 1;
    a->slot = 1;
    SpawnRequest req;
    req.argv = {"/bin/sh", "-c", script};
    req.env = {"PATH=/usr/bin:/bin"};
    req.cwd = dir_.string();
    req.stdout_path = (dir_ / "out").string();
    req.stderr_path = (dir_ / "err").string();
    auto st = supervisor_->spawn(*a, req);
    EXPECT_TRUE(st) << st.error().message;
    Attempt* raw = a.get();
    supervisor_->watch(std::move(a));
    // The keeper's answer comes on the loop; the engine spawns at once.
    EXPECT_TRUE(wait_for([&] {
      (void)loop_->wait_once(monotonic_ms() + 5);
      return raw->pid > 0;
    }));
    auto started = supervisor_->take_started();
    EXPECT_EQ(started.size(), GetParam() ? 1u : 0u);
    for (const auto& s : started) EXPECT_EQ(s.pid, raw->pid);
    return raw;
  }
  // Runs the timers and reaps until a task's exit is there.
  Supervisor::Reaped next_exit() {
    std::vector<Supervisor::Reaped> got;
    EXPECT_TRUE(wait_for([&] {
      supervisor_->check_timers();
      (void)loop_->wait_once(monotonic_ms() + 5);  // the keeper's exits
      supervisor_->reap();
      for (auto& r : supervisor_->take_reaped()) got.push_back(r);
      return !got.empty();
    }));
    return got.empty() ? Supervisor::Reaped{0, 0, 0, {}} : got.front();
  }
  // Gone or a zombie. Read with read(2): a process that ends during the read fails it with
  // ESRCH, which a stream turns into an exception.
  static bool gone(pid_t pid) {
    std::string text(4096, '\0');
    int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : ::read(fd, text.data(), text.size());
    if (fd >= 0) ::close(fd);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    auto paren = text.rfind(')');
    return paren == std::string::npos || text.compare(paren, 3, ") Z") == 0;
  }

  fs::path dir_;
  Containment containment_;  // the subreaper kind: no groups
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_P(SupervisorTest, AnExitIsReapedWithItsStatus) {
  Attempt* a = start("exit 3");
  auto r = next_exit();
  EXPECT_EQ(r.task, 1);
  EXPECT_EQ(r.attempt, 1);
  EXPECT_EQ(r.pid, a->pid);
  EXPECT_EQ(r.exit.exit_code, 3);
  EXPECT_EQ(r.exit.signal, 0);
  EXPECT_EQ(supervisor_->running().count(r.task), 1u) << "the engine erases it once it has taken the end";
}

TEST_P(SupervisorTest, AStopSignalsTheTasksGroup) {
  Attempt* a = start("sleep 1000; exit 0");  // the shell and its sleep: one group
  std::int64_t later = monotonic_ms() + 3'600'000;
  supervisor_->stop(*a, SIGTERM, later);
  EXPECT_EQ(a->kill_at, later);
  auto r = next_exit();
  EXPECT_EQ(r.pid, a->pid);
  EXPECT_EQ(r.exit.signal, SIGTERM);
  EXPECT_FALSE(a->timed_out);
}

TEST_P(SupervisorTest, ATimeoutIsSigtermThenSigkillOnceTheGraceIsOver) {
  Attempt* a = start("trap '' TERM; echo > ready; exec sleep 1000");
  ASSERT_TRUE(wait_for([&] { return fs::exists(dir_ / "ready"); }));
  a->timeout_at = monotonic_ms();  // due now, with the trap in place
  auto r = next_exit();
  EXPECT_EQ(r.pid, a->pid);
  EXPECT_TRUE(a->timed_out);
  EXPECT_NE(a->kill_at, 0);
  EXPECT_EQ(r.exit.signal, SIGKILL) << "SIGTERM is ignored: only the kill after the grace ends it";
}

TEST_P(SupervisorTest, ReapingATaskKillsWhatItLeftInItsGroup) {
  start("sleep 1000 & echo $! > left; exit 0");
  auto r = next_exit();
  EXPECT_EQ(r.exit.exit_code, 0);
  pid_t left = 0;
  ASSERT_TRUE(wait_for([&] { return (std::ifstream(dir_ / "left") >> left) && left > 0; }));
  EXPECT_TRUE(wait_for([&] { return gone(left); })) << "the sleep outlived its task";
}

TEST_P(SupervisorTest, AHooksEndIsReportedApartFromTasks) {
  pid_t hook = ::fork();
  ASSERT_GE(hook, 0);
  if (hook == 0) _exit(0);
  supervisor_->watch_hook(hook, 7);
  EXPECT_TRUE(supervisor_->hooks_running());
  std::vector<std::pair<JobId, Status>> ends;
  ASSERT_TRUE(wait_for([&] {
    supervisor_->reap();
    for (auto& e : supervisor_->take_hook_ends()) ends.push_back(e);
    return !ends.empty();
  }));
  EXPECT_EQ(ends.front().first, 7);
  EXPECT_TRUE(ends.front().second);
  EXPECT_FALSE(supervisor_->has_reaped());
  EXPECT_FALSE(supervisor_->hooks_running());
}

INSTANTIATE_TEST_SUITE_P(Keeping, SupervisorTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ByKeeper" : "ByEngine"; });

}  // namespace
}  // namespace jr
