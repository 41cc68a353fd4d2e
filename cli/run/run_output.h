// RunOutput: the printing of a `jr run`'s task output (cli/run/task_output.h) wired to its
// engine: the input positions this run runs (for --keep-order, read from the store after the
// job's tasks were matched), the engine's start and turn hooks, a timer on the engine's loop
// that drives --line-buffer (every 100 ms, only with it), and the progress line hidden around
// every burst of printing.
//
// REQUIRES: the session outlives the RunOutput; ended() is called from the engine's on_task_end.
#pragma once

#include <functional>
#include <memory>

#include "base/result.h"
#include "cli/run/run_command.h"
#include "cli/run/run_plan.h"
#include "cli/run/task_output.h"
#include "daemon/engine_session.h"
#include "storage/state_files.h"

namespace jr {

class RunOutput {
 public:
  // `redraw`: draws the progress line again once something was printed over it.
  static Result<std::unique_ptr<RunOutput>> attach(const RunOptions& options, const RunPlan& plan, JobId job,
                                                   EngineSession& session, std::function<void()> hide,
                                                   std::function<void()> redraw);
  ~RunOutput();
  RunOutput(const RunOutput&) = delete;
  RunOutput& operator=(const RunOutput&) = delete;

  void ended(const TaskEnd& end) { output_.ended(end.task, end.index, end.state); }
  // The run is over: prints what --keep-order still held.
  void finish() { output_.finish(); }

 private:
  RunOutput(EngineSession& session, OutputOptions options, std::function<std::string(std::int64_t)> arguments_at,
            std::vector<std::int64_t> order)
      : session_(session),
        output_(state_files::logs(session.state_dir()), options, std::move(arguments_at), std::move(order)) {}
  EngineSession& session_;
  TaskOutput output_;
  int timer_fd_ = -1;
};

}  // namespace jr
