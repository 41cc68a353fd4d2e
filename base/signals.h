// Signal names as users type them: "TERM", "SIGTERM", "term" or "15" all mean SIGTERM.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace jr {

Result<int> parse_signal(std::string_view text);
// "SIGTERM" for 15; "signal 64" for one without a name.
std::string signal_name(int sig);

}  // namespace jr
