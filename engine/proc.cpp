#include "engine/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "base/duration.h"

namespace jr {
namespace {

std::string read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (1 << 20)) break;
  }
  ::close(fd);
  return out;
}

// The fields of /proc/PID/stat after the command name, which may itself hold spaces and
// parentheses: field 3 (state) is fields[0].
std::vector<std::string> stat_fields(pid_t pid) {
  std::string s = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = s.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::size_t i = close + 2;
  while (i < s.size()) {
    auto j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    fields.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return fields;
}

bool alive(pid_t pid) {
  auto f = stat_fields(pid);
  return !f.empty() && f[0] != "Z" && f[0] != "X";
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (!d) return pids;
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == '\0' && v > 0) pids.push_back(static_cast<pid_t>(v));
  }
  ::closedir(d);
  return pids;
}

}  // namespace

// Linux 6.15's PIDFD_GET_INFO, spelled out here: Debian 12's kernel headers predate it.
// The struct is the first version of the kernel's (extensible: a newer kernel fills as much
// of it as the size in the request number says).
struct PidfdInfo {
  std::uint64_t mask;
  std::uint64_t cgroupid;
  std::uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  std::int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr std::uint64_t kPidfdInfoExit = 1u << 3;

PidfdExit pidfd_exit(int pidfd) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  PidfdExit out;
  if (::ioctl(pidfd, kPidfdGetInfo, &info) != 0) {
    // ESRCH: reaped, and the kernel keeps no exit for it (one that knows PIDFD_GET_INFO but
    // not PIDFD_INFO_EXIT); ENOTTY, EINVAL: no PIDFD_GET_INFO at all.
    out.supported = false;
    return out;
  }
  if (info.mask & kPidfdInfoExit) out.status = info.exit_code;
  return out;
}

std::int64_t process_start_time(pid_t pid) {
  auto f = stat_fields(pid);
  // starttime is field 22 of stat, so index 19 of the fields after the name.
  if (f.size() < 20) return 0;
  return std::strtoll(f[19].c_str(), nullptr, 10);
}

std::int64_t boot_ticks_now() {
  static const std::int64_t ticks_per_s = [] {
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? t : 100;
  }();
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  // As the kernel's nsec_to_clock_t: whole ticks, rounded down.
  return static_cast<std::int64_t>(ts.tv_sec) * ticks_per_s + ts.tv_nsec / (1'000'000'000 / ticks_per_s);
}

// The first variable of `pid`'s environment that starts with `prefix`, whole; empty: none.
static std::string env_entry(pid_t pid, const std::string& prefix) {
  std::string env = read_small_file("/proc/" + std::to_string(pid) + "/environ");
  std::size_t i = 0;
  while (i < env.size()) {
    auto j = env.find('\0', i);
    if (j == std::string::npos) j = env.size();
    if (env.compare(i, prefix.size(), prefix) == 0) return env.substr(i, j - i);
    i = j + 1;
  }
  return {};
}

static bool has_env_prefix(pid_t pid, const std::string& prefix) { return !env_entry(pid, prefix).empty(); }

std::vector<pid_t> processes_with_env_prefix(const std::string& prefix) {
  std::vector<pid_t> out;
  pid_t self = getpid();
  for (pid_t pid : all_pids()) {
    if (pid != self && has_env_prefix(pid, prefix) && alive(pid)) out.push_back(pid);
  }
  return out;
}

Status kill_carriers(const std::string& prefix, const std::vector<std::string>& spared, std::int64_t timeout_ms) {
  std::int64_t deadline = monotonic_ms() + timeout_ms;
  pid_t own_group = ::getpgrp();
  auto is_spared = [&](pid_t pid) {
    return !spared.empty() && std::find(spared.begin(), spared.end(), env_entry(pid, prefix)) != spared.end();
  };
  for (;;) {
    auto found = processes_with_env_prefix(prefix);
    std::erase_if(found, is_spared);
    if (found.empty()) return {};
    if (monotonic_ms() > deadline) {
      return make_error(ErrorCode::Unavailable, std::to_string(found.size()) +
                                                    " leftover task processes survive SIGKILL (pid " +
                                                    std::to_string(found.front()) + ")");
    }
    for (pid_t pid : found) {
      // A pidfd pins the process: once it is open, the token is checked again, and a pid
      // reused since the scan is never signalled.
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      if (fd < 0) continue;  // gone already
      if (has_env_prefix(pid, prefix) && !is_spared(pid)) {
        // The whole group at once: a child forked after the scan is in it, and dies with it.
        pid_t group = ::getpgid(pid);
        pollfd exited{fd, POLLIN, 0};
        bool still_ours = ::poll(&exited, 1, 0) == 0;  // alive, so `group` was read from it
        if (still_ours && group > 0 && group != own_group) ::kill(-group, SIGKILL);
        ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
      }
      ::close(fd);
    }
    timespec ts{0, 2'000'000};
    nanosleep(&ts, nullptr);
  }
}

std::vector<pid_t> processes_in_group(pid_t pgid) {
  std::vector<pid_t> out;
  std::string want = std::to_string(pgid);
  for (pid_t pid : all_pids()) {
    auto f = stat_fields(pid);
    // pgrp is field 5: index 2 after the name.
    if (f.size() > 2 && f[2] == want && f[0] != "Z" && f[0] != "X") out.push_back(pid);
  }
  return out;
}

Status kill_and_wait(const std::vector<pid_t>& pids, std::int64_t timeout_ms) {
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  std::int64_t deadline = monotonic_ms() + timeout_ms;
  // These are not our children, so there is nothing to wait on but /proc: poll briefly.
  for (;;) {
    bool any = false;
    for (pid_t pid : pids) any = any || alive(pid);
    if (!any) return {};
    if (monotonic_ms() > deadline) {
      return make_error(ErrorCode::Unavailable, "leftover task processes survive SIGKILL");
    }
    timespec ts{0, 2'000'000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace jr
