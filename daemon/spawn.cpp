#include "daemon/spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>

#include <cstring>

namespace jr {
namespace {

// The engine blocks the signals it handles (they reach it through signalfd) and installs no
// handler, so the only dispositions a child must have reset are those set to ignore: SIGPIPE,
// and whatever jr itself inherited ignored (a shell's `jr … &` ignores SIGINT). Found once,
// rather than resetting all 64 in every child at a system call each.
const sigset_t& ignored_signals() {
  static const sigset_t set = [] {
    sigset_t s;
    sigemptyset(&s);
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa {};
      if (sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) sigaddset(&s, sig);
    }
    sigaddset(&s, SIGPIPE);
    return s;
  }();
  return set;
}

}  // namespace

Result<pid_t> spawn_task(const SpawnRequest& req) {
  if (req.argv.empty()) return make_error(ErrorCode::Usage, "empty command");
  std::vector<char*> argv;
  argv.reserve(req.argv.size() + 1);
  for (auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(req.env.size() + 1);
  for (auto& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);

  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &ignored_signals());
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);

  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, req.stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, req.stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (!req.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, req.cwd.c_str());

  cpu_set_t saved;
  bool pinned = false;
  if (!req.cpu_ids.empty() && sched_getaffinity(0, sizeof saved, &saved) == 0) {
    cpu_set_t want;
    CPU_ZERO(&want);
    for (int c : req.cpu_ids) CPU_SET(c, &want);
    pinned = sched_setaffinity(0, sizeof want, &want) == 0;
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  if (pinned) sched_setaffinity(0, sizeof saved, &saved);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::string what = "cannot run " + req.argv[0];
    if (!req.cwd.empty() && rc == ENOENT) what += " (in " + req.cwd + ")";
    return make_error(ErrorCode::Io, what + ": " + std::strerror(rc));
  }
  return pid;
}

}  // namespace jr
