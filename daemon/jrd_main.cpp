// jrd: the daemon. Owns one state directory, runs the jobs submitted to it, serves clients.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "base/deadline.h"
#include "daemon/engine_session.h"
#include "engine/paths.h"
#include "engine/resources.h"
#include "daemon/systemd.h"

namespace {

constexpr int kExitUsage = 2;

int fail(const std::string& message) {
  spdlog::error("{}", message);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::string state_dir;
  std::string socket_path;
  int workers = jr::usable_cpus();
  std::string grace = "10s";
  std::string log_level = "info";
  int cores = 0;
  std::string gpu_ids;
  bool pin = false;
  bool adopt = true;
  std::string sample_every = "1s";
  std::string deadline;
  bool sync_full = false;
  CLI::App app{"jrd: the jr daemon; jr submit, status, wait, logs … talk to it"};
  app.set_version_flag("--version", "jrd " JR_VERSION);
  app.add_option("--state", state_dir, "State directory (default $XDG_STATE_HOME/jr, else ~/.local/state/jr)");
  app.add_option("--socket", socket_path, "Socket (default $XDG_RUNTIME_DIR/jr/jrd.sock, else STATE/jrd.sock)");
  app.add_option("--workers", workers, "Tasks at once over all jobs (default: the number of CPUs)");
  app.add_option("--grace", grace, "On shutdown, time between SIGTERM and SIGKILL of tasks (default 10s)");
  app.add_option("--cores", cores, "Cores of this node (default: Slurm's, else the affinity mask and cgroup)");
  app.add_option("--gpu-ids", gpu_ids, "GPU ids to hand out (default CUDA_VISIBLE_DEVICES or SLURM_JOB_GPUS)");
  app.add_flag("--pin", pin, "Pin each task to CPUs no other running task has");
  app.add_flag("!--no-adopt", adopt,
               "Tasks die with jrd, and SIGTERM stops them (default: a keeper outlives jrd, SIGTERM leaves "
               "the tasks running and the next jrd adopts them)");
  app.add_option("--sample-every", sample_every, "Sample running tasks' CPU and memory this often (default 1s; 0: off)");
  app.add_option("--deadline", deadline,
                 "Stop --grace before this (+2h, 15:30, 2026-11-25T15:30), as on SIGTERM; default: the Slurm job's end");
  app.add_flag("--sync-full", sync_full, "Make every commit survive power loss too (slower)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("jrd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern(jr::under_systemd() ? "%l: %v" : "[%Y-%m-%d %H:%M:%S.%e] %l: %v");
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::flush_on(spdlog::level::trace);

  if (workers < 1) return fail("--workers must be at least 1");
  auto grace_ms = jr::parse_duration(grace);
  if (!grace_ms) return fail(grace_ms.error().message);
  auto sample_ms = jr::parse_duration(sample_every);
  if (!sample_ms) return fail(sample_ms.error().message);
  // The deadline is the engine's, as jr run's: the allocation ends for every job at once.
  std::int64_t deadline_ms = jr::slurm_job_end_ms(jr::now_ms());
  if (!deadline.empty()) {
    auto d = jr::parse_deadline(deadline, jr::now_ms());
    if (!d) return fail(d.error().message);
    deadline_ms = *d;
  }
  jr::NodeCapacity capacity = jr::detect_capacity();
  if (cores < 0) return fail("--cores must be at least 1");
  if (cores > 0) capacity.cores = cores;
  if (!gpu_ids.empty()) {
    auto ids = jr::parse_id_list(gpu_ids);
    if (!ids) return fail(ids.error().message);
    capacity.gpu_ids = *ids;
  }
  std::error_code ec;
  jr::SessionOptions so;
  so.state_dir = state_dir.empty() ? jr::default_state_dir() : std::filesystem::path(state_dir);
  int inherited = jr::socket_from_systemd();
  if (inherited >= 0) so.inherited_socket = inherited;
  else so.public_socket = socket_path.empty() ? jr::default_socket_path(std::filesystem::absolute(so.state_dir, ec))
                                              : std::filesystem::absolute(socket_path, ec);
  jr::notify_socket();  // before any task starts: tasks must not inherit NOTIFY_SOCKET
  so.sync = sync_full ? jr::SyncMode::Full : jr::SyncMode::Normal;
  jr::EngineOptions& eo = so.engine;
  eo.workers = workers;
  eo.grace = *grace_ms;
  eo.sample_every = *sample_ms;
  eo.capacity = capacity;
  eo.pin = pin;
  eo.adopt = adopt;
  eo.sigterm_leaves_tasks = adopt;
  eo.deadline_ms = deadline_ms;
  auto session = jr::EngineSession::open(std::move(so));
  if (!session) return fail(session.error().message);
  const std::filesystem::path& dir = (*session)->state_dir();
  jr::Store& store = (*session)->store();
  jr::Engine& engine = (*session)->engine();
  auto jobs = store.jobs();
  if (!jobs) return fail(jobs.error().message);
  for (auto& job : *jobs) {
    auto resumed = store.resume_interrupted(job.id);
    if (!resumed) return fail(resumed.error().message);
    if (*resumed) spdlog::info("job {}: {} interrupted tasks will run again", job.id, *resumed);
    if (auto st = engine.add_job(job.id, /*hook_ran=*/true); !st) return fail(st.error().message);
  }
  if (auto st = (*session)->begin(); !st) return fail(st.error().message);
  engine.on_finish_end = [](jr::JobId job, const jr::Status& outcome) {
    if (outcome) spdlog::info("job {}: --on-finish done", job);
    else spdlog::warn("job {}: {}", job, outcome.error().message);
  };

  // A store that cannot be written (a full disk) is waited out: tasks are still watched, none
  // starts, and submissions are refused naming it (daemon/job_methods.cpp).
  engine.on_store_failure = [&dir](const jr::Error* failure) {
    if (failure) spdlog::error("cannot write {}; no task starts and no job is accepted until it can", failure->message);
    else spdlog::info("{} can be written again", (dir / "jr.db").string());
  };
  std::string socket = (*session)->task_socket().string();
  spdlog::info("jrd {} serving {} on {} with {} workers", JR_VERSION, dir.string(), socket, workers);
  jr::notify_systemd("READY=1\nSTATUS=serving " + socket);
  bool announced_stop = false;
  while (!((engine.shutting_down() || engine.leaving()) && engine.idle())) {
    if (auto st = engine.turn(); !st) {
      spdlog::error("{}", st.error().message);
      return 1;
    }
    if ((engine.shutting_down() || engine.leaving()) && !announced_stop) {
      announced_stop = true;
      jr::notify_systemd("STOPPING=1");
      if (engine.shutting_down()) spdlog::info("shutting down: stopping running tasks (grace {})", grace);
      else spdlog::info("shutting down: running tasks go on under {}; the next jrd adopts them", engine.keeping());
    }
  }
  if (engine.stopped_for_deadline()) spdlog::info("stopped before the deadline: a jrd started later resumes the jobs");
  spdlog::info("stopped");
  return 0;
}
