#include "cli/run/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "base/duration.h"
#include "base/free_space.h"
#include "base/plural.h"
#include "base/deadline.h"
#include "base/signals.h"
#include "cli/run/dry_run.h"
#include "cli/run/failure_reason.h"
#include "cli/run/fresh_state.h"
#include "cli/run/halt_policy.h"
#include "job/job_input.h"
#include "cli/run/joblog.h"
#include "cli/run/parallelism.h"
#include "cli/run/progress_line.h"
#include "cli/run/run_explain.h"
#include "cli/run/run_output.h"
#include "cli/run/run_plan.h"
#include "job/template.h"
#include "engine/engine.h"
#include "daemon/engine_session.h"
#include "engine/resources.h"
#include "storage/codec.h"
#include "storage/state_files.h"
#include "storage/task_reads.h"

namespace jr {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCancelled = 3;  // as jr wait

int fail(const std::string& message) {
  std::fprintf(stderr, "jr run: %s\n", message.c_str());
  return kExitUsage;
}

std::string describe(const SyncSummary& s) {
  std::string out = counted(s.total, "task") + ": ";
  out += std::to_string(s.skipped) + " already succeeded (skipped), ";
  out += std::to_string(s.resumed) + " interrupted (resumed), ";
  out += std::to_string(s.pending) + " pending, ";
  out += std::to_string(s.added) + " new";
  if (s.retried) out += ", " + std::to_string(s.retried) + " failed (retried)";
  if (s.kept_failed) out += ", " + std::to_string(s.kept_failed) + " failed (kept; --retry-failed reruns them)";
  if (s.adopted) out += ", " + std::to_string(s.adopted) + " still running (adopted)";
  if (s.dropped) out += ", " + std::to_string(s.dropped) + " dropped (no longer asked for)";
  return out;
}

void report_failures(Store& store, JobId job, const std::filesystem::path& dir) {
  auto failed = list_tasks(store, job, TaskState::Failed, 0, 11);
  if (!failed) return;
  int shown = 0;
  for (const TaskListing& t : *failed) {
    if (++shown > 10) {
      std::fprintf(stderr, "  … (jr run lists the first 10)\n");
      break;
    }
    // A task that wrote nothing to stderr has no log file (engine/task_logs.h).
    auto log = state_files::task_stderr(dir, t.id);
    std::error_code ec;
    std::string where = std::filesystem::exists(log, ec) ? log.string() : "nothing on stderr";
    std::string how = failure_reason(t.detail, t.exit_code, t.signal);
    std::fprintf(stderr, "  task %lld %s: %s\n", static_cast<long long>(t.index), how.c_str(), where.c_str());
  }
}

}  // namespace

