#include "cli/daemon/log_file.h"

#include <sys/stat.h>

namespace jr {

bool still_named(int fd, const std::filesystem::path& path) {
  struct stat open_file {}, named {};
  return ::fstat(fd, &open_file) == 0 && ::stat(path.c_str(), &named) == 0 &&
         open_file.st_ino == named.st_ino && open_file.st_dev == named.st_dev;
}

}  // namespace jr
