// Task references as users type them: "JOB:INDEX" (job id, 0-based task index), or ":INDEX"
// and "INDEX" for the only job of a `jr run` state directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

struct TaskRef {
  std::int64_t job = 0;                  // 0: the state's only (or latest) job
  std::optional<std::int64_t> index;     // none: the whole job
};

Result<TaskRef> parse_task_ref(const std::string& text);
// The task id `text` names in `store`: NotFound with the reference when there is none.
Result<TaskId> resolve_task_ref(Store& store, const std::string& text);

}  // namespace jr
