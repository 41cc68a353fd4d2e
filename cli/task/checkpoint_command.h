// `jr checkpoint save|list|get` and `jr result save`.
//
// save commands run inside a task: they reach the task's engine through JR_SOCKET and name
// the attempt by JR_RUN, and return only once the engine has committed the bytes. list and
// get read a state directory's store directly, read-only, so they work while the engine runs
// and after it has gone. Each returns the process exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jr {

int checkpoint_save_command(const std::vector<std::string>& files);
int result_save_command(const std::string& file);
int checkpoint_list_command(const std::string& state_dir, const std::string& task_ref, bool json);
int checkpoint_get_command(const std::string& state_dir, const std::string& task_ref, std::int64_t seq,
                           const std::string& out_dir);

}  // namespace jr
