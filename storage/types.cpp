#include "storage/types.h"

#include <array>

namespace jr {
namespace {
constexpr std::array<std::string_view, kTaskStateCount> kNames = {
    "pending", "running", "succeeded", "failed", "interrupted", "cancelled", "dropped"};
}

std::string_view to_string(TaskState s) {
  auto i = static_cast<std::size_t>(s);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::string partial_path(const std::string& output) {
  auto slash = output.rfind('/');
  std::string dir = slash == std::string::npos ? "" : output.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? output : output.substr(slash + 1);
  return dir + "." + name + ".jr-partial";
}

std::optional<TaskState> parse_task_state(std::string_view s) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) return static_cast<TaskState>(i);
  }
  return std::nullopt;
}

}  // namespace jr
