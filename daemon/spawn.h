// spawn_task: starting one task attempt as its own process group.
//
// The child gets stdin from /dev/null, stdout and stderr appended directly to its log files
// (never a pipe through the engine, so an engine that dies cannot stall or SIGPIPE it), an
// empty signal mask and default signal dispositions, its own process group (pgid = pid), and
// exactly the environment given. Uses posix_spawn, like ninja; the engine's descriptors are all
// close-on-exec, so the child inherits none of them. A CPU set is applied by pinning the
// (single-threaded) engine for the duration of the spawn: the child inherits the mask from
// its first instruction, which setting it afterwards could not guarantee.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

struct SpawnRequest {
  std::vector<std::string> argv;   // argv[0] is looked up in PATH
  std::vector<std::string> env;    // "NAME=value" entries, complete
  std::string cwd;                 // empty: the engine's
  std::string stdout_path;         // absolute
  std::string stderr_path;         // absolute
  std::vector<int> cpu_ids;        // non-empty: the only CPUs the task may run on
};

// The pid of the started child (also its process group id), or an Io error naming the
// command when it could not be started (not found, not executable, bad cwd).
Result<pid_t> spawn_task(const SpawnRequest& request);

}  // namespace jr
