#include "engine/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "engine/keeper.h"
#include "engine/on_finish.h"
#include "engine/proc.h"

namespace jr {
namespace {

// The command could not start: say why in its log, as a shell does.
void log_spawn_failure(const std::string& stderr_path, const Error& error) {
  int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    std::string line = "jr: " + error.message + "\n";
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }
}

// How long a watched task's exit is asked of the kernel once it has exited: until its new
// parent reaps it (PID 1 may take a second or more), then it is unknown.
constexpr std::int64_t kAskExitForMs = 30'000;
// How often, meanwhile.
constexpr std::int64_t kAskExitEveryMs = 50;
// How long the processes of a task its keeper never said it started may take to die.
constexpr std::int64_t kKillUnansweredMs = 5'000;

Exit unknown_exit() {
  Exit e;
  e.unknown = true;
  e.detail = "exit status unknown: its keeper was killed while no engine ran";
  return e;
}

}  // namespace

Supervisor::Supervisor(Containment& containment, EventLoop& loop, Millis grace, KeeperPlace keeper)
    : containment_(containment), loop_(loop), grace_(grace), keeper_place_(std::move(keeper)) {}

Supervisor::~Supervisor() {
  if (keeper_ && !keeper_->gone()) loop_.unwatch(keeper_->fd());
  for (auto& [task, a] : running_) {
    if (a->pidfd >= 0) {
      loop_.unwatch(a->pidfd);
      ::close(a->pidfd);
    }
  }
}

Status Supervisor::start_keeper() {
  journal_imported_ = false;
  auto link = KeeperLink::start(keeper_place_.dir, keeper_place_.state_id);
  if (!link) return link.error();
  use_keeper(std::move(*link), 0);
  return {};
}

void Supervisor::use_keeper(std::unique_ptr<KeeperLink> keeper, std::uint64_t last_seq) {
  keeper_ = std::move(keeper);
  keeper_seq_ = last_seq;
  acked_seq_ = 0;
  (void)loop_.watch(keeper_->fd(), EPOLLIN, [this](std::uint32_t) { on_keeper(); });
}

std::string Supervisor::describe_keeping() const {
  if (!keeper_place_.use) return "none (--no-adopt: tasks die with the engine)";
  if (keeper_ && !keeper_->gone()) return "keeper (pid " + std::to_string(keeper_->pid()) + ")";
  return "keeper (started with the first task)";
}

Status Supervisor::spawn(Attempt& a, SpawnRequest req) {
  req.cgroup_fd = containment_.slot_group_fd(a.slot);
  a.cpu_at_start = containment_.slot_cpu(a.slot);
  req.subreaper = containment_.kind() == Containment::Kind::Subreaper;
  if (keeper_place_.use) {
    // What it said before it went is taken first (on_keeper), then what it kept is settled.
    if (keeper_ && keeper_->gone()) on_keeper();
    if (!keeper_) {
      if (auto st = start_keeper(); !st) {
        log_spawn_failure(req.stderr_path, st.error());
        return st.error();
      }
    }
    keeper::SpawnOrder order;
    order.child = keeper::Child{a.task, a.attempt, a.slot, 0, 0, req.cgroup_fd >= 0 ? containment_.slot_group(a.slot) : ""};
    order.request = std::move(req);
    order.request.cgroup_fd = -1;
    if (auto st = keeper_->spawn(order); !st) {
      log_spawn_failure(order.request.stderr_path, st.error());
      return st.error();
    }
    a.pid = 0;
    a.keeping = Attempt::Keeping::Keeper;
    a.group = order.child.group;
    a.spawn_log = order.request.stderr_path;
    if (a.spec.timeout_ms > 0) a.timeout_at = monotonic_ms() + a.spec.timeout_ms;
    return {};
  }
  std::int64_t before = boot_ticks_now();
  auto pid = spawn_task(req);
  std::int64_t after = boot_ticks_now();
  if (pid) {
    a.pid = *pid;
    a.proc_start = before == after ? before : 0;
    if (a.spec.timeout_ms > 0) a.timeout_at = monotonic_ms() + a.spec.timeout_ms;
    return {};
  }
  log_spawn_failure(req.stderr_path, pid.error());
  return pid.error();
}

