#include "cli/target.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "base/duration.h"
#include "cli/daemon_client.h"
#include "cli/views/engine_gone_view.h"
#include "daemon/queries.h"
#include "protocol/params.h"
#include "storage/engine_gone.h"
#include "storage/engine_lock.h"
#include "storage/state_files.h"
#include "storage/store.h"

namespace jr {

using json = nlohmann::json;

namespace {

class SocketTarget : public Target {
 public:
  explicit SocketTarget(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}
  Result<json> call(const std::string& method, const json& params) override { return conn_->call(method, params); }
  Result<std::filesystem::path> state_dir() override {
    auto reply = conn_->call("ping", json::object());
    if (!reply) return reply.error();
    return std::filesystem::path(reply->value("state_dir", ""));
  }
  bool live() const override { return true; }

 private:
  std::unique_ptr<Connection> conn_;
};

// A state directory no engine runs on: the queries answered from its store, read-only.
class StoreTarget : public Target {
 public:
  StoreTarget(std::filesystem::path dir, std::unique_ptr<Store> store) : dir_(std::move(dir)), store_(std::move(store)) {}

  Result<json> call(const std::string& method, const json& params) override {
    if (method != "list" && method != "status" && method != "tasks" && method != "events") {
      return make_error(ErrorCode::Unavailable, "no engine runs on " + dir_.string() +
                                                    " (the job is not running): nothing can act on it now");
    }
    // The same checks as jrd's, so that a request gets the same answer from either.
    JR_TRY(check_params(*find_method(method), params));
    if (method == "list") {
      auto want = job_state_param(params);
      if (!want) return want.error();
      return list(*want);
    }
    auto job = find(params);
    if (!job) return job.error();
    if (method == "status") return status(*job);
    if (method == "tasks") {
      auto reply = tasks_reply(*store_, job->id, params, dir_);
      if (!reply) return reply.error();
      auto gone = find_gone_engine(*store_, dir_);
      if (!gone) return gone.error();
      if (*gone) show_engine_gone_tasks((*reply)["tasks"], **gone);
      return reply;
    }
    auto events = events_json(*store_, job->id, int_param(params, "after", 0), int_param(params, "limit", 10000));
    if (!events) return events.error();
    return json{{"events", *events}};
  }
  Result<std::filesystem::path> state_dir() override { return dir_; }
  bool live() const override { return false; }

 private:
  // The job `params` names by "job" (an id) or "name" (the latest of that name).
  Result<JobRow> find(const json& params) {
    auto jobs = store_->jobs();
    if (!jobs) return jobs.error();
    std::optional<JobRow> found;
    std::string ref;
    if (params.contains("job")) {
      JobId id = int_param(params, "job", 0);
      ref = std::to_string(id);
      for (auto& j : *jobs) {
        if (j.id == id) found = j;
      }
    } else {
      ref = string_param(params, "name", "");
      for (auto& j : *jobs) {
        if (j.name == ref) found = j;
      }
    }
    if (!found) return make_error(ErrorCode::NotFound, "no job " + ref + " in " + dir_.string());
    return *found;
  }

  Result<json> status(const JobRow& job) {
    auto counts = store_->count_states(job.id);
    if (!counts) return counts.error();
    json out = job_json(job, *counts);
    auto gone = find_gone_engine(*store_, dir_);
    if (!gone) return gone.error();
    if (*gone) show_engine_gone(out, **gone);
    return out;
  }

