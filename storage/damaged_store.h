// A store jr cannot read, and what to do about it: every error for a damaged jr.db (not a
// database at all, a torn or truncated file, a malformed page found by any query) is one line
// with the path and the way out, whatever command met it. And the way out itself: `jr run
// --fresh` sets an unreadable store aside under a dated name, with its -wal and -shm, and
// never deletes it (it may hold results someone can still recover with sqlite3's .recover).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "base/result.h"

namespace jr {

// Corrupt: "PATH is damaged (WHY); `jr run --fresh` moves it aside and starts afresh, or restore it from a copy".
Error damaged_store(const std::string& path, const std::string& why);

// Opens the store at `path` read-only and reads every page of it (SQLite's quick_check):
// ok when jr can use it; NotFound when there is none; else the error that opening or reading met.
Status check_store_readable(const std::filesystem::path& path);

// Renames `path` and its -wal and -shm (those that exist) to PATH.broken-YYYYmmdd-HHMMSS
// (local time `when`), the -wal and -shm keeping their suffix after it, so that SQLite finds
// them together. Returns the new name of the store. REQUIRES: no one has the store open (the
// caller holds the engine lock). Io error, naming the file, when a rename fails.
Result<std::filesystem::path> set_store_aside(const std::filesystem::path& path,
                                              std::chrono::system_clock::time_point when);

}  // namespace jr
