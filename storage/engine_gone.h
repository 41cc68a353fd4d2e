// GoneEngine: tasks a store records as running while no engine holds its state directory's
// lock. The engine that ran them died (kill -9, the OOM killer, a node crash) before it could
// record how they ended; the next engine's recovery marks them interrupted and runs them
// again. Until then the read-only views (status, tasks, stats, run --explain) say so.
//
// Reads only: a read-only command never writes to the store, so the record stays "running"
// until an engine recovers it. Works on a read-write or read-only Store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

struct GoneEngine {
  std::int64_t pid = 0;  // of the latest engine run, when it recorded no end; 0: not known
  // Its last sign of life (storage/engine_runs.h): the tasks it left running are counted as
  // having run until then, never until now. 0: no engine run is recorded.
  std::int64_t last_seen_ms = 0;
  // Its keeper's socket is still there (engine/keeper.h): the tasks run on under it, and the
  // next engine adopts them instead of resuming them.
  bool kept = false;
};

// None when an engine holds `state_dir`'s lock or the store records no running task.
Result<std::optional<GoneEngine>> find_gone_engine(Store& store, const std::filesystem::path& state_dir);

}  // namespace jr
