#include "base/free_space.h"

#include <sys/statvfs.h>

#include <cerrno>

namespace jr {

bool file_system_full(const std::filesystem::path& path) {
  constexpr unsigned long long kRoomBytes = 1 << 20;
  std::error_code ec;
  std::filesystem::path asked = std::filesystem::absolute(path, ec);
  if (ec) return false;
  // A path not made yet (a state directory whose mkdir found no inode) is on the file system
  // of its nearest existing ancestor.
  struct statvfs fs {};
  while (::statvfs(asked.c_str(), &fs) != 0) {
    if (errno != ENOENT || asked == asked.root_path()) return false;
    asked = asked.parent_path();
  }
  unsigned long long free_bytes = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
  // f_files is 0 where the file system counts no inodes (btrfs): then only the bytes say.
  return free_bytes < kRoomBytes || (fs.f_files > 0 && fs.f_favail == 0);
}

}  // namespace jr
