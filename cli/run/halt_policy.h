// `--halt`: GNU parallel's policy for stopping a job early, checked as tasks end.
//
// A policy is `never`, or WHEN,WHY=LIMIT: WHEN is `soon` (start no new task, let running ones
// end) or `now` (also stop running ones: they are interrupted, and a later `jr run` resumes
// them); WHY is `fail`, `success` or `done` (either); LIMIT is a count, or a percentage of the
// job's tasks. parallel's shorthands 0, 1, 2, -1, -2 and 1-99% are accepted too. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace jr {

struct HaltPolicy {
  enum class When : std::uint8_t { Never, Soon, Now } when = When::Never;
  enum class Why : std::uint8_t { Fail, Success, Done } why = Why::Fail;
  std::int64_t count = 0;  // halt at this many tasks; 0 with percent > 0: use the percentage
  double percent = 0;
  std::string text;        // as the user wrote it, for messages

  // Whether the job stops, after `failed` and `succeeded` tasks ended (finally: a task that will
  // be retried has not failed yet) out of `total`.
  bool trips(std::int64_t failed, std::int64_t succeeded, std::int64_t total) const;
};

Result<HaltPolicy> parse_halt_policy(const std::string& text);

}  // namespace jr
