// `jr status`, `jr list`, `jr tasks`, `jr events` and `jr ping`: questions to jrd.
//
// `jr status --state DIR` answers from a state directory's store, opened read-only, without a
// daemon: it works for a `jr run` in progress or long gone, and for a stopped jrd's state.
// With several directories (`--state DIR DIR…`, the shards of a Slurm job array, say) it merges
// them: one row per job of each directory, then a total.
// With --json each prints the daemon's reply exactly (docs/cli.md documents the fields);
// otherwise aligned columns. Lists that the daemon hands out a page at a time (tasks, events)
// are fetched page by page, so the output is complete however large the job. Each returns the
// process exit code (cli/daemon_client.h).
#pragma once

#include <string>
#include <vector>

namespace jr {

struct QueryOptions {
  std::string socket;     // --socket
  std::string state_dir;  // --state (cli/target.h: where commands look)
  std::string job;        // JOB: an id or a name
  std::string only;       // --only: a job state (list) or a task state (tasks)
  std::vector<std::string> state_dirs;  // status --state DIR…: several are merged
  bool json = false;
};

int status_command(const QueryOptions& options);
int list_command(const QueryOptions& options);
int tasks_command(const QueryOptions& options);
int events_command(const QueryOptions& options);
int ping_command(const QueryOptions& options);

}  // namespace jr
