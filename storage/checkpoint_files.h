// The files of a checkpoint or a result: read from where a task left them, written back where
// a checkpoint is restored.
//
// Every path here is hostile (docs/DESIGN.md, "Trust boundaries"): a task, or whoever made the
// directory a checkpoint is restored into, chose what is there. So a read takes regular files
// only, each opened without following a link and without blocking (a FIFO must not stall the
// engine), and refuses a file too big from its fstat size, before reading a byte. A write goes
// through directory descriptors one name at a time, never through a link, creates each file
// afresh and renames it into place, and gives it no setuid, setgid or sticky bit. Each call
// returns one error naming the file it refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

struct CheckpointFile {
  std::string path;         // relative to the checkpoint directory
  std::uint32_t mode = 0600;
  std::string bytes;
};

// Reads `files` (relative to `dir`, or absolute inside it; a directory stands for the regular
// files below it), or every regular file below `dir` when `files` is empty. Refuses a symbolic
// link, a FIFO or anything else that is not a regular file or a directory, and a total above
// `max_bytes`, naming both sizes.
Result<std::vector<CheckpointFile>> read_checkpoint_files(const std::filesystem::path& dir,
                                                          const std::vector<std::string>& files,
                                                          std::uint64_t max_bytes);
// The bytes of the regular file `path` (a result), refused as above; `limit_flag` names the
// option that set `max_bytes`.
Result<std::string> read_task_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                                   const std::string& limit_flag);

// Writes an archive's files below `dir`, which must exist and may itself be a link (the caller
// names it); each file whole (temp + rename), so a crash leaves old or new bytes, never a torn
// file. Corrupt error for a name that is absolute, empty or holds "..".
Status write_checkpoint_files(const std::filesystem::path& dir, const std::vector<CheckpointFile>& files);

}  // namespace jr
