// jr: the command line. A thin layer: each subcommand parses its flags and calls one function.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/task/checkpoint_command.h"
#include "cli/daemon/daemon_cli.h"
#include "cli/daemon_client.h"
#include "cli/views/observe_cli.h"
#include "cli/task/progress_command.h"
#include "cli/run/run_command.h"
#include "cli/views/scaling_cli.h"
#include "cli/target.h"
#include "engine/resources.h"

namespace {

constexpr int kExitUsage = 2;

// `jr run [options] [--] CMD ARGS… ::: …`: the command starts at `--`, or at the first word
// that is not an option, and nothing after it is parsed as a jr option.
void add_run(CLI::App& app, jr::RunOptions& o) {
  auto* run = app.add_subcommand("run", "Run a job in the foreground, resuming it if DIR holds it already");
  run->add_option("-j,--jobs", o.jobs, "Tasks at once: N, N% of the CPUs, +N or -N (default: the CPUs jr may use)");
  run->add_option("--state", o.state_dir, "State directory (default ./.jr)");
  run->add_option("--retries", o.retries, "Run a failed task again up to N times, with backoff");
  run->add_option("--timeout", o.timeout, "Kill a task that runs longer (e.g. 30s, 5m, 2h)");
  run->add_option("--grace", o.grace, "Time between SIGTERM and SIGKILL (default 10s)");
  run->add_flag("--shell", o.shell, "Run each task through /bin/sh -c (values are quoted)");
  run->add_flag("--link", o.link, "Take the input sources side by side, not every combination (shorter ones wrap)");
  run->add_flag("--dry-run", o.dry_run, "Print each task's command; run nothing, write nothing");
  run->add_option("--halt", o.halt, "Stop early, as GNU parallel: now,fail=1 or soon,fail=10% (also success=, done=)");
  run->add_option("--tasks", o.tasks_file, "Read one shell command per line from FILE (- for stdin)");
  run->add_flag("--retry-failed", o.retry_failed, "On resume, run failed tasks again");
  run->add_flag("--fresh", o.fresh, "Delete DIR's record of an earlier job and start afresh");
  run->add_option("--joblog", o.joblog, "Append GNU parallel's joblog format to FILE");
  run->add_option("--name", o.name, "A name for the job");
  run->add_option("--preempt-signal", o.preempt_signal, "Signal that preempts the run, besides INT and TERM (default TERM)");
  run->add_option("--cpus", o.cpus, "Cores each task holds while it runs (default: not counted)");
  run->add_option("--gpus", o.gpus, "GPUs each task gets (CUDA_VISIBLE_DEVICES)");
  run->add_option("--mem", o.mem, "Memory each task needs (e.g. 4G); compared with its peak RSS");
  run->add_option("--cores", o.cores, "Cores of this node (default: Slurm's, else the affinity mask and cgroup)");
  run->add_option("--gpu-ids", o.gpu_ids, "GPU ids to hand out (default CUDA_VISIBLE_DEVICES or SLURM_JOB_GPUS)");
  run->add_flag("--pin", o.pin, "Pin each task to CPUs no other running task has");
  run->add_flag("!--no-adopt", o.adopt,
                "Tasks die with jr run (default: a keeper outlives a killed jr run, and the same command again adopts them)");
  jr::add_job_options(run, o);
  run->add_option("--deadline", o.deadline, "Stop --grace before this (+2h, 15:30, 2026-11-25T15:30); default: the Slurm job's end");
  run->add_option("--shard", o.shard, "Run only tasks whose index is K modulo N (K/N), for Slurm job arrays");
  run->add_flag("-q,--quiet", o.quiet, "Print no task output (it stays in DIR/logs; jr logs shows it)");
  run->add_flag("-k,--keep-order", o.keep_order, "Print task output in input order, not as tasks end");
  run->add_flag("--line-buffer", o.line_buffer, "Print task output a line at a time as it is written");
  run->add_flag("--tag", o.tag, "Put the task's arguments and a TAB before each line of its output");
  run->add_flag("--explain", o.explain, "Say what running now would do, task by task; run nothing");
  run->add_flag("--json", o.json, "With --explain: JSON output");
  run->add_option("--sample-every", o.sample_every, "Sample running tasks' CPU and memory this often (default 1s; 0: off)");
  run->add_flag_function("--sync-full", [&o](std::int64_t) { o.sync_full = true; },
                         "Make every commit survive power loss too (slower)");
  run->footer("The command: [--] CMD ARGS… [::: A B …] [:::+ C D …] [:::: FILE]. Replacement strings {} {.} {/} {//} {/.}\n"
              "{#} {%} {1} {2}… {-1}…; several ::: make the cartesian product, :::+ pairs with the source before;\n"
              "with no {} the inputs are appended. With no :::, :::: or --tasks, inputs are read from a pipe on stdin.");
  run->prefix_command();
}

struct CheckpointOptions {
  std::vector<std::string> files;
  std::string state_dir;
  std::string socket;
  std::string task;
  std::int64_t seq = 0;
  std::string out_dir;
  bool json = false;
  std::string result_file;
};

const char* const kStateHelp = "State directory (default: as jr status finds it, docs/cli.md)";
const char* const kSocketHelp = "Read the state directory of the engine at this socket";

// The state directory cli/target.h's rule names; exits with the error when there is none.
std::string locate(const CheckpointOptions& o, const char* command) {
  auto dir = jr::target_state_dir({o.socket, o.state_dir});
  if (!dir) std::exit(jr::report(command, dir.error()));
  return dir->string();
}

void add_checkpoint(CLI::App& app, CheckpointOptions& o) {
  auto* cp = app.add_subcommand("checkpoint", "Save (inside a task), list or fetch a task's checkpoints");
  cp->require_subcommand(1);
  auto* save = cp->add_subcommand("save", "Inside a task: store JR_CHECKPOINT_DIR (or FILES in it) durably");
  save->add_option("files", o.files, "Files in JR_CHECKPOINT_DIR (default: all of it)");
  save->callback([&o] { std::exit(jr::checkpoint_save_command(o.files)); });
  auto* list = cp->add_subcommand("list", "List a task's stored checkpoints");
  list->add_option("task", o.task, "JOB:INDEX")->required();
  list->add_option("--state", o.state_dir, kStateHelp);
  list->add_option("--socket", o.socket, kSocketHelp);
  list->add_flag("--json", o.json, "JSON output");
  list->callback([&o] { std::exit(jr::checkpoint_list_command(locate(o, "checkpoint list"), o.task, o.json)); });
  auto* get = cp->add_subcommand("get", "Write a stored checkpoint's files into a directory");
  get->add_option("task", o.task, "JOB:INDEX")->required();
  get->add_option("--state", o.state_dir, kStateHelp);
  get->add_option("--socket", o.socket, kSocketHelp);
  get->add_option("--seq", o.seq, "Which checkpoint (default: the latest)");
  get->add_option("-o,--output", o.out_dir, "Directory to write the files into")->required();
  get->callback([&o] { std::exit(jr::checkpoint_get_command(locate(o, "checkpoint get"), o.task, o.seq, o.out_dir)); });

  auto* result = app.add_subcommand("result", "Inside a task: hand back a result");
  result->require_subcommand(1);
  auto* rsave = result->add_subcommand("save", "Store FILE's bytes as this task's result");
  rsave->add_option("file", o.result_file, "The result file")->required();
  rsave->callback([&o] { std::exit(jr::result_save_command(o.result_file)); });
}

}  // namespace

