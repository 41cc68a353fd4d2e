// Encoding of stored blobs with cereal (portable binary archives).
//
// decode_* return an error instead of throwing when a blob is torn or was written by a jr
// whose struct version this build does not know.
#pragma once

#include <string>

#include "base/result.h"
#include "storage/types.h"

namespace jr {

std::string encode_task_spec(const TaskSpec& spec);
Result<TaskSpec> decode_task_spec(const std::string& blob);
std::string encode_job_spec(const JobSpec& spec);
Result<JobSpec> decode_job_spec(const std::string& blob);

// A hex digest identifying what a task runs (argv, cwd, env): equal specs, equal identity.
std::string task_identity(const TaskSpec& spec);
// A hex digest of a job's command template and how it is run (shell, cwd): a different
// template on the same state is another job.
std::string template_identity(const JobSpec& spec);

}  // namespace jr
