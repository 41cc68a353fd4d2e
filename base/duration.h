// Parsing of the sizes and durations the command line accepts, and of clock readings.
//
// Durations: "250ms", "30s", "5m", "2h", "1d", or a bare number of seconds ("1.5").
// Sizes: "512", "64K", "100M", "1G", "2T" (powers of 1024, an optional trailing "B").
// Every parser returns a Result so that a malformed flag becomes one clear line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace jr {

using Millis = std::chrono::milliseconds;

Result<Millis> parse_duration(std::string_view text);
Result<std::uint64_t> parse_size(std::string_view text);

// "1.2s", "3m04s", "2h05m": short human form used in progress lines and tables.
std::string format_duration(Millis d);
// A setting as a flag would give it, exactly: "1s", "5m", "2h", "1500ms" (parse_duration reads it back).
std::string format_setting(Millis d);
// "1.5 GiB", "300 KiB".
std::string format_size(std::uint64_t bytes);

// Wall clock in milliseconds since the epoch: what the store records.
std::int64_t now_ms();
// Monotonic clock in milliseconds: what timeouts and backoff are measured with.
std::int64_t monotonic_ms();

}  // namespace jr