  Result<json> list(const std::string& state) {
    auto jobs = store_->jobs();
    if (!jobs) return jobs.error();
    json out = json::array();
    for (auto& j : *jobs) {
      auto one = status(j);
      if (!one) return one.error();
      if (state.empty() || (*one)["state"] == state) out.push_back(std::move(*one));
    }
    return json{{"jobs", out}};
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

Result<std::unique_ptr<Target>> open_socket(const std::string& path) {
  auto conn = connect_daemon(path);
  if (!conn) return conn.error();
  return std::unique_ptr<Target>(std::make_unique<SocketTarget>(std::move(*conn)));
}

Result<std::unique_ptr<Target>> open_state(const std::filesystem::path& given) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(given, ec);
  if (!std::filesystem::exists(state_files::store(dir), ec)) {
    return make_error(ErrorCode::NotFound, dir.string() + " holds no jr state (no jr.db)");
  }
  auto store = Store::open_read_only(state_files::store(dir));
  if (!store) return store.error();
  // Every engine serves its state directory's own socket: while one runs, ask it (it knows
  // what runs now, and can act); a socket that does not answer yet leaves the store to read.
  if (EngineLock::holder(dir) != 0) {
    auto conn = Connection::open(state_files::socket(dir, (*store)->state_id()).string());
    if (conn) return std::unique_ptr<Target>(std::make_unique<SocketTarget>(std::move(*conn)));
  }
  return std::unique_ptr<Target>(std::make_unique<StoreTarget>(dir, std::move(*store)));
}

// ./.jr, where `jr run` keeps its state by default, when it holds a store.
std::optional<std::filesystem::path> local_state() {
  std::error_code ec;
  std::filesystem::path local(state_files::kRunStateDir);
  if (std::filesystem::exists(state_files::store(local), ec)) return local;
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<Target>> Target::open(const TargetFlags& flags) {
  if (!flags.socket.empty() && !flags.state_dir.empty()) {
    return make_error(ErrorCode::Usage, "give --socket or --state, not both");
  }
  if (!flags.socket.empty()) return open_socket(flags.socket);
  if (!flags.state_dir.empty()) return open_state(flags.state_dir);
  if (const char* env = std::getenv("JR_DAEMON_SOCKET"); env && *env) return open_socket(env);
  if (auto local = local_state()) return open_state(*local);
  return open_socket(daemon_socket_path(""));
}

TargetSession::TargetSession(TargetFlags flags, std::string command, std::int64_t patience_ms)
    : flags_(std::move(flags)), command_(std::move(command)), patience_ms_(patience_ms) {}

Status TargetSession::reconnect() {
  if (on_lost) on_lost();
  std::fprintf(stderr, "jr %s: lost the engine, reconnecting…\n", command_.c_str());
  std::int64_t deadline = monotonic_ms() + patience_ms_;
  for (;;) {
    auto target = Target::open(flags_);
    if (target) {
      target_ = std::move(*target);
      return {};
    }
    if (target.error().code != ErrorCode::Unavailable) return target.error();
    if (monotonic_ms() >= deadline) {
      return make_error(ErrorCode::Unavailable, "lost the engine (" + target.error().message +
                                                    ") and it did not come back within " +
                                                    format_duration(Millis(patience_ms_)));
    }
    // A restarting daemon needs a moment to recover before it listens again.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<json> TargetSession::call(const std::string& method, const json& params) {
  if (!target_) {
    auto target = Target::open(flags_);
    if (!target) return target.error();
    target_ = std::move(*target);
  }
  auto reply = target_->call(method, params);
  // Unavailable from a store is an answer (no engine can act); from a socket, a lost engine.
  if (reply || reply.error().code != ErrorCode::Unavailable || !target_->live()) return reply;
  target_.reset();
  JR_TRY(reconnect());
  return target_->call(method, params);
}

Result<std::filesystem::path> target_state_dir(const TargetFlags& flags) {
  if (!flags.socket.empty() && !flags.state_dir.empty()) {
    return make_error(ErrorCode::Usage, "give --socket or --state, not both");
  }
  if (!flags.state_dir.empty()) return std::filesystem::path(flags.state_dir);
  if (flags.socket.empty()) {
    const char* env = std::getenv("JR_DAEMON_SOCKET");
    if (!(env && *env)) {
      if (auto local = local_state()) return *local;
    }
  }
  auto target = open_socket(daemon_socket_path(flags.socket));
  if (!target) return target.error();
  return (*target)->state_dir();
}

}  // namespace jr
