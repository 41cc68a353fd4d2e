#include "cli/run/failure_reason.h"

#include "base/signals.h"

namespace jr {

std::string failure_reason(const std::string& detail, std::optional<std::int64_t> exit_code,
                           std::optional<std::int64_t> signal) {
  if (!detail.empty()) return detail;
  if (signal) return "failed (" + signal_name(static_cast<int>(*signal)) + ")";
  if (exit_code) return "failed (exit " + std::to_string(*exit_code) + ")";
  return "failed";
}

}  // namespace jr
