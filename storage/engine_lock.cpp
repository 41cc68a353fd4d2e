#include "storage/engine_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

Status prepare_state_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create state directory " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0 && errno != EPERM) {
    return make_error(ErrorCode::Io, "cannot use state directory " + dir.string() + ": " + std::strerror(errno));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return make_error(ErrorCode::Io, "cannot write to state directory " + dir.string() + ": " + std::strerror(errno));
  }
  return {};
}

Result<std::unique_ptr<EngineLock>> EngineLock::acquire(const std::filesystem::path& dir) {
  auto path = dir / "lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
  auto path = dir / "lock";
  // Only a process that does not hold the lock may call this: closing fd below would drop a
  // lock this process held on the same file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock fl = whole_file(F_WRLCK);
  int pid = 0;
  if (::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) pid = fl.l_pid;
  ::close(fd);
  return pid;
}

}  // namespace jr
