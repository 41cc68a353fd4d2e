// The trust rule of a state directory (docs/DESIGN.md, "Trust boundaries").
//
// An engine runs the commands its store holds and appends to files it finds in DIR, as the
// user who starts it. So, as ssh's StrictModes and git's safe.directory do, it uses only a
// directory that this user owns and no one else can write, holding entries of the same kind,
// none of them a symbolic link: another user able to write DIR could otherwise swap a task's
// command in jr.db, or point a log at a file of their choosing, and have root run or write it.
// Readers (jr status --state, jr logs …) do not apply it: reading another user's state is fine.
// Errors are one line naming the path, what is wrong with it and what to do.
#pragma once

#include <filesystem>

#include "base/result.h"

namespace jr {

// Creates DIR (and its parents) if needed, makes it 0700, then checks DIR and each entry an
// engine uses in it (jr.db and its -wal and -shm, lock, board, logs/, work/). Called with the
// directory as the user named it: DIR itself may be a symbolic link, nothing inside it may.
Status prepare_state_dir(const std::filesystem::path& state_dir);

// A directory jr keeps inside DIR (logs/, work/ and what is below them): made 0700 when it is
// missing, else checked to be a directory, not a symbolic link, owned by this user and
// writable by no one else.
Status make_private_dir(const std::filesystem::path& path);

// The error for a symbolic link found where jr keeps a file or directory of its own.
Error symbolic_link_refused(const std::filesystem::path& path);

}  // namespace jr
