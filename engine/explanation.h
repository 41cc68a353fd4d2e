// explanation_json: the plan that --explain shows, as JSON. One builder for both doors, so that
// `jr run --explain` (a state directory) and `jr submit --explain` (jrd, the protocol's
// `submit` with `explain`) say the same things the same way: each task's decision (from
// storage/explain.h, the decisions Store::sync_tasks takes), what each task holds, and how the
// engine contains tasks. `jr` prints it as text with print_explanation (cli/run/run_explain.h).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "engine/containment.h"
#include "storage/engine_gone.h"
#include "storage/explain.h"

namespace jr {

struct ExplainContext {
  std::optional<GoneEngine> gone;    // the engine that left tasks recorded as running is gone
  std::int64_t running_engine = 0;   // else the pid of the engine that runs them now
  const Containment* containment = nullptr;  // what an engine started now has, or jrd's own
};

// {"summary", "tasks", "resources", "containment", "containment_fallback"} (docs/cli.md,
// "jr run --explain --json").
nlohmann::json explanation_json(const Explanation& explanation, const std::function<TaskSpec(std::uint64_t)>& task_at,
                                const ExplainContext& context);

}  // namespace jr
