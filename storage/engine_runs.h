// Engine runs and their signs of life: what bounds the time a dead engine's tasks ran.
//
// Each engine start is a row of engine_runs (Store::begin_engine_run). While tasks run, the
// engine writes a sign of life into its row about once a second, inside a commit of its turn
// (record_engine_seen). An engine killed with -9 records no end; the next engine's recovery
// closes its run and ends the attempts it left running at its last sign of life: the latest of
// its start, its last heartbeat, and the last event and CPU sample it committed, each a moment
// it was surely alive. Time after that moment is never counted as task time: under containment a task may
// run on while no engine lives, but nothing saw it, so its true end is unknown.
//
// Works on a read-write or read-only Store (record_* and close_* need a read-write one). One
// writer at a time, the engine (storage/store.h).
#pragma once

#include <cstdint>
#include <optional>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

struct LatestEngineRun {
  std::int64_t id = 0;
  std::int64_t pid = 0;
  bool ended = false;             // its end is recorded: it ended, or a later recovery closed it
  std::int64_t last_seen_ms = 0;  // its end when recorded, else its last sign of life
};

// Writes now as the current engine run's (store.engine_run()) last sign of life; nothing
// when the store has begun no engine run. Meant to join the caller's transaction.
Status record_engine_seen(Store& store, std::int64_t now_ms);

// The latest engine run recorded in the store, if any. Until an engine that runs now begins
// its own run, that is the one before it: the one a recovery deals with.
Result<std::optional<LatestEngineRun>> latest_engine_run(Store& store);

// Records `end_ms` as the end of engine run `id` when it recorded none (the engine died).
Status close_engine_run(Store& store, std::int64_t id, std::int64_t end_ms);

}  // namespace jr
