// Walltime deadlines as users and Slurm write them.
//
//   "+2h", "+90m"                 relative to now
//   "15:30", "15:30:00"           today at that time (tomorrow if it has passed)
//   "2026-11-25T15:30[:00]"       local time (also with a space instead of 'T'; Slurm's %e form)
//   "1795620000"                  seconds since the epoch
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace jr {

// Milliseconds since the epoch; `now_ms` anchors the relative forms.
Result<std::int64_t> parse_deadline(const std::string& text, std::int64_t now_ms);

// The end of the Slurm job this process runs in, when there is one: SLURM_JOB_END_TIME, else
// `squeue -h -j $SLURM_JOB_ID -o %e`. 0 when not in a Slurm job or unknown.
std::int64_t slurm_job_end_ms(std::int64_t now_ms);

}  // namespace jr
