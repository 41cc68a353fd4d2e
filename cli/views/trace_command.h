// `jr trace [JOB] [--state DIR] [--format tsv|json]`: one row per attempt, in start order,
// with the columns of Nextflow's trace file where they mean the same (docs/cli.md):
//   task_id hash native_id name status exit submit start complete duration realtime %cpu peak_rss
// then jr's own: index attempt signal checkpoints.
// TSV writes values as Nextflow does ("-" when not known, "1.2s", "4.5 MB", local timestamps);
// JSON writes raw numbers (ms since the epoch, ms, percent, bytes) under the same names.
#pragma once

#include <string>

#include "cli/views/stats_command.h"

namespace jr {

int trace_command(const ObserveOptions& options, const std::string& format);

}  // namespace jr
