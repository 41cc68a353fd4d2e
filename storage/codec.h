// Encoding of stored blobs with cereal (portable binary archives).
//
// decode_* return an error instead of throwing when a blob is torn or was written by a jr
// whose struct version this build does not know.
#pragma once

#include <cstdint>
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
// The identity of the k-th (from 0) of a run's tasks with equal specs: the digest itself for
// the first, "<digest>.<k>" for the next ones. So the k-th copy matches the k-th copy of the
// next run, and a store from before copies were told apart (it holds one task per digest, under
// the digest alone) matches the first copy.
std::string occurrence_identity(const std::string& digest, std::uint64_t k);
// A hex digest of a job's command template and how it is run (shell, cwd): a different
// template on the same state is another job.
std::string template_identity(const JobSpec& spec);

}  // namespace jr
