#include "base/free_space.h"

#include <sys/statvfs.h>

namespace jr {

bool file_system_full(const std::filesystem::path& path) {
  constexpr unsigned long long kRoomBytes = 1 << 20;
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return false;
  unsigned long long free_bytes = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
  // f_files is 0 where the file system counts no inodes (btrfs): then only the bytes say.
  return free_bytes < kRoomBytes || (fs.f_files > 0 && fs.f_favail == 0);
}

}  // namespace jr