int run_command(const RunOptions& o) {
  // Everything the user can get wrong is checked before anything is written.
  auto parallelism = parse_parallelism(o.jobs, usable_cpus());
  if (!parallelism) return fail(parallelism.error().message);
  const int jobs = *parallelism;
  if (o.retries < 0) return fail("--retries must be 0 or more");
  auto halt = parse_halt_policy(o.halt.empty() ? "never" : o.halt);
  if (!halt) return fail(halt.error().message);
  auto plan = make_run_plan(o, jobs);
  if (!plan) return fail(plan.error().message);
  if (!plan->note.empty()) std::fprintf(stderr, "jr run: %s\n", plan->note.c_str());
  if (!plan->task_at) return 0;  // nothing to run: standard input held no line
  JobSpec& spec = plan->spec;
  if (o.dry_run) return print_dry_run(*plan, jobs);
  if (o.explain) return explain_run(o, *plan);
  auto grace = parse_duration(o.grace);
  if (!grace) return fail(grace.error().message);
  auto preempt = parse_signal(o.preempt_signal);
  if (!preempt) return fail(preempt.error().message);
  auto sample_every = parse_duration(o.sample_every);
  if (!sample_every) return fail(sample_every.error().message);
  std::int64_t deadline = 0;
  if (!o.deadline.empty()) {
    auto d = parse_deadline(o.deadline, now_ms());
    if (!d) return fail(d.error().message);
    deadline = *d;
  } else {
    deadline = slurm_job_end_ms(now_ms());
  }
  NodeCapacity capacity = detect_capacity();
  if (o.cores < 0) return fail("--cores must be at least 1");
  if (o.cores > 0) capacity.cores = o.cores;
  if (!o.gpu_ids.empty()) {
    auto ids = parse_id_list(o.gpu_ids);
    if (!ids) return fail(ids.error().message);
    capacity.gpu_ids = *ids;
  }
  if (auto st = ResourcePool(capacity, o.pin).check_fits(plan->task_at(0)); !st) return fail(st.error().message);

  SessionOptions so;
  so.state_dir = o.state_dir;
  so.sync = o.sync_full ? SyncMode::Full : SyncMode::Normal;
  so.signals = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, *preempt};
  so.accept_submissions = false;
  if (o.fresh) so.before_open = start_afresh;
  EngineOptions& eo = so.engine;
  eo.workers = jobs;
  eo.grace = *grace;
  eo.sample_every = *sample_every;
  eo.deadline_ms = deadline;
  eo.capacity = capacity;
  eo.pin = o.pin;
  eo.adopt = o.adopt;
  std::error_code ec;
  spec.cwd = std::filesystem::current_path(ec).string();
  std::string template_id = template_identity(spec);

  // The engine opened on DIR, the job created or resumed in it, and the engine's run recorded:
  // the steps that write before any task starts. A usage error (another job in DIR) is final.
  struct Started {
    std::unique_ptr<EngineSession> session;
    JobId job = 0;
    bool resuming = false;
    SyncSummary summary;
  };
  auto start = [&]() -> Result<Started> {
    Started st;
    auto session = EngineSession::open(so);
    if (!session) return session.error();
    st.session = std::move(*session);
    Store& store = st.session->store();
    auto existing = store.jobs();
    if (!existing) return existing.error();
    for (auto& j : *existing) {
      if (j.template_id == template_id) st.job = j.id;
    }
    if (!existing->empty() && st.job == 0) {
      return make_error(ErrorCode::Conflict, st.session->state_dir().string() +
                                                 " holds another job (a different command, or run from another directory); to start afresh add --fresh (its record is deleted), "
                                                 "or use another --state");
    }
    st.resuming = st.job != 0;
    if (!st.resuming) {
      auto created = store.create_job(spec, template_id);
      if (!created) return created.error();
      st.job = *created;
    } else {
      // This run's -j and retries, not the first run's: a requeue may land on a bigger allocation.
      JR_TRY(store.update_job_spec(st.job, spec));
    }
    auto summary = store.sync_tasks(st.job, plan->count, plan->task_at, o.retry_failed);
    if (!summary) return summary.error();
    st.summary = *summary;
    JR_TRY(st.session->engine().add_job(st.job));
    JR_TRY(st.session->begin());
    return st;
  };
  // A state directory whose file system is full is waited out, as a full disk during a run:
  // nothing has started, and a requeued job must not end as failed (1) or misused (2) because
  // its disk was full when the scheduler started it. SIGTERM or the preempt signal meanwhile:
  // 143, resume me; SIGINT: 130.
  auto started = start();
  auto disk_full = [&] { return !started && started.error().code == ErrorCode::Io && file_system_full(o.state_dir); };
  if (disk_full()) {
    std::fprintf(stderr, "jr run: cannot write %s (its file system is full: %s); nothing starts until it can\n",
                 o.state_dir.c_str(), started.error().message.c_str());
  }
  for (std::int64_t wait_ms = 1000; disk_full(); wait_ms = std::min<std::int64_t>(2 * wait_ms, 8000)) {
    if (int sig = wait_for_signal(wait_ms, {SIGINT, SIGTERM, SIGHUP, *preempt})) {
      std::fprintf(stderr, "jr run: interrupted by %s while the disk was full; nothing started: run the same command again\n",
                   signal_name(sig).c_str());
      return sig == SIGINT ? 130 : 143;
    }
    started = start();
    if (started) std::fprintf(stderr, "jr run: %s can be written again\n", o.state_dir.c_str());
  }
  if (!started) return fail(started.error().message);
  std::unique_ptr<EngineSession> session = std::move(started->session);
  const std::filesystem::path& dir = session->state_dir();
  Store& store = session->store();
  Engine& engine = session->engine();
  const JobId job = started->job;
  const bool resuming = started->resuming;
  const auto summary = std::move(started->summary);
  if (resuming) std::fprintf(stderr, "jr run: resuming %s: %s\n", dir.c_str(), describe(summary).c_str());

  std::unique_ptr<Joblog> joblog;
  if (!o.joblog.empty()) {
    auto jl = Joblog::open(o.joblog);
    if (!jl) return fail(jl.error().message);
    joblog = std::move(*jl);
  }
  ProgressLine progress(stderr, summary.total);
  std::unique_ptr<RunOutput> output;
  if (!o.quiet) {
    auto attached = RunOutput::attach(o, *plan, job, *session, [&] { progress.clear(); },
                                      [&] { progress.update(engine.counts(job), true); });
    if (!attached) return fail(attached.error().message);
    output = std::move(*attached);
  }
  std::int64_t ended_failed = 0, ended_succeeded = 0;
  engine.on_task_end = [&](const TaskEnd& end) {
    if (joblog) joblog->write(end);
    if (output) output->ended(end);
    ended_failed += end.state == TaskState::Failed;
    ended_succeeded += end.state == TaskState::Succeeded;
    if (!engine.halted() && halt->trips(ended_failed, ended_succeeded, summary.total)) {
      engine.halt(halt->when == HaltPolicy::When::Now);
    }
    progress.update(engine.counts(job));
  };
  // A store that cannot be written (a full disk) is waited out, not a failure of the job.
  engine.on_store_failure = [&](const Error* failure) {
    progress.clear();
    if (failure) {
      std::fprintf(stderr, "jr run: cannot write %s; no task starts until it can (running tasks are still watched)\n",
                   failure->message.c_str());
    } else {
      std::fprintf(stderr, "jr run: %s can be written again; tasks start again\n", (dir / "jr.db").c_str());
    }
    progress.update(engine.counts(job), true);
  };
  // The engine runs --on-finish when the job ends, and run() waits for it.
  engine.on_finish_end = [&](JobId, const Status& outcome) {
    progress.clear();
    if (!outcome) std::fprintf(stderr, "jr run: %s\n", outcome.error().message.c_str());
  };
  progress.update(engine.counts(job), true);
  // The line moves while tasks run, not only when one ends: the running count, the rate.
  if (progress.enabled()) engine.set_ticker(Millis(1000), [&] { progress.update(engine.counts(job), true); });
  auto st = engine.run();
  if (output) output->finish();
  progress.update(engine.counts(job), true);
  progress.clear();
  if (!st) {
    std::fprintf(stderr, "jr run: %s\n", st.error().message.c_str());
    return kExitFailed;
  }

  if (engine.unwritten_ends() > 0) {
    std::fprintf(stderr, "jr run: the ends of %s could not be written (%s): they run again next time\n",
                 counted(static_cast<std::int64_t>(engine.unwritten_ends()), "task").c_str(),
                 engine.store_failure() ? engine.store_failure()->message.c_str() : "the store cannot be written");
  }
  auto c = engine.counts(job);
  auto n = [&c](TaskState s) { return c[static_cast<std::size_t>(s)]; };
  if (engine.shutting_down() && engine.stopped_for_deadline()) {
    std::fprintf(stderr, "jr run: stopped before the deadline: %lld succeeded, %lld interrupted, %lld pending; "
                 "run the same command again (in a new allocation) to resume\n",
                 static_cast<long long>(n(TaskState::Succeeded)),
                 static_cast<long long>(n(TaskState::Interrupted)),
                 static_cast<long long>(n(TaskState::Pending)));
    return 143;
  }
  if (engine.shutting_down()) {
    int sig = engine.shutdown_signal();
    std::fprintf(stderr, "jr run: interrupted by %s: %lld succeeded, %lld interrupted, %lld pending; "
                 "run the same command again to resume\n", signal_name(sig).c_str(),
                 static_cast<long long>(n(TaskState::Succeeded)),
                 static_cast<long long>(n(TaskState::Interrupted)),
                 static_cast<long long>(n(TaskState::Pending)));
    return sig == SIGINT ? 130 : 143;
  }
  if (engine.halted()) {
    std::fprintf(stderr, "jr run: halted (--halt %s): %lld succeeded, %lld failed, %lld interrupted, %lld not started; "
                 "run the same command again to resume\n", halt->text.c_str(),
                 static_cast<long long>(n(TaskState::Succeeded)), static_cast<long long>(n(TaskState::Failed)),
                 static_cast<long long>(n(TaskState::Interrupted)), static_cast<long long>(n(TaskState::Pending)));
  }
  if (n(TaskState::Cancelled) > 0 && n(TaskState::Failed) == 0) {
    std::fprintf(stderr, "jr run: cancelled (jr cancel): %lld succeeded, %lld cancelled\n",
                 static_cast<long long>(n(TaskState::Succeeded)), static_cast<long long>(n(TaskState::Cancelled)));
    return kExitCancelled;
  }
  if (n(TaskState::Failed) > 0) {
    std::fprintf(stderr, "jr run: %lld of %s failed:\n", static_cast<long long>(n(TaskState::Failed)),
                 counted(summary.total, "task").c_str());
    report_failures(store, job, dir);
    return kExitFailed;
  }
  std::fprintf(stderr, "jr run: %s succeeded\n", counted(n(TaskState::Succeeded), "task").c_str());
  return 0;
}

}  // namespace jr
