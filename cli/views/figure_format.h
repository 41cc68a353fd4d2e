// How `jr stats`, `jr trace`, `jr report` and `jr top` write times, durations and sizes.
//
// The trace forms copy Nextflow's trace file (nextflow.util.Duration and MemoryUnit), so that
// tools written for Nextflow traces read jr's: "450ms", "1.2s", "3m 4s", "1h 2m 5s";
// "512 B", "1.5 MB" (powers of 1024, Nextflow's unit names); timestamps in local time,
// "2026-11-25 13:01:02.345".
#pragma once

#include <cstdint>
#include <string>

namespace jr {

std::string nextflow_duration(std::int64_t ms);
std::string nextflow_memory(std::int64_t bytes);
std::string local_timestamp(std::int64_t ms_since_epoch);
// "12.5%", from a ratio (0.125).
std::string percent(double ratio);
// "100,000": a count a person reads at a glance.
std::string grouped(std::int64_t n);
// "1.5 GiB" from KiB, for human views; "-" for 0 (not measured).
std::string kib(std::int64_t kb);
// A coordinate or length in an SVG chart: one decimal, none when it is 0 ("12.5", "12").
std::string svg_number(double v);

}  // namespace jr
