// Checkpoints and results: the bytes a task hands the store to keep across attempts.
//
// A checkpoint is a set of files from the task's JR_CHECKPOINT_DIR (read and restored by
// storage/checkpoint_files.h), packed into one cereal archive and stored as one row, in one
// transaction: a save interrupted at any point leaves the previous checkpoint intact. The last
// `keep` checkpoints of a task are kept. A result is one blob per task, replaced by a later
// save (the Python API's return values).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/checkpoint_files.h"
#include "storage/store.h"

namespace jr {

struct CheckpointInfo {
  std::int64_t seq = 0;
  std::int64_t created_ms = 0;
  std::int64_t size = 0;    // bytes of the stored archive
  int attempt = 0;
};

std::string encode_checkpoint(const std::vector<CheckpointFile>& files);
Result<std::vector<CheckpointFile>> decode_checkpoint(const std::string& blob);

// Store operations (one transaction each, or part of the caller's).
Result<CheckpointInfo> save_checkpoint(Store& store, TaskId task, const std::string& archive, int keep);
Result<std::vector<CheckpointInfo>> list_checkpoints(Store& store, TaskId task);
// The archive of checkpoint `seq`, or of the latest one when seq is 0; NotFound if none.
Result<std::string> load_checkpoint(Store& store, TaskId task, std::int64_t seq);
Status save_result(Store& store, TaskId task, const std::string& bytes);
Result<std::string> load_result(Store& store, TaskId task);

}  // namespace jr