void Supervisor::adopt(std::unique_ptr<Attempt> a, std::optional<Exit> ended) {
  a->adopted = true;
  if (ended) {
    reaped_.push_back(Reaped{a->task, a->attempt, a->pid, *ended});
  } else if (a->keeping == Attempt::Keeping::Watched) {
    watch_orphan(*a);
  }
  TaskId task = a->task;
  running_.emplace(task, std::move(a));
}

void Supervisor::watch_orphan(Attempt& a) {
  a.keeping = Attempt::Keeping::Watched;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, a.pid, 0));
  // Pinned by the pidfd, the process is checked again: a pid reused since is someone else.
  if (fd >= 0 && a.proc_start && process_start_time(a.pid) != a.proc_start) {
    ::close(fd);
    fd = -1;
  }
  if (fd < 0) {
    reaped_.push_back(Reaped{a.task, a.attempt, a.pid, unknown_exit()});
    return;
  }
  a.pidfd = fd;
  // Unwatched (and closed) by ask_exit, or by forget() when the attempt ends another way.
  (void)loop_.watch(fd, EPOLLIN, [this, task = a.task](std::uint32_t) {
    auto it = running_.find(task);
    if (it == running_.end() || it->second->pidfd < 0) return;
    // It has exited; the kernel can tell how once its new parent has reaped it.
    loop_.unwatch(it->second->pidfd);
    it->second->exit_asked_until = monotonic_ms() + kAskExitForMs;
    ask_exit(*it->second);
  });
}

void Supervisor::ask_exit(Attempt& a) {
  PidfdExit got = pidfd_exit(a.pidfd);
  if (!got.status && got.supported && monotonic_ms() < a.exit_asked_until) return;  // asked again by check_timers
  ::close(a.pidfd);
  a.pidfd = -1;
  a.exit_asked_until = 0;
  if (!a.group.empty()) kill_group_if_populated(a.group);
  if (!got.status) {
    reaped_.push_back(Reaped{a.task, a.attempt, a.pid, unknown_exit()});
    return;
  }
  Reaped r{a.task, a.attempt, a.pid, {}};
  if (WIFEXITED(*got.status)) r.exit.exit_code = WEXITSTATUS(*got.status);
  if (WIFSIGNALED(*got.status)) r.exit.signal = WTERMSIG(*got.status);
  reaped_.push_back(std::move(r));
}

Supervisor::Reaped Supervisor::exit_of(const keeper::Ended& e, Attempt& a) {
  Reaped r{a.task, a.attempt, e.pid, {}};
  r.exit.exit_code = e.signal ? -1 : e.exit_code;
  r.exit.signal = e.signal;
  r.exit.utime_ms = e.utime_ms;
  r.exit.stime_ms = e.stime_ms;
  r.exit.maxrss_kb = e.maxrss_kb;
  if (a.cpu_at_start && !a.adopted) {
    if (auto end = containment_.slot_cpu(a.slot)) {
      const auto& start = *a.cpu_at_start;
      r.exit.utime_ms = std::max(r.exit.utime_ms, (end->user_us - start.user_us) / 1000);
      r.exit.stime_ms = std::max(r.exit.stime_ms, (end->system_us - start.system_us) / 1000);
    }
  }
  if (e.group_killed && !a.adopted) containment_.slot_was_killed(a.slot);
  return r;
}

void Supervisor::could_not_start(Attempt& a, const std::string& why) {
  --spawns_pending_;
  log_spawn_failure(a.spawn_log, Error{ErrorCode::Io, why});
  a.spawn_log.clear();
  Reaped r{a.task, a.attempt, 0, {}};
  r.exit.exit_code = 127;
  r.exit.detail = why;
  reaped_.push_back(std::move(r));
}

