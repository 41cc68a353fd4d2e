#include "cli/views/report_command.h"

#include "base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "base/duration.h"
#include "cli/views/report_html.h"
#include "cli/views/run_facts.h"
#include "storage/run_reads.h"
#include "storage/state_files.h"

namespace jr {
namespace {

constexpr int kExitError = 1;

int fail(const Error& e) {
  std::fprintf(stderr, "jr report: %s\n", e.message.c_str());
  return kExitError;
}

// Every reading of the job's attempts, in attempt order (the order cpu_series walks them).
Result<std::vector<CpuSample>> load_samples(const RunFacts& f) {
  auto store = Store::open_read_only(state_files::store(f.state_dir));
  if (!store) return store.error();
  std::map<std::pair<TaskId, int>, std::size_t> pos;
  for (std::size_t i = 0; i < f.attempts.size(); ++i) pos[{f.tasks[f.attempts[i].task_pos].id, f.attempts[i].attempt}] = i;
  auto samples = job_samples(**store, f.job.id);
  if (!samples) return samples.error();
  std::vector<CpuSample> out;
  for (const SampleRow& s : *samples) {
    auto it = pos.find({s.task, s.attempt});
    if (it != pos.end()) out.push_back({it->second, s.ms, s.cpu_ms});
  }
  std::sort(out.begin(), out.end(), [](const CpuSample& a, const CpuSample& b) {
    return a.attempt_pos != b.attempt_pos ? a.attempt_pos < b.attempt_pos : a.ms < b.ms;
  });
  return out;
}

}  // namespace

int report_command(const ReportOptions& o) {
  FactsOptions fo;
  fo.failures = 50;
  fo.tail_lines = 5;
  auto facts = load_run_facts(o.state_dir, o.job, fo);
  if (!facts) return fail(facts.error());
  auto samples = load_samples(*facts);
  if (!samples) return fail(samples.error());
  std::string html = report_html(*facts, *samples);
  if (auto st = write_file_atomically(o.output, html); !st) return fail(st.error());
  std::fprintf(stderr, "jr report: wrote %s (%zu tasks, %s)\n", o.output.c_str(), facts->tasks.size(),
               format_size(html.size()).c_str());
  return 0;
}

}  // namespace jr
