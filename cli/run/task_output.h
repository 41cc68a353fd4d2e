// TaskOutput: what `jr run` prints of its tasks' output, as GNU parallel does, read back from
// the tasks' log files (a task writes only to its files, never through jr: engine/task_logs.h).
//
// Grouped, the default: once a task has ended in this run (succeeded, failed, cancelled or
// interrupted; a retry waits for its last attempt), what it wrote since this run first started
// it goes to jr's stdout and stderr, one task at a time. So every byte a task writes is printed
// once over all the runs of a job, by the run that ran it. keep_order holds a task until every
// earlier one in `order` (the input positions this run runs) has been printed; line_buffer
// prints complete lines while tasks run (at each tick()), with keep_order only the earliest
// task's; tag puts the task's arguments and a TAB before each line.
//
// Single-threaded, on the engine's thread: started() before a task's spawn, ended() from the
// engine's on_task_end, flush() after the turn's commit (output is printed for committed ends
// only), finish() once the run is over. before_print and after_print bracket every burst of
// printing (the progress line hides and redraws). A stream that fails (its reader went away:
// the engine ignores SIGPIPE) is written no more; the run goes on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/types.h"

namespace jr {

struct OutputOptions {
  bool keep_order = false;
  bool line_buffer = false;
  bool tag = false;
};

class TaskOutput {
 public:
  // `arguments_at(index)`: the --tag of the task at that input position. `order`: with
  // keep_order, the input positions this run runs, ascending.
  TaskOutput(std::filesystem::path logs_dir, OutputOptions options,
             std::function<std::string(std::int64_t)> arguments_at, std::vector<std::int64_t> order);
  ~TaskOutput();
  TaskOutput(const TaskOutput&) = delete;
  TaskOutput& operator=(const TaskOutput&) = delete;

  void started(TaskId task, std::int64_t index, int attempt);
  void ended(TaskId task, std::int64_t index, TaskState to);
  void flush();
  void tick();
  void finish();

  std::function<void()> before_print;
  std::function<void()> after_print;

 private:
  // A task this run started whose output is not all printed yet.
  struct Task {
    std::int64_t index = 0;
    off_t offset[2] = {0, 0};   // per stream: where this run's output starts, then how far printed
    std::string partial[2];     // line_buffer: a line read but not complete yet
    bool line_start[2] = {true, true};  // tag: whether the next byte starts a line
    std::string tag;
  };

  // Opens a log of `id` (stream 0: stdout, 1: stderr) by its name; -1 when it has none.
  int open_log(TaskId id, int stream);
  // Prints what `t` wrote since the last call: complete lines only unless `all`.
  void print(TaskId id, Task& t, bool all);
  void print_stream(TaskId id, Task& t, int stream, bool all);
  void write(Task& t, int stream, const char* data, std::size_t size);
  void begin_print();
  void end_print();
  // keep_order: prints every held task that is next in order.
  void advance();
  Task& task(TaskId id, std::int64_t index);
  // Prints the whole output of a task that ended, and forgets it.
  void print_ended(TaskId id, std::int64_t index);

  std::filesystem::path logs_dir_;
  OutputOptions options_;
  std::function<std::string(std::int64_t)> arguments_at_;
  std::unordered_map<TaskId, Task> tasks_;
  int logs_fd_ = -1;                      // logs_dir_, opened at first use
  // Ended in this turn, printed by flush(). A task is in tasks_ only when it needs more than
  // its id and position (an offset, a partial line, a tag): most short tasks never are.
  std::vector<std::pair<TaskId, std::int64_t>> ended_;
  std::vector<std::int64_t> order_;
  std::size_t next_ = 0;                  // order_[next_]: the next position to print
  std::map<std::int64_t, TaskId> held_;   // ended, waiting for earlier positions
  bool printing_ = false;
};

}  // namespace jr
