#include "engine/work_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/state_dir.h"

namespace jr {
namespace {


// Whether the open directory `fd` holds nothing but "." and "..". False also when it cannot be
// read (a directory removed from under us reads as an error, not as empty).
bool holds_nothing(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return false;
  alignas(dirent64) char buf[1024];
  int dots = 0;
  for (;;) {
    ssize_t n = ::getdents64(fd, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return dots == 2;
    for (ssize_t at = 0; at < n;) {
      auto* e = reinterpret_cast<dirent64*>(buf + at);
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) return false;
      ++dots;
      at += e->d_reclen;
    }
  }
}

}  // namespace

WorkDirs::WorkDirs(std::filesystem::path root, int slots)
    : root_(std::move(root)), fds_(static_cast<std::size_t>(slots < 1 ? 1 : slots), -1), ids_(fds_.size()) {
  for (std::size_t i = 0; i < fds_.size(); ++i) paths_.push_back((root_ / std::to_string(i + 1)).string());
}

WorkDirs::~WorkDirs() {
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

Status WorkDirs::make_empty(int slot) {
  int& fd = fds_[static_cast<std::size_t>(slot - 1)];
  // Still the directory at its path (a task may have renamed it away, and left a link to it
  // there), and empty.
  auto& opened = ids_[static_cast<std::size_t>(slot - 1)];
  struct stat named {};
  if (fd >= 0 && ::lstat(path(slot).c_str(), &named) == 0 && named.st_ino == opened.st_ino &&
      named.st_dev == opened.st_dev && holds_nothing(fd)) {
    return {};
  }
  if (fd >= 0) ::close(fd);
  fd = -1;
  const std::string& dir = path(slot);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  JR_TRY(make_private_dir(root_));
  JR_TRY(make_private_dir(dir));
  fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || ::fstat(fd, &opened) != 0) {
    if (fd >= 0) ::close(fd);
    fd = -1;
    return make_error(ErrorCode::Io, "cannot open " + dir + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace jr
