// How a failed task ended, in the words every view uses (jr run's summary, jr tasks, jr stats):
// its last attempt's detail when the engine recorded one ("timed out after 1s (killed after 2s
// grace)", "declared output missing: out.txt"), else "failed (exit 1)" or "failed (SIGSEGV)".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace jr {

std::string failure_reason(const std::string& detail, std::optional<std::int64_t> exit_code,
                           std::optional<std::int64_t> signal);

}  // namespace jr