void Supervisor::on_spawned(const keeper::Spawned& s) {
  auto it = running_.find(s.task);
  if (it == running_.end() || it->second->pid != 0 || it->second->attempt != s.attempt) return;
  Attempt& a = *it->second;
  if (s.pid <= 0) return could_not_start(a, s.error);
  --spawns_pending_;
  a.pid = s.pid;
  a.proc_start = s.proc_start;
  a.spawn_log.clear();
  started_.push_back(Started{a.task, a.pid, a.proc_start});
}

void Supervisor::on_keeper() {
  if (!keeper_) return;
  KeeperLink::News news = keeper_->poll();
  for (const keeper::Spawned& s : news.spawned) on_spawned(s);
  for (const keeper::Ended& e : news.ended) {
    keeper_seq_ = std::max(keeper_seq_, e.seq);
    // By task and attempt, as the keeper names its children: a pid may have been reused.
    auto it = running_.find(e.task);
    if (it == running_.end()) continue;
    Attempt& a = *it->second;
    if (a.keeping == Attempt::Keeping::Keeper && a.attempt == e.attempt && a.pid == e.pid) reaped_.push_back(exit_of(e, a));
  }
  if (keeper_->gone()) keeper_lost();
}

void Supervisor::keeper_lost() {
  if (!keeper_) return;
  loop_.unwatch(keeper_->fd());
  keeper_.reset();
  std::vector<keeper::Ended> journal = KeeperLink::read_journal(keeper_place_.dir);
  bool any_ours = false;
  for (auto& [task, a] : running_) {
    if (a->keeping != Attempt::Keeping::Keeper) continue;
    if (a->pid == 0) {
      // It never said whether it started it: whatever it did start dies, found by its slot
      // and by its JR_RUN token.
      containment_.kill_slot(a->slot);
      (void)kill_carriers("JR_RUN=" + run_token(keeper_place_.state_id, a->task, a->attempt), {}, kKillUnansweredMs);
      could_not_start(*a, KeeperLink::cannot_run(a->spec.argv).message);
      continue;
    }
    bool taken = std::any_of(reaped_.begin(), reaped_.end(), [task = task](const Reaped& r) { return r.task == task; });
    if (taken) continue;
    auto logged = std::find_if(journal.begin(), journal.end(), [&](const keeper::Ended& e) {
      return e.pid == a->pid && e.task == a->task && e.attempt == a->attempt;
    });
    if (logged != journal.end()) {
      reaped_.push_back(exit_of(*logged, *a));
      continue;
    }
    // A keeper this engine started was its child: its tasks are the engine's children now.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(a->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
      a->keeping = Attempt::Keeping::Engine;
      any_ours = true;
      continue;
    }
    watch_orphan(*a);
  }
  if (any_ours) reap();
}

void Supervisor::watch(std::unique_ptr<Attempt> a) {
  if (a->pid == 0) ++spawns_pending_;
  TaskId task = a->task;
  running_.emplace(task, std::move(a));
}

Supervisor::Running::iterator Supervisor::child_attempt(pid_t pid) {
  return std::find_if(running_.begin(), running_.end(), [pid](const Running::value_type& r) {
    return r.second->pid == pid && r.second->keeping != Attempt::Keeping::Keeper;
  });
}

void Supervisor::forget(Running::iterator it) {
  if (it->second->pidfd >= 0) {
    loop_.unwatch(it->second->pidfd);
    ::close(it->second->pidfd);
  }
  running_.erase(it);
}

Attempt* Supervisor::find(TaskId task, int attempt) {
  auto it = running_.find(task);
  return it != running_.end() && it->second->attempt == attempt ? it->second.get() : nullptr;
}

void Supervisor::send(Attempt& a, int sig, bool kill_group) {
  switch (a.keeping) {
    case Attempt::Keeping::Engine: ::kill(-a.pid, sig); break;
    // Only the keeper knows whether the pid is still its unreaped child.
    case Attempt::Keeping::Keeper:
      if (keeper_) keeper_->signal(keeper::SignalOrder{a.task, a.attempt, sig, kill_group});
      break;
    case Attempt::Keeping::Watched:
      if (a.pidfd >= 0) ::syscall(SYS_pidfd_send_signal, a.pidfd, sig, nullptr, 0);
      if (kill_group && !a.group.empty()) kill_group_now(a.group);
      break;
  }
}

