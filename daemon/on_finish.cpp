#include "daemon/on_finish.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <vector>

extern char** environ;

namespace jr {

Status run_on_finish(const std::string& command, JobId job, const std::string& job_state, const StateCounts& c) {
  auto n = [&c](TaskState s) { return std::to_string(c[static_cast<std::size_t>(s)]); };
  std::int64_t total = 0;
  for (int s = 0; s < kTaskStateCount; ++s) {
    if (static_cast<TaskState>(s) != TaskState::Dropped) total += c[static_cast<std::size_t>(s)];
  }
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  env.push_back("JR_JOB_ID=" + std::to_string(job));
  env.push_back("JR_JOB_STATE=" + job_state);
  env.push_back("JR_TOTAL=" + std::to_string(total));
  env.push_back("JR_SUCCEEDED=" + n(TaskState::Succeeded));
  env.push_back("JR_FAILED=" + n(TaskState::Failed));
  env.push_back("JR_CANCELLED=" + n(TaskState::Cancelled));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string cmd = command;
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, cmd.data(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, envp.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error(ErrorCode::Io, std::string("--on-finish: cannot run /bin/sh: ") + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return make_error(ErrorCode::Io, "--on-finish command failed (" +
                                       (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                          : "signal " + std::to_string(WTERMSIG(status))) + ")");
}

}  // namespace jr
