// Whether a file system has room left: what tells a full disk from another I/O error.
//
// SQLite names a full disk inconsistently (SQLITE_FULL for a write, a bare "disk I/O error"
// when its -shm file cannot be made), so an error does not say it. The file system does,
// though not exactly: what failed may have freed its few blocks again when asked.
#pragma once

#include <filesystem>

namespace jr {

// True when the file system holding `path` (or, when it does not exist yet, its nearest existing
// ancestor) has less than 1 MiB or no inode left for this user (statvfs's f_bavail, f_favail);
// false when it has more, or cannot be asked. A quota (EDQUOT) is not seen here.
bool file_system_full(const std::filesystem::path& path);

}  // namespace jr
