// `jr run --fresh`: the state directory emptied of a job's record before the engine opens it.
// A store jr can read is deleted with the job's logs, work directories and progress board; one
// it cannot read (damaged, another program's, a newer jr's) is set aside under a dated name
// (storage/damaged_store.h), never deleted, and one line on stderr says where it went.
//
// REQUIRES: the caller holds the engine lock (EngineSession's before_open).
#pragma once

#include <filesystem>

#include "base/result.h"

namespace jr {

Status start_afresh(const std::filesystem::path& state_dir);

}  // namespace jr
