#include "cli/daemon/logs_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "cli/daemon_client.h"
#include "cli/daemon/log_file.h"
#include "cli/target.h"

namespace jr {

using json = nlohmann::json;

namespace {

constexpr int kFollowPollMs = 100;

// An open log file and how much of it has been printed. The file may not exist yet (the task
// has not started): then nothing is printed and the next call tries again. It may lose its
// name (the attempt ended having written nothing; cli/daemon/log_file.h): then it is closed, and
// the next call opens whatever has the name by then.
class LogReader {
 public:
  explicit LogReader(std::string path, std::FILE* out = stdout) : path_(std::move(path)), out_(out) {}
  ~LogReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // Prints everything written since the last call.
  Status drain() {
    if (fd_ < 0) {
      fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) {
        if (errno == ENOENT) return {};
        return make_error(ErrorCode::Io, "cannot read " + path_ + ": " + std::strerror(errno));
      }
    }
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return make_error(ErrorCode::Io, "cannot read " + path_ + ": " + std::strerror(errno));
      // Checked after the read: what was read is another task's once the name is gone (the
      // attempt ended having written nothing; a later attempt gets the name afresh).
      if (!still_named(fd_, path_)) {
        ::close(fd_);
        fd_ = -1;
        break;
      }
      if (n == 0) break;
      std::fwrite(buf, 1, static_cast<std::size_t>(n), out_);
    }
    std::fflush(out_);
    return {};
  }

 private:
  std::string path_;
  std::FILE* out_;
  int fd_ = -1;
};

bool ended(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "cancelled" || state == "dropped";
}

// The task a JOB:INDEX names: the one not dropped, if the daemon returns several.
Result<json> find_task(const DaemonCall& call, const json& params) {
  auto reply = call("tasks", params);
  if (!reply) return reply.error();
  auto& tasks = (*reply)["tasks"];
  if (tasks.empty()) return make_error(ErrorCode::NotFound, "no such task");
  for (auto& t : tasks) {
    if (t.value("state", "") != "dropped") return t;
  }
  return tasks.front();
}

int print_all(const LogsOptions& o, const json& params) {
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return report("logs", target.error());
  auto call = [&](const std::string& m, const json& p) { return (*target)->call(m, p); };
  auto resolved = resolve_job(call, params);
  if (!resolved) return report("logs", resolved.error());
  auto tasks = fetch_all(call, "tasks", *resolved);
  if (!tasks) return report("logs", tasks.error());
  long long job = (*resolved)["job"].get<long long>();
  for (auto& t : *tasks) {
    std::printf("==> task %lld:%lld (%s) <==\n", job, t.value("index", 0LL), t.value("state", "?").c_str());
    LogReader log(t.value(o.stderr_log ? "stderr" : "stdout", ""));
    if (auto st = log.drain(); !st) return report("logs", st.error());
  }
  return kExitOk;
}

// No JOB: the one job of the target (a `jr run`'s state holds one), each task's stdout to
// stdout and stderr to stderr, in input order, as `jr run -k` printed them.
int print_streams(const LogsOptions& o) {
  auto target = Target::open({o.socket, o.state_dir});
  if (!target) return report("logs", target.error());
  auto call = [&](const std::string& m, const json& p) { return (*target)->call(m, p); };
  auto jobs = call("list", json::object());
  if (!jobs) return report("logs", jobs.error());
  auto& list = (*jobs)["jobs"];
  if (list.size() != 1) {
    return report("logs", make_error(ErrorCode::Usage, list.empty() ? "no job has run here"
                                                                     : std::to_string(list.size()) + " jobs here: give JOB"));
  }
  auto tasks = fetch_all(call, "tasks", json{{"job", list.front()["id"]}});
  if (!tasks) return report("logs", tasks.error());
  for (auto& t : *tasks) {
    if (t.value("state", "") == "dropped") continue;  // no longer asked for: not part of this input
    LogReader out(t.value("stdout", ""), stdout), err(t.value("stderr", ""), stderr);
    if (auto st = out.drain(); !st) return report("logs", st.error());
    if (auto st = err.drain(); !st) return report("logs", st.error());
  }
  return kExitOk;
}

}  // namespace

int logs_command(const LogsOptions& o) {
  if (o.target.empty()) {
    if (o.follow) return report("logs", make_error(ErrorCode::Usage, "-f follows one task: give JOB:INDEX"));
    return print_streams(o);
  }
  auto params = task_params(o.target);
  if (!params) return report("logs", params.error());
  if (!params->contains("index")) {
    if (o.follow) return report("logs", make_error(ErrorCode::Usage, "-f follows one task: give JOB:INDEX"));
    return print_all(o, *params);
  }
  TargetSession session({o.socket, o.state_dir}, "logs");
  DaemonCall call = [&session](const std::string& m, const json& p) { return session.call(m, p); };
  auto resolved = resolve_job(call, *params);
  if (!resolved) return report("logs", resolved.error());
  auto task = find_task(call, *resolved);
  if (!task) return report("logs", task.error());
  LogReader log(task->value(o.stderr_log ? "stderr" : "stdout", ""));
  for (;;) {
    // Drained after the state was read: once a task has ended, its log is complete.
    bool done = !o.follow || ended(task->value("state", ""));
    if (auto st = log.drain(); !st) return report("logs", st.error());
    if (done) return kExitOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(kFollowPollMs));
    task = find_task(call, *resolved);
    if (!task) return report("logs", task.error());
  }
}

}  // namespace jr
