#include "cli/run/dry_run.h"

#include <cstdio>

#include "job/command_text.h"
#include "job/template.h"

namespace jr {

int print_dry_run(const RunPlan& plan, int parallelism) {
  for (std::uint64_t i = 0; i < plan.count; ++i) {
    std::vector<std::string> argv = plan.task_at(i).argv;
    if (plan.spec.uses_slot) argv = with_slot(std::move(argv), static_cast<int>(i % static_cast<std::uint64_t>(parallelism)) + 1);
    const std::string line = command_text(argv) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) return 1;
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace jr
