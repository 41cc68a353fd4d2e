#include "job/job_options.h"

#include "base/duration.h"

namespace jr {

Status apply_job_options(const JobOptions& o, JobSpec* spec) {
  auto usage = [](std::string m) { return make_error(ErrorCode::Usage, std::move(m)); };
  if (o.keep_checkpoints < 1) return usage("--keep-checkpoints must be at least 1");
  auto max_checkpoint = parse_size(o.max_checkpoint);
  if (!max_checkpoint) return max_checkpoint.error();
  auto max_result = parse_size(o.max_result);
  if (!max_result) return max_result.error();
  auto stall_timeout = parse_duration(o.stall_timeout);
  if (!stall_timeout) return stall_timeout.error();
  if (o.stall_action != "report" && o.stall_action != "kill") return usage("--stall-action must be report or kill");
  std::int64_t expect = 0;
  if (!o.expect.empty()) {
    auto e = parse_duration(o.expect);
    if (!e) return e.error();
    expect = e->count();
  }
  spec->keep_checkpoints = o.keep_checkpoints;
  spec->max_checkpoint_bytes = *max_checkpoint;
  spec->max_result_bytes = *max_result;
  spec->stall_timeout_ms = stall_timeout->count();
  spec->stall_kill = o.stall_action == "kill";
  spec->expect_ms = expect;
  spec->output = o.output;
  spec->on_finish = o.on_finish;
  return {};
}

}  // namespace jr
