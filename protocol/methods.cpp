#include "protocol/methods.h"

#include <array>

namespace jr {
namespace {

using P = ParamSpec;
using T = ParamType;
constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();
// Counts and sizes that jr keeps in an int (parallelism, retries, cpus).
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

// What names a job: its id, or the most recent job of a name.
constexpr P kJob{"job", T::Integer, false, 1};
constexpr P kName{"name", T::String};
constexpr std::string_view kJobOrName[] = {"job", "name"};

constexpr P kHello[] = {
    {"protocol", T::Integer, true},
    {"min_protocol", T::Integer},
    {"client", T::String},
};
constexpr P kSubmit[] = {
    {"command", T::Strings},
    {"sources", T::StringArrays},
    {"tasks", T::Strings},
    {"name", T::String},
    {"parallelism", T::Integer, false, 1, kInt32Max},
    {"retries", T::Integer, false, 0, kInt32Max},
    {"timeout_ms", T::Integer, false, 0},
    {"priority", T::Integer, false, kInt32Min, kInt32Max},
    {"after", T::Integer, false, 0},
    {"cwd", T::String},
    {"env", T::StringMap},
    {"shell", T::Bool},
    {"cpus", T::Integer, false, 0, kInt32Max},
    {"gpus", T::Integer, false, 0, kInt32Max},
    {"mem", T::Integer, false, 0},
    {"output", T::String},
    {"keep_checkpoints", T::Integer, false, 1, kInt32Max},
    {"max_checkpoint", T::Integer, false, 0},
    {"max_result", T::Integer, false, 0},
    {"stall_timeout_ms", T::Integer, false, 0},
    {"stall_action", T::String},
    {"expect_ms", T::Integer, false, 0},
    {"on_finish", T::String},
    {"shard_index", T::Integer, false, 0},
    {"shard_count", T::Integer, false, 1},
    {"explain", T::Bool},
};
constexpr std::string_view kCommandOrTasks[] = {"command", "tasks"};
constexpr P kJobOnly[] = {kJob, kName};
constexpr P kList[] = {{"state", T::String}};
constexpr P kTasks[] = {
    kJob, kName, {"state", T::String}, {"index", T::Integer, false, 0},
    {"offset", T::Integer, false, 0}, {"limit", T::Integer, false, 0},
};
constexpr P kEvents[] = {kJob, kName, {"after", T::Integer, false, 0}, {"limit", T::Integer, false, 0}};
constexpr P kCancel[] = {kJob, kName, {"index", T::Integer, false, 0}};
constexpr P kRetry[] = {kJob, kName, {"failed_only", T::Bool}};
constexpr P kCheckpointSave[] = {{"run", T::String, true}, {"files", T::Strings}};
constexpr P kResultSave[] = {{"run", T::String, true}, {"path", T::String, true}};

constexpr std::array<MethodSpec, 13> kMethods = {{
    {"hello", kHello, {}},
    {"ping", {}, {}},
    {"submit", kSubmit, kCommandOrTasks},
    {"status", kJobOnly, kJobOrName},
    {"list", kList, {}},
    {"tasks", kTasks, kJobOrName},
    {"events", kEvents, kJobOrName},
    {"cancel", kCancel, kJobOrName},
    {"pause", kJobOnly, kJobOrName},
    {"resume", kJobOnly, kJobOrName},
    {"retry", kRetry, kJobOrName},
    {"checkpoint.save", kCheckpointSave, {}},
    {"result.save", kResultSave, {}},
}};

}  // namespace

std::span<const MethodSpec> protocol_methods() { return kMethods; }

const MethodSpec* find_method(std::string_view name) {
  for (const MethodSpec& m : kMethods) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string describe_type(const ParamSpec& param) {
  switch (param.type) {
    case ParamType::Integer:
      if (param.max != std::numeric_limits<std::int64_t>::max()) {
        return "integer from " + std::to_string(param.min) + " to " + std::to_string(param.max);
      }
      if (param.min != std::numeric_limits<std::int64_t>::min()) return "integer ≥ " + std::to_string(param.min);
      return "integer";
    case ParamType::String: return "string";
    case ParamType::Bool: return "bool";
    case ParamType::Strings: return "array of strings";
    case ParamType::StringArrays: return "array of arrays of strings";
    case ParamType::StringMap: return "object of strings";
  }
  return "?";
}

}  // namespace jr
