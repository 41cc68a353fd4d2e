#include "storage/engine_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/state_files.h"

namespace jr {
namespace {

struct flock whole_file(short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  return fl;
}

}  // namespace

Result<std::unique_ptr<EngineLock>> EngineLock::acquire(const std::filesystem::path& dir) {
  auto path = state_files::lock(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(ErrorCode::Io, "cannot open " + path.string() + ": " + std::strerror(errno));
  struct flock fl = whole_file(F_WRLCK);
  if (::fcntl(fd, F_SETLK, &fl) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EAGAIN || err == EACCES) {
      return make_error(ErrorCode::Conflict, "another jr engine (pid " + std::to_string(holder(dir)) +
                                                 ") is using " + dir.string());
    }
    return make_error(ErrorCode::Io, "cannot lock " + path.string() + ": " + std::strerror(err));
  }
  return std::unique_ptr<EngineLock>(new EngineLock(fd));
}

EngineLock::~EngineLock() { ::close(fd_); }

int EngineLock::holder(const std::filesystem::path& dir) {
  auto path = state_files::lock(dir);
  // Only a process that does not hold the lock may call this: closing fd below would drop a
  // lock this process held on the same file. Readers ask of any directory: a FIFO or a link
  // in place of the lock must not block them or lead them elsewhere.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return 0;
  struct flock fl = whole_file(F_WRLCK);
  int pid = 0;
  if (::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) pid = fl.l_pid;
  ::close(fd);
  return pid;
}

}  // namespace jr
