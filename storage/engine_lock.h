// EngineLock: one engine per state directory.
//
// An fcntl record lock on DIR/lock, held for the life of the engine process. The kernel
// releases it when the process dies, however it dies (kill -9 included), so it can never be
// left stale. This is what boost::interprocess::file_lock does on POSIX; we call fcntl
// ourselves because file_lock does not open its descriptor close-on-exec, and a task must
// not inherit it. The lock file is opened once: closing any descriptor of it would drop the
// lock (fcntl semantics).
#pragma once

#include <filesystem>
#include <memory>

#include "base/result.h"

namespace jr {

class EngineLock {
 public:
  // Takes the lock or fails with Conflict: "another jr engine (pid N) is using DIR".
  static Result<std::unique_ptr<EngineLock>> acquire(const std::filesystem::path& state_dir);
  ~EngineLock();
  EngineLock(const EngineLock&) = delete;
  EngineLock& operator=(const EngineLock&) = delete;

  // The pid of the engine holding DIR's lock, or 0 when none does.
  static int holder(const std::filesystem::path& state_dir);

 private:
  explicit EngineLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace jr
