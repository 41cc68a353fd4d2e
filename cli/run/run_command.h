// `jr run`: a job in the foreground, with the engine in this process and no daemon.
//
// Creates the job in DIR on the first run and resumes it on the next ones (tasks matched by
// identity: succeeded ones are skipped). Prints the output of the tasks it runs as GNU parallel
// does (cli/run/task_output.h), unless quiet. Returns the process exit code: 0 all succeeded,
// 1 some failed, 2 usage or setup error (nothing written), 130 after SIGINT, 143 after
// SIGTERM or another preemption ("interrupted, resume me").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "job/job_options.h"
#include "storage/state_files.h"

namespace jr {

// The per-job options (--output, the checkpoint and result limits, stall detection, --expect,
// --on-finish) are JobOptions', shared with jr submit; the rest are jr run's own or the engine's.
struct RunOptions : JobOptions {
  std::string jobs;                // -j as typed (cli/run/parallelism.h); empty: the CPUs jr may use
  std::string state_dir = state_files::kRunStateDir;
  int retries = 0;
  std::string timeout;             // durations as typed; parsed (and refused) in run_command
  std::string grace = "10s";
  bool shell = false;
  bool link = false;               // --link: every source advances together
  bool dry_run = false;            // print the commands, run nothing, write nothing
  std::string halt;                // --halt, GNU parallel's (cli/run/halt_policy.h)
  bool retry_failed = false;
  bool fresh = false;
  bool sync_full = false;
  std::string tasks_file;          // --tasks FILE ("-": stdin)
  std::string joblog;
  std::string name;
  std::string preempt_signal = "TERM";
  std::string sample_every = "1s";
  int cpus = 0;                    // --cpus per task; 0: not declared (holds no cores)
  int gpus = 0;
  std::string mem;                 // --mem per task, e.g. 4G
  int cores = 0;                   // --cores of the node; 0: detected
  std::string gpu_ids;             // --gpu-ids; empty: CUDA_VISIBLE_DEVICES or SLURM_JOB_GPUS
  bool pin = false;
  bool adopt = true;  // tasks outlive a killed engine, kept by a keeper (engine/keeper.h)
  std::string deadline;            // --deadline; empty: the Slurm job's end, if any
  std::string shard;               // K/N
  bool quiet = false;               // -q: print no task output
  bool keep_order = false;          // -k: print task output in input order
  bool line_buffer = false;         // print lines as they come, not a task at a time
  bool tag = false;                 // prefix each printed line with the task's arguments and a TAB
  bool explain = false;
  bool json = false;
  std::vector<std::string> words;  // CMD ARGS… ::: …
};

int run_command(const RunOptions& options);

}  // namespace jr
