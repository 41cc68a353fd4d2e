// Containment: how an engine makes sure that ending a task ends every process the task started,
// however it left the task's process group or session (setsid, a double fork, `env -i`).
//
// One of two kinds, chosen once per engine by Containment::open:
//  - Cgroup: the engine makes a cgroup v2 group of its own, a child of the cgroup it runs in
//    (jrd's unit has Delegate=yes; as root anywhere), with one child group per worker slot.
//    Each task is created inside its slot's group (clone3 with CLONE_INTO_CGROUP: no migration,
//    no group made per task, so it costs nothing per task). When a task ends and its slot's
//    group still holds a process, the slot's cgroup.kill kills every process in it at once,
//    racing no fork. A killed group is not used again: Linux (seen on 6.18) kills every child
//    later cloned into a group that was once killed, so the slot moves to a new group and the
//    old one is removed once empty. After a kill -9 of the engine, the next one kills the whole
//    recorded group the same way (kill_group_tree).
//  - Subreaper: where no group can be made (no cgroup2 mount, no cgroup.kill before Linux 5.14,
//    a cgroup not writable by this user). The engine is a child subreaper and so is each task's
//    first process: a descendant that escapes the task's process group is reparented to the
//    task while it runs, and to the engine once it has ended, which kills every child it does
//    not know (kill_orphans). What it cannot see: after a kill -9 of the engine, a descendant
//    that left the process group and also dropped JR_RUN from its environment.
// The engine is a child subreaper in both kinds, so that escaped processes are reaped by it.
//
// JR_CONTAINMENT=subreaper forces the second kind; JR_CONTAINMENT=cgroup refuses to start
// without a group. Linux only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

class Containment {
 public:
  enum class Kind { Cgroup, Subreaper };

  // Chooses the kind and, for Cgroup, creates the group `name` (a single path component) and
  // its `slots` slot groups. Usage error for a bad JR_CONTAINMENT; Unavailable when
  // JR_CONTAINMENT=cgroup and no group can be made.
  static Result<Containment> open(const std::string& name, int slots);
  Containment() = default;
  Containment(Containment&& other) noexcept;
  Containment& operator=(Containment&& other) noexcept;
  // Kills what is left in the groups and removes them once empty (waiting briefly for killed
  // processes to go); unless spare_group() was called.
  ~Containment();
  // Tasks a keeper keeps run on after the engine (engine/keeper.h): leave the group as it is,
  // for the next engine to adopt and remove.
  void spare_group() { spared_ = true; }

  Kind kind() const { return kind_; }
  // "cgroup /sys/fs/cgroup/…/jr-…" or "subreaper": what `jr ping --json` and --explain show.
  std::string describe() const;
  // The engine's group (absolute path); empty for Subreaper.
  const std::string& group() const { return group_; }
  // Subreaper: why no cgroup could be had ("JR_CONTAINMENT=subreaper", "no cgroup2 mount", …).
  const std::string& fallback_reason() const { return fallback_reason_; }

  // A descriptor of slot `slot`'s group (1-based), for spawn_task; -1 for Subreaper, and when
  // a new group for the slot cannot be made (the task then runs in the engine's own).
  int slot_group_fd(int slot);
  // CPU time used so far by every process that ran in slot `slot`'s current group (cgroup2's
  // cpu.stat, which every group has, with or without the cpu controller); nullopt for
  // Subreaper, or when it cannot be read. Read when a task starts in the group and again when
  // it ends, the difference counts the task's escaped descendants too, which the rusage of its
  // first process misses.
  struct CpuTime {
    std::int64_t user_us = 0;
    std::int64_t system_us = 0;
  };
  std::optional<CpuTime> slot_cpu(int slot) const;
  // A task of slot `slot` has ended: SIGKILLs whatever it left in the slot's group.
  void end_slot(int slot);
  // SIGKILLs every process in slot `slot`'s group (none for Subreaper).
  void kill_slot(int slot);
  // The keeper (engine/keeper.h) killed slot `slot`'s group: never clone into it again.
  void slot_was_killed(int slot);
  // The path of slot `slot`'s group as slot_group_fd would give it, for a keeper to open;
  // empty when it has none.
  std::string slot_group(int slot);

 private:
  struct Slot {
    std::string path;
    int fd = -1;         // O_PATH|O_DIRECTORY
    // Its cpu.stat and cgroup.events, read every task: open while the group is the slot's, each
    // read by a pread at 0 (the kernel writes the file anew), not an open, reads and a close.
    int cpu_stat = -1;
    int events = -1;
    int generation = 0;
    bool killed = false;  // cgroup.kill was written: never clone into it again
    void open_files();
    void close_files();
  };
  void close_slots();

  Kind kind_ = Kind::Subreaper;
  std::string group_;
  std::string fallback_reason_;
  std::vector<Slot> slots_;
  std::vector<std::string> retired_;  // killed slot groups, removed once empty
  bool spared_ = false;
};

// The absolute path of the cgroup2 group this process is in; empty when there is no cgroup2
// mount or the process's group is not below it.
std::string own_cgroup();

// Whether `path` is a cgroup2 group whose last component starts with `name_prefix` (a group jr
// made for this store, never another's).
bool is_jr_group(const std::string& path, const std::string& name_prefix);

// Kills every process in group `path` and below, waits up to `timeout_ms` until none is left,
// then removes the group and its children. A group that no longer exists is fine. Unavailable
// when processes survive the timeout.
Status kill_group_tree(const std::string& path, std::int64_t timeout_ms);

// Whether the group whose cgroup.events is open as `events_fd` holds a process, read afresh;
// false when it cannot be read.
bool group_populated(int events_fd);
// Writes cgroup.kill of the group at `path` when it still holds a process; whether it did.
bool kill_group_if_populated(const std::string& path);
// The same, for a group whose cgroup.events is open as `events_fd` (read afresh).
bool kill_group_if_populated(const std::string& path, int events_fd);
// Writes cgroup.kill of the group at `path`.
void kill_group_now(const std::string& path);

// Subreaper kind: SIGKILLs every child of this process (and its process group) that is not in
// `known`. Called once tasks have ended: a child the engine did not start is a descendant
// that escaped a task that has ended.
void kill_orphans(const std::vector<pid_t>& known);

}  // namespace jr
