#include "cli/daemon/wait_command.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "base/duration.h"
#include "base/plural.h"
#include "cli/daemon_client.h"
#include "cli/daemon/job_format.h"
#include "cli/run/progress_line.h"
#include "cli/target.h"

namespace jr {

using json = nlohmann::json;

namespace {

constexpr std::int64_t kPollMs = 200;

struct Outcome {
  int exit_code;
  std::string line;
};

// How a finished job ends this command; nullopt while it is not finished.
std::optional<Outcome> finished(const json& job) {
  std::string state = job.value("state", "");
  std::string id = std::to_string(job.value("id", std::int64_t{0}));
  std::string tasks = counted(job.value("total", std::int64_t{0}), "task");
  auto c = counts_from_json(job);
  if (state == "succeeded") {
    return Outcome{kExitOk, "job " + id + " succeeded (" + tasks + ")"};
  }
  if (state == "failed") {
    std::int64_t failed = count_of(c, TaskState::Failed);
    if (failed == 0) return Outcome{kExitError, "job " + id + " failed: " + job.value("reason", "")};
    return Outcome{kExitError, "job " + id + " failed: " + std::to_string(failed) + " of " + tasks +
                                   " failed (jr tasks " + id + " --only failed)"};
  }
  if (state == "cancelled") {
    return Outcome{kExitCancelled, "job " + id + " cancelled (" + std::to_string(count_of(c, TaskState::Cancelled)) +
                                       " of " + tasks + " cancelled)"};
  }
  return std::nullopt;
}

}  // namespace

int wait_command(const WaitOptions& o) {
  auto params = job_params(o.job);
  if (!params) return report("wait", params.error());
  std::optional<std::int64_t> deadline;
  if (!o.timeout.empty()) {
    auto t = parse_duration(o.timeout);
    if (!t) return report("wait", make_error(ErrorCode::Usage, t.error().message));
    deadline = monotonic_ms() + t->count();
  }
  TargetSession session({o.socket, o.state_dir}, "wait");
  std::unique_ptr<ProgressLine> progress;
  session.on_lost = [&progress] {
    if (progress) progress->clear();
  };
  for (;;) {
    auto job = session.call("status", *params);
    if (!job) {
      if (progress) progress->clear();
      return report("wait", job.error());
    }
    // Later polls name the job by id: a name could come to mean a newer job.
    *params = json{{"job", (*job)["id"]}};
    if (!progress) {
      // The line goes where a person is looking; ProgressLine stays silent off a terminal.
      progress = std::make_unique<ProgressLine>(isatty(STDERR_FILENO) ? stderr : stdout, job->value("total", 0LL));
    }
    progress->update(counts_from_json(*job));
    if (auto outcome = finished(*job)) {
      progress->clear();
      std::fprintf(stderr, "jr wait: %s\n", outcome->line.c_str());
      return outcome->exit_code;
    }
    if (!session.live()) {
      // A state directory no engine runs on: nothing will change it until one starts.
      progress->clear();
      std::fprintf(stderr, "jr wait: job %lld has not finished (it is %s) and no engine runs on its state "
                   "directory; run it again (the same jr run command) to finish it\n",
                   static_cast<long long>(job->value("id", 0LL)), job->value("state", "?").c_str());
      return kExitNoDaemon;
    }
    std::int64_t now = monotonic_ms();
    if (deadline && now >= *deadline) {
      progress->clear();
      std::fprintf(stderr, "jr wait: job %lld not finished after %s (it is %s and keeps going)\n",
                   static_cast<long long>(job->value("id", 0LL)), o.timeout.c_str(),
                   job->value("state", "?").c_str());
      return kExitTimeout;
    }
    std::int64_t pause = deadline ? std::min(kPollMs, *deadline - now) : kPollMs;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause));
  }
}

}  // namespace jr
