#include "engine/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/clone_vm.h"

namespace jr {
namespace {

// The signals whose disposition a child must set back to default: those the process ignores
// (SIGPIPE, and whatever jr itself inherited ignored: a shell's `jr … &` ignores SIGINT) or
// handles. The engine blocks the signals it handles (they reach it through signalfd), so the
// list is short. Found once, rather than asked of the kernel in every child.
struct NonDefaultSignals {
  int count = 0;
  int signals[NSIG];
  bool handled = false;  // some signal has a handler (not merely ignored)
};

const NonDefaultSignals& non_default_signals() {
  static const NonDefaultSignals set = [] {
    NonDefaultSignals s;
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa {};
      if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, nullptr, &sa) != 0) continue;
      if (sig == SIGPIPE || sa.sa_handler != SIG_DFL) s.signals[s.count++] = sig;
      if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) s.handled = true;
    }
    return s;
  }();
  return set;
}

// Where execvp would look for `name`, in order.
std::vector<std::string> exec_candidates(const std::string& name) {
  if (name.find('/') != std::string::npos) return {name};
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/bin:/usr/bin";  // glibc's default
  std::vector<std::string> out;
  std::size_t i = 0;
  for (;;) {
    auto j = dirs.find(':', i);
    std::string dir = dirs.substr(i, j == std::string::npos ? std::string::npos : j - i);
    out.push_back((dir.empty() ? "." : dir) + "/" + name);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

// What went wrong in the child before it could exec, written just before the child exits into
// a page the engine shares with it: a vfork child shares all the engine's memory, a clone3
// child (a copy) only this page.
struct ChildFailure {
  enum Stage { kNone, kGroup, kOpenStdin, kOpenStdout, kOpenStderr, kChdir, kExec };
  Stage stage = kNone;
  int error = 0;
};

volatile ChildFailure* shared_failure_page() {
  static volatile ChildFailure* page = [] {
    void* p = ::mmap(nullptr, sizeof(ChildFailure), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : new (p) ChildFailure;
  }();
  return page;
}

// Puts `path` opened with `flags` on descriptor `target`; false with errno set on failure.
bool open_as(int target, const char* path, int flags) {
  int fd = ::open(path, flags, 0600);
  if (fd < 0) return false;
  if (fd == target) return true;
  bool ok = ::dup2(fd, target) == target;
  ::close(fd);
  return ok;
}

[[noreturn]] void child_fails(volatile ChildFailure* failure, ChildFailure::Stage stage) {
  failure->error = errno;
  failure->stage = stage;
  _exit(127);
}

// The child, between vfork and exec: system calls only, no allocation, no library state.
[[noreturn]] void exec_child(const SpawnRequest& req, char* const* argv, char* const* envp,
                             const std::vector<std::string>& candidates, volatile ChildFailure* failure) {
  if (::setpgid(0, 0) != 0) child_fails(failure, ChildFailure::kGroup);
  if (req.subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  const auto& reset = non_default_signals();
  for (int i = 0; i < reset.count; ++i) ::sigaction(reset.signals[i], &dfl, nullptr);
  if (!open_as(0, "/dev/null", O_RDONLY)) child_fails(failure, ChildFailure::kOpenStdin);
  // Never through a link: whoever planted one would have the task's output appended to its target.
  constexpr int kLog = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW;
  if (!open_as(1, req.stdout_path.c_str(), kLog)) child_fails(failure, ChildFailure::kOpenStdout);
  if (!open_as(2, req.stderr_path.c_str(), kLog)) child_fails(failure, ChildFailure::kOpenStderr);
  if (!req.cwd.empty() && ::chdir(req.cwd.c_str()) != 0) child_fails(failure, ChildFailure::kChdir);
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  // Nothing but stdin, stdout and stderr reaches the task: not a descriptor jr inherited
  // without close-on-exec, nor one a library opened without it.
  ::close_range(3, ~0U, 0);
  // As execvp: a later directory's "not found" does not hide an earlier one's "not allowed".
  int error = ENOENT;
  for (auto& c : candidates) {
    ::execve(c.c_str(), argv, envp);
    if (errno != ENOENT && errno != ENOTDIR) error = errno;
    if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) break;
  }
  errno = error;
  child_fails(failure, ChildFailure::kExec);
}

struct ChildArgs {
  const SpawnRequest* req;
  char* const* argv;
  char* const* envp;
  const std::vector<std::string>* candidates;
  volatile ChildFailure* failure;
};

int child_main(void* p) {
  auto* a = static_cast<ChildArgs*>(p);
  exec_child(*a->req, a->argv, a->envp, *a->candidates, a->failure);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define JR_SHARED_MEMORY_CLONE 1
constexpr std::size_t kChildStackBytes = 256 * 1024;

// The stack a child created by clone_vm_into_cgroup runs on until it execs: one at a time.
void* child_stack() {
  static void* stack = [] {
    void* p = ::mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }();
  return stack;
}
#endif

// A child that shares the engine's memory, as vfork, created in its cgroup; a copying clone3
// where that cannot be had: another architecture, or a sanitizer build (whose runtime would see
// the child as the engine's own thread).
pid_t clone_into_cgroup(const SpawnRequest& req, ChildArgs* args) {
#ifdef JR_SHARED_MEMORY_CLONE
  if (void* stack = child_stack()) {
    pid_t pid = clone_vm_into_cgroup(req.cgroup_fd, stack, kChildStackBytes, child_main, args);
    if (pid >= 0 || errno != ENOSYS) return pid;
  }
#endif
  clone_args ca{};
  ca.flags = CLONE_VFORK | CLONE_INTO_CGROUP;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = static_cast<std::uint64_t>(req.cgroup_fd);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
  if (pid == 0) child_main(args);
  return pid;
}

// Apart from spawn_task so that none of its locals lives across the vfork.
__attribute__((noinline)) pid_t vfork_child(const SpawnRequest& req, char* const* argv, char* const* envp,
                                            const std::vector<std::string>& candidates,
                                            volatile ChildFailure* failure) {
  if (req.cgroup_fd >= 0) {
    ChildArgs args{&req, argv, envp, &candidates, failure};
    return clone_into_cgroup(req, &args);
  }
  pid_t pid = vfork();
  if (pid == 0) exec_child(req, argv, envp, candidates, failure);
  return pid;
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
  auto candidates = exec_candidates(req.argv[0]);
  non_default_signals();  // computed here, never in the child

  cpu_set_t saved_cpus;
  bool pinned = false;
  if (!req.cpu_ids.empty() && sched_getaffinity(0, sizeof saved_cpus, &saved_cpus) == 0) {
    cpu_set_t want;
    CPU_ZERO(&want);
    for (int c : req.cpu_ids) CPU_SET(c, &want);
    pinned = sched_setaffinity(0, sizeof want, &want) == 0;
  }
  // No signal handler may run in the child, which shares our memory: when there are handlers,
  // block everything until the child has set its dispositions back to default. (The engine
  // has none; the sanitizers install some.)
  bool block = non_default_signals().handled;
  sigset_t all, saved_mask;
  sigfillset(&all);
  if (block) pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
  volatile ChildFailure* page = shared_failure_page();
  if (!page) return make_error(ErrorCode::Io, "cannot run " + req.argv[0] + ": " + std::strerror(errno));
  page->stage = ChildFailure::kNone;
  page->error = 0;
  pid_t pid = vfork_child(req, argv.data(), envp.data(), candidates, page);
  int vfork_error = errno;
  if (block) pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  if (pinned) sched_setaffinity(0, sizeof saved_cpus, &saved_cpus);

  std::string what = "cannot run " + req.argv[0];
  if (pid < 0 && req.cgroup_fd >= 0) what += " in its cgroup";
  if (pid < 0) return make_error(ErrorCode::Io, what + ": " + std::strerror(vfork_error));
  ChildFailure failure{page->stage, page->error};
  if (failure.stage == ChildFailure::kNone) return pid;
  ::waitpid(pid, nullptr, 0);
  int error = failure.error;
  std::string why = std::strerror(error);
  switch (failure.stage) {
    case ChildFailure::kGroup: what += ": cannot give it a process group of its own"; break;
    case ChildFailure::kOpenStdin: what += ": cannot open /dev/null"; break;
    case ChildFailure::kOpenStdout:
    case ChildFailure::kOpenStderr:
      what += ": cannot open its log ";
      what += failure.stage == ChildFailure::kOpenStdout ? req.stdout_path : req.stderr_path;
      if (error == ELOOP) why = "it is a symbolic link, which jr does not follow";
      break;
    case ChildFailure::kChdir: what += ": cannot enter " + req.cwd; break;
    case ChildFailure::kExec:
      if (!req.cwd.empty() && error == ENOENT) what += " (in " + req.cwd + ")";
      break;
    case ChildFailure::kNone: break;
  }
  return make_error(ErrorCode::Io, what + ": " + why);
}

}  // namespace jr
