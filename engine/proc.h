// What the engine reads of other processes in /proc, and how it makes sure they are gone.
//
// Used by recovery to find a dead engine's leftover tasks: by recorded process group and
// start time (never the pid alone: pids are reused), and by the JR_RUN token in a process's
// environment. Linux only.
#pragma once

#include <sys/time.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

// A rusage time (ru_utime, ru_stime) in milliseconds: what the engine and the keeper record
// of a reaped task.
inline std::int64_t tv_ms(const timeval& tv) { return static_cast<std::int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000; }

// The start time of `pid` in clock ticks since boot (/proc/PID/stat field 22); 0 if gone.
std::int64_t process_start_time(pid_t pid);
// Now, in the unit and clock of process_start_time (CLOCK_BOOTTIME in clock ticks). A child
// forked between two calls that return the same value has exactly that start time, which
// spares the engine reading /proc for every task it starts.
std::int64_t boot_ticks_now();

// A task attempt's JR_RUN token, "<state id>.<task id>.<attempt>": what its environment
// carries, so that its processes are found by processes_with_env_prefix and kill_carriers.
inline std::string run_token(const std::string& state_id, std::int64_t task, int attempt) {
  return state_id + "." + std::to_string(task) + "." + std::to_string(attempt);
}

// Pids of live (non-zombie) processes whose environment holds a variable starting with
// `prefix` (for example "JR_RUN=3fa9c1."). Processes we may not read are skipped.
std::vector<pid_t> processes_with_env_prefix(const std::string& prefix);

// SIGKILLs every process whose environment holds `prefix`, and the process group each one is
// in, then scans again, until a scan finds none: a process forked between a scan and a kill is
// in a killed group, or found by the next scan. Pids are pinned with a pidfd before they are
// signalled, so a pid reused since the scan is never hit. Unavailable when some survive
// `timeout_ms`.
// Processes whose variable is exactly one of `spared` (adopted attempts' tokens) are left alone.
Status kill_carriers(const std::string& prefix, const std::vector<std::string>& spared, std::int64_t timeout_ms);

// How the process behind `pidfd` ended, as the kernel tells anyone who holds a pidfd
// (PIDFD_INFO_EXIT, Linux 6.15 and later) once its parent, whoever that is, has reaped it.
struct PidfdExit {
  bool supported = true;      // false: this kernel cannot say
  std::optional<int> status;  // its wait status (as waitpid's); none until it is reaped
};
PidfdExit pidfd_exit(int pidfd);

// Pids of live (non-zombie) processes in process group `pgid`.
std::vector<pid_t> processes_in_group(pid_t pgid);

// SIGKILLs `pids` and waits, up to `timeout_ms`, until none of them is alive (a zombie
// counts as gone: it runs no code). Unavailable when some survive.
Status kill_and_wait(const std::vector<pid_t>& pids, std::int64_t timeout_ms);

}  // namespace jr
