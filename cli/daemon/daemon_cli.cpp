#include "cli/daemon/daemon_cli.h"

#include <CLI/CLI.hpp>

#include <memory>

#include "cli/daemon/control_commands.h"
#include "cli/daemon_client.h"
#include "cli/daemon/logs_command.h"
#include "cli/daemon/query_commands.h"
#include "cli/daemon/submit_command.h"
#include "cli/daemon/wait_command.h"

namespace jr {

namespace {

const char* const kSocketHelp = "The engine's socket: jrd's, or a jr run's (see --state)";
const char* const kStateHelp =
    "A state directory (of jr run or jrd): its engine while one runs, else its store, read-only. "
    "Neither flag: $JR_DAEMON_SOCKET, else ./.jr if it exists, else jrd's default socket";

// Options live as long as the App's callbacks that fill and read them.
template <typename Options>
std::shared_ptr<Options> options_for(CLI::App* command, std::string Options::*socket) {
  auto o = std::make_shared<Options>();
  command->add_option("--socket", (*o).*socket, kSocketHelp);
  return o;
}

// --socket and --state DIR: where a command looks (cli/target.h).
template <typename Options>
std::shared_ptr<Options> target_options(CLI::App* command) {
  auto o = options_for(command, &Options::socket);
  command->add_option("--state", o->state_dir, kStateHelp);
  return o;
}

}  // namespace

Result<std::vector<std::string>> command_words(const std::string& command, const std::vector<std::string>& remaining,
                                               const DashWords& dash) {
  if (!remaining.empty() && remaining.front().rfind("-", 0) == 0) {
    return make_error(ErrorCode::Usage, "unknown option " + remaining.front() + " (see jr " + command + " --help)");
  }
  if (!dash.split) return remaining;
  if (!remaining.empty()) return make_error(ErrorCode::Usage, "unexpected words before '--': " + remaining.front());
  return dash.words;
}

void add_job_options(CLI::App* cmd, JobOptions& o) {
  cmd->add_option("--keep-checkpoints", o.keep_checkpoints, "Checkpoints kept per task (default 2)");
  cmd->add_option("--max-checkpoint", o.max_checkpoint, "Largest checkpoint a task may save (default 1G)");
  cmd->add_option("--max-result", o.max_result, "Largest result a task may save (default 1G)");
  cmd->add_option("--expect", o.expect, "Expected run time of a task (default: the median so far), for --deadline");
  cmd->add_option("--output", o.output, "A file each task writes, e.g. {.}.gz; the command writes to {out}, jr renames it on success");
  cmd->add_option("--on-finish", o.on_finish, "Run this shell command once the job ends (JR_JOB_ID, JR_JOB_STATE, counts)");
  cmd->add_option("--stall-timeout", o.stall_timeout, "A task that wrote progress, then none for this long, is stalled");
  cmd->add_option("--stall-action", o.stall_action, "report (default) or kill: kill and retry a stalled task like a timeout");
}

void add_submit(CLI::App& app, const DashWords& dash, int& exit_code) {
  auto* cmd = app.add_subcommand("submit", "Hand a job to jrd; prints its id");
  auto o = options_for(cmd, &SubmitOptions::socket);
  cmd->add_option("-j,--jobs", o->jobs, "Tasks of this job at once (default: SLURM_CPUS_ON_NODE, else the CPUs jr may use)");
  cmd->add_option("--name", o->name, "A name for the job (jr status NAME)");
  cmd->add_option("--retries", o->retries, "Run a failed task again up to N times, with backoff");
  cmd->add_option("--timeout", o->timeout, "Kill a task that runs longer (e.g. 30s, 5m, 2h)");
  cmd->add_option("--priority", o->priority, "Jobs of higher priority start their tasks first (default 0)");
  cmd->add_option("--after", o->after, "Start only once this job has succeeded; fail if it does not");
  cmd->add_option("--cpus", o->cpus, "Cores each task holds while it runs (default: not counted)");
  cmd->add_option("--gpus", o->gpus, "GPUs each task gets (CUDA_VISIBLE_DEVICES)");
  cmd->add_option("--mem", o->mem, "Memory each task needs (e.g. 4G)");
  cmd->add_flag("--shell", o->shell, "Run each task through /bin/sh -c (values are quoted)");
  cmd->add_flag("--wait", o->wait, "Then wait for the job like jr wait (same exit codes)");
  cmd->add_option("--tasks", o->tasks_file, "Read one shell command per line from FILE (- for stdin)");
  add_job_options(cmd, *o);
  cmd->add_option("--deadline", o->deadline, "Refused: the deadline is jrd's (jrd --deadline), not a job's");
  cmd->add_flag("--explain", o->explain, "Say what jrd would run, task by task; submit nothing");
  cmd->add_flag("--json", o->json, "With --explain: JSON output");
  cmd->add_option("--shard", o->shard, "Only tasks whose index is K modulo N (K/N), as jr run --shard");
  cmd->footer("The command: [--] CMD ARGS… [::: A B …] [:::: FILE], templated as in jr run.");
  cmd->prefix_command();
  cmd->callback([cmd, o, &dash, &exit_code] {
    auto words = command_words("submit", cmd->remaining(), dash);
    if (!words) {
      exit_code = report("submit", words.error());
      return;
    }
    o->words = std::move(*words);
    exit_code = submit_command(*o);
  });
}

void add_status(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("status", "One job's state and counts, or every job's, one line each");
  auto o = options_for(cmd, &QueryOptions::socket);
  cmd->add_option("job", o->job, "JOB (an id or a name); none: every job");
  cmd->add_option("--state", o->state_dirs,
                  std::string(kStateHelp) + ". Several (DIR DIR…) are merged into one summary with a total. "
                  "JOB goes before --state");
  cmd->add_flag("--json", o->json, "JSON output (docs/cli.md)");
  cmd->callback([o, &exit_code] { exit_code = status_command(*o); });
}

void add_list(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("list", "Every job jrd knows, one line each");
  auto o = target_options<QueryOptions>(cmd);
  cmd->add_option("--only", o->only, "Only jobs in this state: pending, running, paused, succeeded, failed, cancelled");
  cmd->add_flag("--json", o->json, "JSON output (docs/cli.md)");
  cmd->callback([o, &exit_code] { exit_code = list_command(*o); });
}

void add_tasks(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("tasks", "A job's tasks in index order");
  auto o = target_options<QueryOptions>(cmd);
  cmd->add_option("job", o->job, "JOB (an id or a name)")->required();
  cmd->add_option("--only", o->only, "Only tasks in this state: pending, running, succeeded, failed, interrupted, cancelled, dropped");
  cmd->add_flag("--json", o->json, "JSON output (docs/cli.md)");
  cmd->callback([o, &exit_code] { exit_code = tasks_command(*o); });
}

void add_events(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("events", "A job's history of state changes");
  auto o = target_options<QueryOptions>(cmd);
  cmd->add_option("job", o->job, "JOB (an id or a name)")->required();
  cmd->add_flag("--json", o->json, "JSON output (docs/cli.md)");
  cmd->callback([o, &exit_code] { exit_code = events_command(*o); });
}

void add_ping(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("ping", "Check that an engine (jrd, or a jr run's) answers");
  auto o = target_options<QueryOptions>(cmd);
  cmd->add_flag("--json", o->json, "JSON output (docs/cli.md)");
  cmd->callback([o, &exit_code] { exit_code = ping_command(*o); });
}

void add_wait(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("wait", "Wait until a job has finished: exit 0 succeeded, 1 failed, 3 cancelled, 4 timeout");
  auto o = target_options<WaitOptions>(cmd);
  cmd->add_option("job", o->job, "JOB (an id or a name)")->required();
  cmd->add_option("--timeout", o->timeout, "Give up after this long (e.g. 30s, 5m) with exit 4; the job goes on");
  cmd->callback([o, &exit_code] { exit_code = wait_command(*o); });
}

void add_logs(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("logs", "A task's output (JOB:INDEX), every task's of a job (JOB), or of the one job there, in input order");
  auto o = target_options<LogsOptions>(cmd);
  cmd->add_option("task", o->target, "JOB:INDEX (index from 0), or JOB for all its tasks; none: the one job's output, stdout and stderr, in input order");
  cmd->add_flag("-f,--follow", o->follow, "Keep printing what the task writes until it has ended");
  cmd->add_flag("--stderr", o->stderr_log, "Show the task's stderr instead of its stdout");
  cmd->callback([o, &exit_code] { exit_code = logs_command(*o); });
}

void add_cancel(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("cancel", "Cancel a job (JOB) or one task (JOB:INDEX): pending ones never run, running ones are stopped");
  auto o = target_options<ControlOptions>(cmd);
  cmd->add_option("target", o->target, "JOB or JOB:INDEX")->required();
  cmd->callback([o, &exit_code] { exit_code = cancel_command(*o); });
}

void add_pause(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("pause", "Start no new tasks of a job (running ones go on)");
  auto o = target_options<ControlOptions>(cmd);
  cmd->add_option("job", o->target, "JOB (an id or a name)")->required();
  cmd->callback([o, &exit_code] { exit_code = pause_command(*o, true); });
}

void add_resume(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("resume", "Start a paused job's tasks again");
  auto o = target_options<ControlOptions>(cmd);
  cmd->add_option("job", o->target, "JOB (an id or a name)")->required();
  cmd->callback([o, &exit_code] { exit_code = pause_command(*o, false); });
}

void add_retry(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("retry", "Run a job's failed and cancelled tasks again");
  auto o = target_options<ControlOptions>(cmd);
  cmd->add_option("job", o->target, "JOB (an id or a name)")->required();
  cmd->add_flag("--failed", o->failed_only, "Only the failed tasks, not the cancelled ones");
  cmd->callback([o, &exit_code] { exit_code = retry_command(*o); });
}

}  // namespace jr
