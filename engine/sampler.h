// Sampler: CPU time and resident memory of process groups, read from /proc.
//
// One pass over /proc sums every live process's utime+stime and RSS by process group, so the
// engine samples all running tasks (each in its own group) at the cost of one directory scan.
// A task's children count while they run; what finished children used is in the rusage the
// engine gets from wait4 at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <unordered_map>

namespace jr {

struct GroupUsage {
  std::int64_t cpu_ms = 0;
  std::int64_t rss_kb = 0;
  int processes = 0;
};

// Usage of every process group in `wanted` that has live processes.
std::unordered_map<pid_t, GroupUsage> sample_groups(const std::unordered_map<pid_t, bool>& wanted);

}  // namespace jr
