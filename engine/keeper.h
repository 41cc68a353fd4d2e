// Keeper: the process that starts and reaps an engine's tasks, so that a task outlives the
// engine that started it (docs/DESIGN.md, "Tasks that outlive the engine").
//
// Only a process's parent (or the subreaper it is reparented to) learns its exit status. So
// the engine forks one keeper, in a session of its own, a child subreaper that opens no SQLite
// and holds none of the engine's descriptors (not its lock: a new engine can start while the
// keeper lives). The keeper creates every task the engine asks for (engine/spawn.h, into the
// cgroup named), reaps it, kills what it left in its cgroup or, under the subreaper
// containment, every child it did not start, appends the exit to DIR/keeper.journal with one
// write(), and tells the engine (engine/keeper_wire.h). An exit stays in the journal until an
// engine acknowledges that the store holds it.
//
// While no engine is connected, the keeper listens on DIR/keeper.sock; a new engine of the
// same state connects, is told what runs and what ended, and adopts it. The keeper exits once
// no engine is connected and no task of its lives, removing its socket (and the journal when
// every exit in it was acknowledged): a socket left behind with nobody listening means a keeper
// that was killed. SIGTERM, SIGINT and SIGHUP do not stop it: its tasks end it by ending.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "base/result.h"

namespace jr::keeper {

// The keeper's files in state directory `dir`.
std::filesystem::path socket_path(const std::filesystem::path& dir);
std::filesystem::path journal_path(const std::filesystem::path& dir);

// A socket address for `path` that fits sun_path whatever the length of the directory:
// /proc/self/fd/<dir_fd>/<name>. `dir_fd` must stay open while it is used.
std::string short_socket_address(int dir_fd, const std::string& name);

struct Started {
  int fd = -1;     // the engine's end of the connection (close-on-exec)
  pid_t pid = 0;   // the keeper, a child of the caller until the caller dies
};

// Forks a keeper for the state `state_id` in `dir`, its journal emptied (the caller has
// imported what an earlier keeper left in it). Io error when it cannot.
Result<Started> start(const std::filesystem::path& dir, const std::string& state_id);

}  // namespace jr::keeper
