#include "engine/on_finish.h"

#include <spawn.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>

namespace jr {

Result<pid_t> start_on_finish(const std::string& command, const std::string& cwd, const std::vector<std::string>& base_env,
                              JobId job, const std::string& job_state, const StateCounts& c) {
  auto n = [&c](TaskState s) { return std::to_string(c[static_cast<std::size_t>(s)]); };
  std::int64_t total = 0;
  for (int s = 0; s < kTaskStateCount; ++s) {
    if (static_cast<TaskState>(s) != TaskState::Dropped) total += c[static_cast<std::size_t>(s)];
  }
  std::vector<std::string> env = base_env;
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
  // The engine blocks the signals it reads from its signalfd; the hook gets none of that.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return make_error(ErrorCode::Io, "--on-finish: cannot run /bin/sh in " + cwd + ": " + std::strerror(rc));
  }
  return pid;
}

Status on_finish_outcome(int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return make_error(ErrorCode::Io, "--on-finish command failed (" +
                                       (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                          : "signal " + std::to_string(WTERMSIG(status))) + ")");
}

}  // namespace jr
