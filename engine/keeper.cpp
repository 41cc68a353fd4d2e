#include "engine/keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "base/duration.h"
#include "engine/containment.h"
#include "engine/keeper_wire.h"
#include "engine/proc.h"
#include "storage/state_files.h"

namespace jr::keeper {

namespace fs = std::filesystem;

fs::path socket_path(const fs::path& dir) { return dir / state_files::kKeeperSocket; }
fs::path journal_path(const fs::path& dir) { return dir / state_files::kKeeperJournal; }

std::string short_socket_address(int dir_fd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

namespace {

// The keeper's whole life, in the forked child. Never returns.
class Keeper {
 public:
  Keeper(int engine_fd, int dir_fd, std::string state_id) : engine_(engine_fd), dir_fd_(dir_fd), state_id_(std::move(state_id)) {}

  [[noreturn]] void run() {
    if (!open_files()) ::_exit(1);
    for (;;) {
      if (engine_ < 0 && children_.empty()) leave();
      pollfd fds[3] = {{signals_, POLLIN, 0}, {listener_, POLLIN, 0}, {engine_, POLLIN, 0}};
      int n = ::poll(fds, engine_ >= 0 ? 3 : 2, -1);
      if (n < 0) continue;  // EINTR
      if (fds[0].revents) on_signal();
      if (fds[1].revents) on_connection();
      if (engine_ >= 0 && fds[2].revents) on_engine();
    }
  }

 private:
  bool open_files() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    signals_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    journal_ = ::openat(dir_fd_, state_files::kKeeperJournal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (signals_ < 0 || journal_ < 0 || listener_ < 0) return false;
    ::unlinkat(dir_fd_, state_files::kKeeperSocket, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string where = short_socket_address(dir_fd_, state_files::kKeeperSocket);
    std::strncpy(addr.sun_path, where.c_str(), sizeof addr.sun_path - 1);
    return ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(listener_, 4) == 0;
  }

  // No engine and no task: nothing left to keep.
  [[noreturn]] void leave() {
    ::unlinkat(dir_fd_, state_files::kKeeperSocket, 0);
    if (unacked_.empty()) ::unlinkat(dir_fd_, state_files::kKeeperJournal, 0);
    ::_exit(0);
  }

  void on_signal() {
    signalfd_siginfo info;
    while (::read(signals_, &info, sizeof info) == sizeof info) {
      // SIGTERM changes nothing: the tasks decide when the keeper may go.
    }
    reap();
  }

  void reap() {
    bool reaped_any = false;
    for (;;) {
      siginfo_t info{};
      if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
      pid_t pid = info.si_pid;
      auto it = children_.find(pid);
      bool group_killed = false;
      // As the engine does: the leader is an unreaped zombie, so neither its pid nor its
      // process group can have been reused; what the task left behind dies before the reap.
      if (it != children_.end()) {
        const std::string& group = it->second.child.group;
        if (!group.empty()) group_killed = kill_group_if_populated(group, group_files(group).events);
        ::kill(-pid, SIGKILL);
      }
      int status = 0;
      rusage ru{};
      if (::wait4(pid, &status, 0, &ru) != pid) break;
      reaped_any = true;
      if (it == children_.end()) continue;  // a descendant that escaped a task
      Ended e;
      e.seq = ++seq_;
      e.task = it->second.child.task;
      e.attempt = it->second.child.attempt;
      e.pid = pid;
      if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
      e.utime_ms = tv_ms(ru.ru_utime);
      e.stime_ms = tv_ms(ru.ru_stime);
      e.maxrss_kb = ru.ru_maxrss;
      e.end_ms = now_ms();
      e.group_killed = group_killed || it->second.group_killed;
      children_.erase(it);
      // In the journal before the engine hears of it: an exit outlives the death of both.
      std::string line = journal_line(e);
      (void)!::write(journal_, line.data(), line.size());
      unacked_.push_back(e);
      // An engine that has not said Hello yet learns of it in its Welcome.
      if (engine_ >= 0 && greeted_ && !send_all(engine_, encode(e))) drop_engine();
    }
    if (reaped_any && subreaper_) {
      std::vector<pid_t> known;
      for (auto& [pid, c] : children_) known.push_back(pid);
      kill_orphans(known);
    }
  }

  void on_connection() {
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::getuid()) {
      ::close(fd);
      return;
    }
    // Only one engine holds the state's lock: a new one means the last one is gone.
    drop_engine();
    forget_groups();
    engine_ = fd;
    greeted_ = false;
  }

  // Group `path`'s directory (for CLONE_INTO_CGROUP) and cgroup.events, opened at the group's
  // first use and kept, rather than opened and closed by every spawn and reap. Kept only while
  // the same engine connects: a path names another group once an engine's pid is reused.
  struct GroupFiles {
    int dir = -1;
    int events = -1;
  };
  GroupFiles group_files(const std::string& path) {
    if (auto it = groups_.find(path); it != groups_.end()) return it->second;
    GroupFiles g;
    g.dir = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (g.dir < 0) return g;
    g.events = ::openat(g.dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
    // Slot groups renewed after kills leave old paths behind: a bound on what stays open.
    if (groups_.size() >= kMaxOpenGroups) forget_groups();
    groups_.emplace(path, g);
    return g;
  }

  void forget_groups() {
    for (auto& [path, g] : groups_) {
      ::close(g.dir);
      if (g.events >= 0) ::close(g.events);
    }
    groups_.clear();
  }

  void drop_engine() {
    if (engine_ >= 0) ::close(engine_);
    engine_ = -1;
    reader_ = FrameReader();
  }

  void on_engine() {
    char buf[65536];
    ssize_t n = ::recv(engine_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return drop_engine();
    reader_.append(buf, static_cast<std::size_t>(n));
    for (;;) {
      auto frame = reader_.next();
      if (!frame) return drop_engine();
      if (!*frame) return;
      if (!handle(**frame)) return drop_engine();
      if (engine_ < 0) return;
    }
  }

  bool handle(const Frame& f) {
    switch (f.op) {
      case Op::Hello: {
        auto hello = decode_hello(f.payload);
        if (!hello) return false;
        Welcome w;
        w.state_id = state_id_;
        w.keeper_pid = ::getpid();
        for (auto& [pid, c] : children_) w.children.push_back(c.child);
        w.ended = unacked_;
        if (!send_all(engine_, encode(w))) return false;
        greeted_ = true;
        return hello->version == kVersion && hello->state_id == state_id_;
      }
      case Op::Spawn: {
        auto order = decode_spawn(f.payload);
        if (!order) return false;
        return send_all(engine_, encode(spawn(*order)));
      }
      case Op::Signal: {
        auto order = decode_signal(f.payload);
        if (!order) return false;
        signal(*order);
        return true;
      }
      case Op::Ack: {
        auto ack = decode_ack(f.payload);
        if (!ack) return false;
        std::erase_if(unacked_, [&](const Ended& e) { return e.seq <= ack->seq; });
        // Every exit in the journal is in the store: start it afresh.
        if (unacked_.empty()) (void)!::ftruncate(journal_, 0);
        return true;
      }
      default: return false;
    }
  }

  Spawned spawn(SpawnOrder& order) {
    Spawned reply;
    reply.task = order.child.task;
    reply.attempt = order.child.attempt;
    if (order.request.subreaper) subreaper_ = true;
    order.request.cgroup_fd = order.child.group.empty() ? -1 : group_files(order.child.group).dir;
    std::int64_t before = boot_ticks_now();
    auto pid = spawn_task(order.request);
    std::int64_t after = boot_ticks_now();
    if (!pid) {
      reply.error = pid.error().message;
      return reply;
    }
    order.child.pid = *pid;
    order.child.proc_start = before == after ? before : process_start_time(*pid);
    reply.pid = *pid;
    reply.proc_start = order.child.proc_start;
    children_[*pid] = Kept{order.child, false};
    return reply;
  }

  void signal(const SignalOrder& order) {
    auto it = std::find_if(children_.begin(), children_.end(), [&](const auto& c) {
      return c.second.child.task == order.task && c.second.child.attempt == order.attempt;
    });
    // Reaped already (its exit is on its way), or it never started (its Spawned said why).
    if (it == children_.end()) return;
    ::kill(-it->first, order.signal);
    if (order.kill_group && !it->second.child.group.empty()) {
      kill_group_now(it->second.child.group);
      it->second.group_killed = true;
    }
  }

  struct Kept {
    Child child;
    bool group_killed = false;
  };

  int engine_;
  bool greeted_ = true;  // the engine that forked it needs no Welcome
  int dir_fd_;
  std::string state_id_;
  int signals_ = -1;
  int journal_ = -1;
  int listener_ = -1;
  bool subreaper_ = false;
  std::uint64_t seq_ = 0;
  FrameReader reader_;
  static constexpr std::size_t kMaxOpenGroups = 64;
  std::unordered_map<std::string, GroupFiles> groups_;
  std::unordered_map<pid_t, Kept> children_;
  std::vector<Ended> unacked_;
};

}  // namespace

Result<Started> start(const fs::path& dir, const std::string& state_id) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return make_error(ErrorCode::Io, std::string("cannot start a keeper: ") + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    return make_error(ErrorCode::Io, std::string("cannot start a keeper: ") + std::strerror(e));
  }
  if (pid == 0) {
    // Nothing of the engine's may stay open here: above all not its lock, which a new engine
    // must be able to take while this keeper lives, nor a pipe a reader waits on to close.
    ::setsid();
    int dir_fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::dup3(pair[1], 3, O_CLOEXEC) < 0 || ::dup3(dir_fd, 4, O_CLOEXEC) < 0) ::_exit(1);
    ::close_range(5, ~0U, 0);
    int null_fd = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
    if (null_fd > 2) ::close(null_fd);
    // The signals that would end or interrupt it reach it through signalfd, or not at all; a
    // task starts with an empty mask (engine/spawn.h), so none of this reaches the tasks.
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) sigaddset(&mask, sig);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    // Named apart from the engine in ps and top, and spared by a `killall jr` meant for it.
    ::prctl(PR_SET_NAME, "jr-keeper", 0, 0, 0);
    Keeper(3, 4, state_id).run();
  }
  ::close(pair[1]);
  return Started{pair[0], pid};
}

}  // namespace jr::keeper
