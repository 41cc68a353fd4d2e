// WorkDirs: each worker slot's JR_CHECKPOINT_DIR, DIR/work/<slot>, which must be empty when a
// task starts in the slot (before the task's last checkpoint, if any, is written into it).
//
// Most tasks leave it empty, so the check is on the per-task path: each directory is kept open
// and read from its start, rather than opened, read and closed each time. A directory that is
// not empty, or is no longer the one at its path (a link to it counts as another), is removed
// and made afresh.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

class WorkDirs {
 public:
  WorkDirs(std::filesystem::path root, int slots);
  ~WorkDirs();
  WorkDirs(const WorkDirs&) = delete;
  WorkDirs& operator=(const WorkDirs&) = delete;

  // DIR/work/<slot> (slot is 1-based).
  const std::string& path(int slot) const { return paths_[static_cast<std::size_t>(slot - 1)]; }
  // Makes the slot's directory exist, private and empty.
  Status make_empty(int slot);

 private:
  std::filesystem::path root_;
  std::vector<std::string> paths_;
  std::vector<int> fds_;         // open directories; -1: not yet
  std::vector<struct stat> ids_;  // device and inode of each, when opened
};

}  // namespace jr
