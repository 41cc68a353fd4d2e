// How the read-only views show tasks whose engine is gone (storage/engine_gone.h): as what
// they are, interrupted tasks that the next engine resumes, with one line that says so. The
// record is left as it is ("running" until an engine recovers it); only what is shown changes.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "storage/engine_gone.h"

namespace jr {

// "the engine that ran this job is gone (pid N); these tasks will be resumed"
std::string engine_gone_line(const GoneEngine& gone);
// A task's note: "engine gone (pid N); will be resumed".
std::string engine_gone_note(const GoneEngine& gone);
// Counts: the running ones become interrupted.
void show_engine_gone(StateCounts& counts);
// A job object (daemon/queries.h job_json): its counts and state as above, and
// "engine_gone": {"pid": N} (null pid when not known).
void show_engine_gone(nlohmann::json& job, const GoneEngine& gone);
// Task objects (tasks_json): a running one becomes interrupted, with the note as its detail.
void show_engine_gone_tasks(nlohmann::json& tasks, const GoneEngine& gone);

}  // namespace jr
