// RunFacts: what one job did, computed once from a state directory's store, for `jr stats`,
// `jr trace`, `jr report` and `jr top --json`, so that all of them show the same figures.
//
// The store is opened read-only (WAL), so this works while an engine runs the job, after it
// has finished, and on a stopped jrd's state. Definitions (docs/cli.md, "jr stats"):
//   wall       first attempt start to last attempt end; to now while an engine runs the job
//   speedup    sum of attempt run times / wall
//   parallel efficiency  speedup / parallelism (-j)
//   CPU efficiency       (user + system CPU time) / (parallelism x wall), as Slurm's seff
//   peak RSS   per task the largest of its attempts (rusage maxrss, or the largest sample of
//              its process group, whichever is larger); median, p95 and max over tasks
// An attempt that runs now counts up to now, with the CPU time of its latest sample. One whose
// engine died counts up to that engine's last sign of life (storage/engine_runs.h), never
// over the time no engine ran.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/engine_gone.h"
#include "storage/store.h"

namespace jr {

struct AttemptFact {
  std::size_t task_pos = 0;     // into RunFacts::tasks
  int attempt = 0;              // 1-based
  int slot = 0;                 // worker slot, 1-based; 0 unknown
  std::int64_t engine_run = 0;  // engine_runs.id; 0 unknown
  std::int64_t submit_ms = 0;   // when it became runnable (task submitted, retried, resumed)
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;      // now, for an attempt that runs now
  TaskState outcome = TaskState::Running;  // Running: runs now
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::int64_t cpu_ms = 0;      // user + system
  std::int64_t peak_rss_kb = 0;
  std::string detail;           // "timed out after 1s (…)", "shutdown", "engine died", …
  double progress = -1;         // last fraction on the board; < 0 none
  std::string message;
  bool stalled = false;
  std::int64_t checkpoints = 0;  // saved during this attempt
  std::int64_t pid = 0;          // process group, while it runs
  std::int64_t run_ms() const { return end_ms > start_ms ? end_ms - start_ms : 0; }
};

struct TaskFact {
  TaskId id = 0;
  std::int64_t index = 0;
  std::string identity;
  std::vector<std::string> argv;
  std::string command;          // argv as one line a shell would accept
  TaskState state = TaskState::Pending;
  int attempts = 0;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::int64_t submit_ms = 0;
  std::int64_t run_ms = 0;      // over its attempts
  std::int64_t cpu_ms = 0;
  std::int64_t peak_rss_kb = 0;
  std::int64_t checkpoints = 0;
  std::string detail;           // its last attempt's, in words ("timed out after 1s (…)"); empty: none
};

struct EpochFact {  // one engine start: an epoch on the time axis
  std::int64_t id = 0;
  std::int64_t pid = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;      // 0: still running, or killed before it could record its end
  std::string slurm_job_id;
};

struct FailureFact {
  std::size_t task_pos = 0;
  std::string stderr_path;  // empty: the task wrote nothing to stderr, so there is no file
  std::vector<std::string> stderr_tail;  // its last lines
};

struct RunFacts {
  std::filesystem::path state_dir;
  JobRow job;
  std::string job_state;        // daemon/queries.h job_state()
  StateCounts counts{};
  std::int64_t total = 0;       // tasks, dropped ones left out
  int parallelism = 1;
  bool running = false;         // an engine runs the job now
  std::optional<GoneEngine> engine_gone;  // tasks recorded running, no engine: counted as interrupted
  std::int64_t now_ms = 0;
  std::int64_t start_ms = 0, end_ms = 0, wall_ms = 0;
  std::int64_t between_runs_ms = 0;  // of the wall, time when no engine ran (after preemption)
  std::int64_t task_time_ms = 0;     // sum of attempt run times
  std::int64_t cpu_time_ms = 0;
  std::int64_t interruptions = 0;    // attempts that ended interrupted
  std::int64_t resumes = 0;          // engine starts after the first
  std::int64_t checkpoints = 0;
  double speedup = 0, parallel_efficiency = 0, cpu_efficiency = 0;
  std::int64_t rss_median_kb = 0, rss_p95_kb = 0, rss_max_kb = 0, rss_tasks = 0;
  std::vector<TaskFact> tasks;        // index order
  std::vector<AttemptFact> attempts;  // start order
  std::vector<EpochFact> epochs;      // engine starts that overlap the job's wall span
  std::vector<std::size_t> longest;   // task positions, longest run time first
  std::vector<FailureFact> failures;  // the first failed tasks, index order
  std::int64_t failures_total = 0;
};

struct FactsOptions {
  std::size_t longest = 10;
  std::size_t failures = 20;   // failed tasks listed, with their stderr tails
  std::size_t tail_lines = 5;
};

// The job `job_ref` names (an id, or a name: its latest job) in `state_dir`, or the latest job
// when it is empty. NotFound with the directory when there is no state or no such job.
Result<RunFacts> load_run_facts(const std::filesystem::path& state_dir, const std::string& job_ref,
                                const FactsOptions& options = {});

// The job `ref` names in `store`: an id, or a name (its latest job); empty: the latest job.
Result<JobRow> find_job_ref(Store& store, const std::string& ref, const std::filesystem::path& dir);
// Every engine start recorded in the store (engine_runs), oldest first.
Status load_epochs(Store& store, std::vector<EpochFact>& out);
// Whether an engine runs on the state now: the latest engine run recorded no end and its process
// exists (a `jr run` killed with -9 leaves the first but not the second).
bool engine_running(const std::vector<EpochFact>& epochs);

// What `jr stats --json` prints, fields in a fixed order; the names are stable (docs/cli.md).
nlohmann::ordered_json stats_json(const RunFacts& facts);

// "COMPLETED", "FAILED", "ABORTED" (interrupted), "CANCELLED", "RUNNING": Nextflow's words.
const char* trace_status(TaskState outcome);
// The last `lines` lines of a text file (empty when it cannot be read); reads at most its
// last 64 KiB, so a huge log costs nothing.
std::vector<std::string> tail_lines(const std::filesystem::path& file, std::size_t lines);
// 0.5 -> the value below which half of `sorted` lies (nearest rank); 0 when empty.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q);

}  // namespace jr
