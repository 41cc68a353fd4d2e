// Reads of what a job's runs did, for the views (stats, trace, report, top) and the engine's
// deadline: engine starts, tasks, attempts ended and running, checkpoints saved, samples.
//
// Plain rows, read-only: works on a read-write or read-only Store and sees what was last
// committed. A view that makes several reads takes them inside one Store::snapshot(), so that
// they all see the same moment of a job that runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/store.h"

namespace jr {

// One engine start (an epoch on a report's time axis).
struct EngineRunRow {
  std::int64_t id = 0;
  std::int64_t pid = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;  // 0: still running, or killed before it could record its end
  std::string slurm_job_id;
};

// A task of a job, as the views list it.
struct TaskRunRow {
  TaskId id = 0;
  std::int64_t index = 0;
  std::string identity;
  TaskState state = TaskState::Pending;
  int attempts = 0;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::int64_t submit_ms = 0;
  std::vector<std::string> argv;
};

// An attempt that has ended (a row of its own).
struct EndedAttemptRow {
  TaskId task = 0;
  int attempt = 0;
  std::int64_t engine_run = 0;  // 0 unknown
  int slot = 0;                 // 0 unknown
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  TaskState outcome = TaskState::Succeeded;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::int64_t cpu_ms = 0;      // user + system
  std::int64_t maxrss_kb = 0;
  std::string detail;
  double progress = -1;         // last fraction on the board; < 0 none
  std::string message;
  bool stalled = false;
  std::int64_t checkpoints_saved = 0;
};

// An attempt that runs now: the task row describes it (it has no attempt row yet).
struct RunningAttemptRow {
  TaskId task = 0;
  std::int64_t index = 0;
  int attempt = 0;
  int slot = 0;                 // 0 unknown
  std::int64_t start_ms = 0;    // 0 unknown
  std::int64_t pid = 0;         // its process group; 0 not recorded yet
  std::int64_t checkpoints_saved = 0;
  std::vector<std::string> argv;
};

// One reading of an attempt's process group (usage over time).
struct SampleRow {
  TaskId task = 0;
  int attempt = 0;
  std::int64_t ms = 0;
  std::int64_t cpu_ms = 0;
  std::int64_t rss_kb = 0;
};

// Every engine start recorded in the store, oldest first.
Result<std::vector<EngineRunRow>> engine_runs(Store& store);
// The tasks of `job` in index order.
Result<std::vector<TaskRunRow>> job_tasks(Store& store, JobId job);
// The ended attempts of `job`'s tasks, in no particular order.
Result<std::vector<EndedAttemptRow>> ended_attempts(Store& store, JobId job);
// The attempts of `job` that run now, in index order.
Result<std::vector<RunningAttemptRow>> running_attempts(Store& store, JobId job);
// Per attempt of `job` that was sampled: its largest RSS and CPU time (in `rss_kb`, `cpu_ms`;
// `ms` is 0).
Result<std::vector<SampleRow>> sample_peaks(Store& store, JobId job);
// Every sample of `job`'s attempts, in no particular order.
Result<std::vector<SampleRow>> job_samples(Store& store, JobId job);
// The latest `limit` samples of one attempt, latest first.
Result<std::vector<SampleRow>> latest_samples(Store& store, TaskId task, int attempt, int limit);
// How many of `job`'s tasks ended (succeeded, failed or cancelled) at or after `since_ms`.
Result<std::int64_t> count_finished_since(Store& store, JobId job, std::int64_t since_ms);
// The median run time of `job`'s succeeded attempts (the upper one of an even count); none
// when none has succeeded.
Result<std::optional<std::int64_t>> median_success_ms(Store& store, JobId job);

}  // namespace jr
