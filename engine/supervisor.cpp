#include "engine/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "engine/on_finish.h"
#include "engine/proc.h"

namespace jr {
namespace {

std::int64_t tv_ms(const timeval& tv) {
  return static_cast<std::int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

}  // namespace

Supervisor::Supervisor(Containment& containment, Millis grace) : containment_(containment), grace_(grace) {}

Status Supervisor::spawn(Attempt& a, SpawnRequest req) {
  req.cgroup_fd = containment_.slot_group_fd(a.slot);
  a.cpu_at_start = containment_.slot_cpu(a.slot);
  req.subreaper = containment_.kind() == Containment::Kind::Subreaper;
  std::int64_t before = boot_ticks_now();
  auto pid = spawn_task(req);
  std::int64_t after = boot_ticks_now();
  if (pid) {
    a.pid = *pid;
    a.proc_start = before == after ? before : 0;
    if (a.spec.timeout_ms > 0) a.timeout_at = monotonic_ms() + a.spec.timeout_ms;
    return {};
  }
  // The command could not start: say why in its log, as a shell does.
  int fd = ::open(req.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    std::string line = "jr: " + pid.error().message + "\n";
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
  return pid.error();
}

void Supervisor::watch(std::unique_ptr<Attempt> a) {
  pid_t pid = a->pid;
  running_.emplace(pid, std::move(a));
}

Attempt* Supervisor::find(TaskId task, int attempt) {
  for (auto& [pid, a] : running_) {
    if (a->task == task && a->attempt == attempt) return a.get();
  }
  return nullptr;
}

void Supervisor::stop(Attempt& a, int sig, std::int64_t kill_at) {
  ::kill(-a.pid, sig);
  a.kill_at = kill_at;
}

void Supervisor::kill_now(Attempt& a) {
  ::kill(-a.pid, SIGKILL);
  containment_.kill_slot(a.slot);
}

void Supervisor::check_timers() {
  std::int64_t now = monotonic_ms();
  for (auto& [pid, a] : running_) {
    if (a->kill_at == 0 && a->timeout_at && now >= a->timeout_at) {
      a->timed_out = true;
      stop(*a, SIGTERM, now + grace_.count());
    } else if (a->kill_at && now >= a->kill_at) {
      kill_now(*a);
    }
  }
}

void Supervisor::reap() {
  for (;;) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
    pid_t pid = info.si_pid;
    // The leader is still an unreaped zombie, so its pid, and with it the process group, cannot
    // have been reused: kill what the task left behind before reaping, its group and its slot's
    // cgroup. A task's processes never outlive the record that says it runs. (Another child is
    // a descendant that escaped a task and was reparented to the engine, a subreaper.)
    auto it = running_.find(pid);
    if (it != running_.end()) {
      containment_.end_slot(it->second->slot);
      ::kill(-pid, SIGKILL);
    }
    orphans_possible_ = true;
    int status = 0;
    rusage ru{};
    if (wait4(pid, &status, 0, &ru) != pid) return;
    if (auto hook = hooks_.find(pid); hook != hooks_.end()) {
      hook_ends_.emplace_back(hook->second, on_finish_outcome(status));
      hooks_.erase(hook);
      continue;
    }
    Reaped r{pid, {}};
    if (WIFEXITED(status)) {
      r.exit.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      r.exit.signal = WTERMSIG(status);
    }
    r.exit.utime_ms = tv_ms(ru.ru_utime);
    r.exit.stime_ms = tv_ms(ru.ru_stime);
    r.exit.maxrss_kb = ru.ru_maxrss;
    // The slot group's count also holds what escaped descendants used, which rusage misses.
    if (it != running_.end() && it->second->cpu_at_start) {
      if (auto end = containment_.slot_cpu(it->second->slot)) {
        const auto& start = *it->second->cpu_at_start;
        r.exit.utime_ms = std::max(r.exit.utime_ms, (end->user_us - start.user_us) / 1000);
        r.exit.stime_ms = std::max(r.exit.stime_ms, (end->system_us - start.system_us) / 1000);
      }
    }
    reaped_.push_back(std::move(r));
  }
}

void Supervisor::kill_orphans_if_any(const std::vector<pid_t>& also_known) {
  if (orphans_possible_ && containment_.kind() == Containment::Kind::Subreaper) {
    // What escaped a task that has ended is now the engine's child: kill it. Its own
    // children come to the engine in turn when it dies, and are killed on that reap.
    std::vector<pid_t> known = also_known;
    for (auto& [pid, a] : running_) known.push_back(pid);
    for (auto& [pid, job] : hooks_) known.push_back(pid);
    kill_orphans(known);
  }
  orphans_possible_ = false;
}

}  // namespace jr
