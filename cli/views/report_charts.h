// The inline SVG charts of `jr report`, drawn from RunFacts on one shared time axis (the job's
// wall span): the task stream (one lane per worker slot, a bar per attempt coloured by its
// outcome, engine starts and the gaps between them, interruptions), tasks running over time,
// and CPU use over time.
//
// The size of what they write is bounded whatever the job's size: past a few thousand attempts
// the stream merges the bars of a lane that fall on one pixel, and the line charts are sampled
// at a fixed number of points. Every text is escaped; no chart refers to anything outside it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/views/run_facts.h"

namespace jr {

// One reading of a running attempt's process group (the samples table).
struct CpuSample {
  std::size_t attempt_pos = 0;  // into RunFacts::attempts
  std::int64_t ms = 0;
  std::int64_t cpu_ms = 0;      // cumulative CPU time of the group
};

// Time-weighted average of tasks running in each of `buckets` equal slices of the wall span.
std::vector<double> running_series(const RunFacts& facts, std::size_t buckets);
// Cores busy on average in each slice: CPU time between readings, spread evenly between them;
// what an attempt's rusage counts beyond its last reading is spread over the whole attempt.
// `samples` are in attempt, then time order.
std::vector<double> cpu_series(const RunFacts& facts, const std::vector<CpuSample>& samples, std::size_t buckets);

std::string task_stream_svg(const RunFacts& facts);
// A line chart of `series` over the wall span, with a dashed reference line at `reference`
// (the job's -j) labelled `reference_label`.
std::string series_svg(const RunFacts& facts, const std::vector<double>& series, const std::string& y_label,
                       double reference, const std::string& reference_label);

// &, <, >, " and ' as entities; "http" (any case) is written with its t as an entity, so that
// no text from a task (a URL in a command) can look like a reference in the file.
std::string html_escape(const std::string& text);
// "0", "30s", "1m 30s", "2h": labels of the time axis, relative to the job's first start.
std::string axis_label(std::int64_t ms);

}  // namespace jr
