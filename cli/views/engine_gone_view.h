// How the read-only views show tasks whose engine is gone (storage/engine_gone.h): as what
// they are, interrupted tasks that the next engine resumes, or, when the engine's keeper runs
// them on (GoneEngine::kept), running tasks that the next engine adopts, with one line that
// says so. The record is left as it is ("running" until an engine recovers it); only what is
// shown changes.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "storage/engine_gone.h"

namespace jr {

// "the engine that ran this job is gone (pid N); these tasks will be resumed", or, kept:
// "…; its keeper runs these tasks on, and the next engine adopts them"
std::string engine_gone_line(const GoneEngine& gone);
// A task's note: "engine gone (pid N); will be resumed", or "…; its keeper runs it, the next
// engine adopts it".
std::string engine_gone_note(const GoneEngine& gone);
// Counts: the running ones become interrupted, unless kept.
void show_engine_gone(StateCounts& counts, const GoneEngine& gone);
// {"pid": N, "keeper": true|false} (null pid when not known); null for none.
nlohmann::json engine_gone_json(const std::optional<GoneEngine>& gone);
// A job object (daemon/queries.h job_json): its counts as above, and "engine_gone".
void show_engine_gone(nlohmann::json& job, const GoneEngine& gone);
// Task objects (tasks_json): a running one gets the note as its detail and, unless kept,
// becomes interrupted.
void show_engine_gone_tasks(nlohmann::json& tasks, const GoneEngine& gone);

}  // namespace jr
