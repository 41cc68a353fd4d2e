// spawn_task: starting one task attempt as its own process group.
//
// The child gets stdin from /dev/null, stdout and stderr appended directly to its log files
// (never a pipe through the engine, so an engine that dies cannot stall or SIGPIPE it), an
// empty signal mask and default signal dispositions, its own process group (pgid = pid), and
// exactly the environment given. The engine's descriptors are all close-on-exec, so the child
// inherits none of them.
//
// A vfork, not posix_spawn: glibc's posix_spawn maps a fresh stack for every child and resets
// all 64 signal dispositions in it, a system call each, while the engine waits; that is a
// fifth of a short task's start. Here the child resets only the dispositions that are not
// already default (found once: the caller installs no signal handler after its first spawn)
// and makes system calls only, on data prepared before the vfork. A CPU set is applied by
// pinning the (single-threaded) engine for the duration of the spawn: the child inherits the
// mask from its first instruction, which setting it afterwards could not guarantee.
//
// With a cgroup, the child is created inside it by clone3(CLONE_VM | CLONE_VFORK |
// CLONE_INTO_CGROUP) (engine/clone_vm.h): a vfork straight into the group. Not a migration
// after the fact, which would cost a task's start a fifth again (it waits for an RCU grace
// period), nor a copying clone3, which costs a third (page tables, then copy-on-write faults).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

struct SpawnRequest {
  std::vector<std::string> argv;   // argv[0] is looked up in the engine's PATH
  std::vector<std::string> env;    // "NAME=value" entries, complete
  std::string cwd;                 // empty: the engine's
  std::string stdout_path;         // absolute
  std::string stderr_path;         // absolute
  std::vector<int> cpu_ids;        // non-empty: the only CPUs the task may run on
  int cgroup_fd = -1;              // >= 0: a cgroup v2 group the child is created in
  bool subreaper = false;          // the child is a child subreaper (engine/containment.h)
};

// The pid of the started child (also its process group id), or an Io error naming the
// command when it could not be started (not found, not executable, bad cwd).
Result<pid_t> spawn_task(const SpawnRequest& request);

}  // namespace jr