void Supervisor::stop(Attempt& a, int sig, std::int64_t kill_at) {
  a.kill_at = kill_at;
  send(a, sig, false);
}

void Supervisor::kill_now(Attempt& a) {
  send(a, SIGKILL, true);
  if (!a.adopted) containment_.kill_slot(a.slot);
}

void Supervisor::check_timers() {
  std::int64_t now = monotonic_ms();
  for (auto& [task, a] : running_) {
    if (a->exit_asked_until) {
      ask_exit(*a);
      continue;
    }
    if (a->kill_at == 0 && a->timeout_at && now >= a->timeout_at) {
      a->timed_out = true;
      stop(*a, SIGTERM, now + grace_.count());
    } else if (a->kill_at && now >= a->kill_at) {
      kill_now(*a);
    }
  }
}

std::int64_t Supervisor::next_timer() const {
  std::int64_t next = 0;
  std::int64_t now = monotonic_ms();
  auto consider = [&next](std::int64_t t) {
    if (t > 0 && (next == 0 || t < next)) next = t;
  };
  for (auto& [task, a] : running_) {
    if (a->exit_asked_until) consider(now + kAskExitEveryMs);
    else if (a->kill_at) consider(a->kill_at + 1);
    else consider(a->timeout_at);
  }
  return next;
}

std::vector<Supervisor::Reaped> Supervisor::take_reaped() {
  if (keeper_ && keeper_->holds_news()) on_keeper();
  return std::exchange(reaped_, {});
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
    auto it = child_attempt(pid);
    if (it != running_.end()) {
      if (it->second->adopted) {
        if (!it->second->group.empty()) kill_group_if_populated(it->second->group);
      } else {
        containment_.end_slot(it->second->slot);
      }
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
    // A descendant that escaped a task, reparented to the engine: nobody's end.
    if (it == running_.end()) continue;
    Reaped r{it->first, it->second->attempt, pid, {}};
    if (WIFEXITED(status)) {
      r.exit.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      r.exit.signal = WTERMSIG(status);
    }
    r.exit.utime_ms = tv_ms(ru.ru_utime);
    r.exit.stime_ms = tv_ms(ru.ru_stime);
    r.exit.maxrss_kb = ru.ru_maxrss;
    // The slot group's count also holds what escaped descendants used, which rusage misses.
    if (it->second->cpu_at_start) {
      if (auto end = containment_.slot_cpu(it->second->slot)) {
        const auto& start = *it->second->cpu_at_start;
        r.exit.utime_ms = std::max(r.exit.utime_ms, (end->user_us - start.user_us) / 1000);
        r.exit.stime_ms = std::max(r.exit.stime_ms, (end->system_us - start.system_us) / 1000);
      }
    }
    reaped_.push_back(std::move(r));
  }
}

void Supervisor::exits_recorded() {
  // A dead keeper's journal, imported and now in the store, goes (a new keeper empties it
  // itself when it starts, and then owns it).
  if (journal_imported_ && !keeper_ && reaped_.empty()) {
    std::error_code ec;
    std::filesystem::remove(keeper::journal_path(keeper_place_.dir), ec);
    journal_imported_ = false;
  }
  if (keeper_ && reaped_.empty() && keeper_seq_ > acked_seq_) {
    keeper_->ack(keeper_seq_);
    acked_seq_ = keeper_seq_;
  }
}

void Supervisor::kill_orphans_if_any(const std::vector<pid_t>& also_known) {
  if (orphans_possible_ && containment_.kind() == Containment::Kind::Subreaper) {
    // What escaped a task that has ended is now the engine's child: kill it. Its own
    // children come to the engine in turn when it dies, and are killed on that reap.
    std::vector<pid_t> known = also_known;
    for (auto& [task, a] : running_) {
      if (a->pid > 0) known.push_back(a->pid);
    }
    if (keeper_) known.push_back(keeper_->pid());
    for (auto& [pid, job] : hooks_) known.push_back(pid);
    kill_orphans(known);
  }
  orphans_possible_ = false;
}

}  // namespace jr
