#include "daemon/queries.h"

#include "storage/codec.h"

namespace jr {

using json = nlohmann::json;

namespace {
std::int64_t count(const StateCounts& c, TaskState s) { return c[static_cast<std::size_t>(s)]; }
}  // namespace

std::string job_state(const JobRow& job, const StateCounts& c) {
  bool open = count(c, TaskState::Pending) + count(c, TaskState::Interrupted) > 0;
  if (count(c, TaskState::Running) > 0) return job.paused ? "paused" : "running";
  if (open) {
    if (job.paused) return "paused";
    bool started = count(c, TaskState::Succeeded) + count(c, TaskState::Failed) + count(c, TaskState::Interrupted) > 0;
    return started ? "running" : "pending";
  }
  if (!job.reason.empty() && !job.cancelled) return "failed";
  if (count(c, TaskState::Failed) > 0) return "failed";
  if (job.cancelled || count(c, TaskState::Cancelled) > 0) return "cancelled";
  return "succeeded";
}

json job_json(const JobRow& job, const StateCounts& c) {
  json counts = json::object();
  std::int64_t total = 0;
  for (int s = 0; s < kTaskStateCount; ++s) {
    counts[std::string(to_string(static_cast<TaskState>(s)))] = c[static_cast<std::size_t>(s)];
    if (static_cast<TaskState>(s) != TaskState::Dropped) total += c[static_cast<std::size_t>(s)];
  }
  return json{{"id", job.id},
              {"name", job.name},
              {"state", job_state(job, c)},
              {"created_ms", job.created_ms},
              {"parallelism", job.spec.parallelism},
              {"priority", job.spec.priority},
              {"after", job.spec.after_job ? json(job.spec.after_job) : json()},
              {"paused", job.paused},
              {"reason", job.reason},
              {"command", job.spec.command},
              {"total", total},
              {"counts", counts}};
}

Result<JobRow> find_job(Store& store, JobId id) {
  auto jobs = store.jobs();
  if (!jobs) return jobs.error();
  if (jobs->empty()) return make_error(ErrorCode::NotFound, "no jobs yet");
  if (id == 0) return jobs->back();
  for (auto& j : *jobs) {
    if (j.id == id) return j;
  }
  return make_error(ErrorCode::NotFound, "no job " + std::to_string(id));
}

Result<json> tasks_json(Store& store, JobId job, std::optional<TaskState> state, std::int64_t offset,
                        std::int64_t limit, const std::filesystem::path& state_dir) {
  auto sel = store.db().prepare(
      "SELECT id, idx, state, attempts, exit_code, signal, start_ms, end_ms, spec FROM tasks "
      "WHERE job_id = ?1 AND (?2 < 0 OR state = ?2) ORDER BY idx, id LIMIT ?3 OFFSET ?4");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, state ? static_cast<int>(*state) : -1).bind(3, limit).bind(4, offset);
  json out = json::array();
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    auto spec = decode_task_spec(sel->blob(8));
    if (!spec) return spec.error();
    auto logs = state_dir / "logs" / std::to_string(sel->i64(0));
    auto opt_int = [&](int col) { return sel->is_null(col) ? json() : json(sel->i64(col)); };
    out.push_back({{"id", sel->i64(0)},
                   {"index", sel->i64(1)},
                   {"state", to_string(static_cast<TaskState>(sel->i32(2)))},
                   {"attempts", sel->i32(3)},
                   {"exit_code", opt_int(4)},
                   {"signal", opt_int(5)},
                   {"start_ms", opt_int(6)},
                   {"end_ms", opt_int(7)},
                   {"argv", spec->argv},
                   {"stdout", logs.string() + ".out"},
                   {"stderr", logs.string() + ".err"}});
  }
  return out;
}

Result<json> events_json(Store& store, JobId job, std::int64_t after, std::int64_t limit) {
  auto sel = store.db().prepare(
      "SELECT e.id, e.ms, e.task_id, t.idx, e.from_state, e.to_state, e.attempt, e.detail FROM events e "
      "LEFT JOIN tasks t ON t.id = e.task_id "
      "WHERE (e.job_id = ?1 OR t.job_id = ?1) AND e.id > ?2 ORDER BY e.id LIMIT ?3");
  if (!sel) return sel.error();
  sel->bind(1, job).bind(2, after).bind(3, limit);
  json out = json::array();
  auto state_or_null = [&](int col) {
    return sel->is_null(col) ? json() : json(to_string(static_cast<TaskState>(sel->i32(col))));
  };
  for (;;) {
    auto row = sel->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({{"id", sel->i64(0)},
                   {"ms", sel->i64(1)},
                   {"task", sel->is_null(2) ? json() : json(sel->i64(2))},
                   {"index", sel->is_null(3) ? json() : json(sel->i64(3))},
                   {"from", state_or_null(4)},
                   {"to", state_or_null(5)},
                   {"attempt", sel->i32(6)},
                   {"detail", sel->text(7)}});
  }
  return out;
}

}  // namespace jr
