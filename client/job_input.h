// What a job is made from on the command line, shared by `jr run` and `jr submit`.
//
// read_task_lines reads `--tasks FILE` ("-": stdin): one shell command per line, blank lines
// and lines starting with # skipped; a file holding no command is a Usage error.
// default_parallelism is what -j means when not given: SLURM_CPUS_ON_NODE, else the CPUs this
// process may run on (sched_getaffinity), so a job inside a Slurm allocation or a cpuset
// does not oversubscribe it.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

Result<std::vector<std::string>> read_task_lines(const std::string& path);
int default_parallelism();

}  // namespace jr
