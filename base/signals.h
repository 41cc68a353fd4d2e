// Signal names as users type them ("TERM", "SIGTERM", "term" or "15" all mean SIGTERM), and
// waiting for one.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/result.h"

namespace jr {

Result<int> parse_signal(std::string_view text);
// "SIGTERM" for 15; "signal 64" for one without a name.
std::string signal_name(int sig);
// Waits up to `ms` for one of `signals`, blocked meanwhile (so none ends the process, and one
// already pending counts): the signal that came, or 0 when none did. The mask is restored.
int wait_for_signal(std::int64_t ms, std::initializer_list<int> signals);

}  // namespace jr