// `jr progress FRACTION [MESSAGE…]` runs inside tasks, perhaps many times a second: plain
// words go straight to the command, without building the whole command line first (every
// subcommand and option), which costs more than writing the board. Anything else (--help, an
// option) takes the usual way.
bool plain_progress_call(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "progress") != 0) return false;
  for (int i = 2; i < argc; ++i) {
    if (argv[i][0] == '-') return false;
  }
  return true;
}

int main(int argc, char** argv) {
  if (plain_progress_call(argc, argv)) {
    std::string message;
    for (int i = 3; i < argc; ++i) message += (i > 3 ? " " : "") + std::string(argv[i]);
    return jr::progress_command(argv[2], message);
  }
  CLI::App app{"jr: run many tasks in parallel, resume them after any interruption", "jr"};
  app.set_version_flag("--version", "jr " JR_VERSION);
  app.require_subcommand(1);
  // CLI11 does not hand over what follows `--` to a prefix-command subcommand: split there.
  jr::DashWords dash;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (auto it = std::find(args.begin(), args.end(), "--"); it != args.end()) {
    dash.split = true;
    dash.words.assign(it + 1, args.end());
    args.erase(it, args.end());
  }
  int exit_code = kExitUsage;
  jr::RunOptions run_options;
  add_run(app, run_options);
  CheckpointOptions checkpoint_options;
  add_checkpoint(app, checkpoint_options);
  auto* cpus = app.add_subcommand("cpus", "Print how many CPUs jr counts on here (what -j means when not given)");
  cpus->callback([] { std::exit(std::printf("%d\n", jr::usable_cpus()) > 0 ? 0 : 1); });
  jr::add_submit(app, dash, exit_code);
  jr::add_status(app, exit_code);
  jr::add_list(app, exit_code);
  jr::add_tasks(app, exit_code);
  jr::add_wait(app, exit_code);
  jr::add_logs(app, exit_code);
  jr::add_cancel(app, exit_code);
  jr::add_pause(app, exit_code);
  jr::add_resume(app, exit_code);
  jr::add_retry(app, exit_code);
  jr::add_events(app, exit_code);
  jr::add_ping(app, exit_code);
  jr::add_progress(app, exit_code);
  jr::add_stats(app, exit_code);
  jr::add_trace(app, exit_code);
  jr::add_report(app, exit_code);
  jr::add_top(app, exit_code);
  jr::add_scaling(app, dash, exit_code);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "jr: %s (see jr --help)\n", e.what());
    return kExitUsage;
  }
  auto* run = app.get_subcommand("run");
  if (!run->parsed()) return exit_code;
  auto words = jr::command_words("run", run->remaining(), dash);
  if (!words) {
    std::fprintf(stderr, "jr run: %s\n", words.error().message.c_str());
    return kExitUsage;
  }
  run_options.words = std::move(*words);
  return jr::run_command(run_options);
}
