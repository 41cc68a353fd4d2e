// The records jr stores: task states, task and job specs, and what a finished attempt leaves.
//
// Plain structs with no library types, so that any module may include this header cheaply.
// Their cereal encodings live in storage/codec.cpp, each struct versioned so that a blob
// written by an older jr still loads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jr {

using JobId = std::int64_t;
using TaskId = std::int64_t;

// The task state machine of docs/DESIGN.md. The numbers are stored: never renumber.
enum class TaskState : int {
  Pending = 0,
  Running = 1,
  Succeeded = 2,
  Failed = 3,
  Interrupted = 4,
  Cancelled = 5,
  Dropped = 6,
};
inline constexpr int kTaskStateCount = 7;

std::string_view to_string(TaskState s);
std::optional<TaskState> parse_task_state(std::string_view s);

// What one task runs. Stored as a cereal blob in tasks.spec.
struct TaskSpec {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // added to the engine's environment
  std::string cwd;                                       // empty: the job's cwd
  std::int64_t timeout_ms = 0;                           // 0: none
  int retries = 0;
  int cpus = 0;                                          // 0: not declared (holds no cores)
  int gpus = 0;
  std::uint64_t mem_bytes = 0;                           // 0: not declared
  std::vector<std::string> outputs;  // declared output files, written as partial_path(f) first
};

// Where a task writes a declared output until jr commits it under its name: the same
// directory (so the rename is atomic), a hidden name.
std::string partial_path(const std::string& output);

// What a job was created with. Stored as a cereal blob in jobs.spec.
struct JobSpec {
  std::string name;
  std::vector<std::string> command;  // the template before expansion; empty for --tasks
  bool shell = false;
  int parallelism = 1;               // -j
  int retries = 0;
  std::int64_t timeout_ms = 0;
  std::string cwd;
  int priority = 0;
  std::int64_t after_job = 0;        // 0: none
  std::string on_finish;             // run through /bin/sh once the job ends; empty: none
  bool uses_slot = false;            // tasks' argv hold {%}: the engine puts the slot there
  // Per-job options the engine applies to this job's tasks (docs/DESIGN.md "Per job, per
  // engine"); the defaults are what a job created by an older jr gets.
  std::string output;                // --output template as given; each task's in TaskSpec::outputs
  int keep_checkpoints = 2;
  std::uint64_t max_checkpoint_bytes = 1ull << 30;
  std::uint64_t max_result_bytes = 1ull << 30;
  std::int64_t stall_timeout_ms = 0; // progress written, then none for this long: stalled; 0: off
  bool stall_kill = false;           // kill a stalled task and retry it like a timeout
  std::int64_t expect_ms = 0;        // a task's expected run time for --deadline; 0: the median
};

// How an attempt ended, as the engine saw it.
struct Exit {
  int exit_code = -1;        // -1 when killed by a signal
  int signal = 0;            // 0 when it exited
  std::int64_t utime_ms = 0;
  std::int64_t stime_ms = 0;
  std::int64_t maxrss_kb = 0;
  std::string detail;        // "timed out after 1s (…)", "shutdown", ... in words, for the views and events
  double progress = -1;      // the last fraction the task wrote on the board; < 0: none
  std::string message;       // the last progress message it wrote
  bool stalled = false;      // it stopped writing progress for longer than --stall-timeout
  bool output_missing = false;  // it exited 0 without writing a declared output
  bool unknown = false;      // nobody saw how it ended (its keeper was killed): not retried
  bool succeeded() const { return signal == 0 && exit_code == 0 && !output_missing && !unknown; }
};

}  // namespace jr
