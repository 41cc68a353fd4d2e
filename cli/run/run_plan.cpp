#include "cli/run/run_plan.h"

#include <filesystem>

#include "base/duration.h"
#include "job/command_check.h"
#include "job/job_input.h"
#include "job/job_options.h"
#include "engine/outputs.h"
#include "job/shard.h"
#include "job/template.h"

namespace jr {
Result<RunPlan> make_run_plan(const RunOptions& o, int parallelism) {
  RunPlan plan;
  JobSpec& spec = plan.spec;
  spec.parallelism = parallelism;
  spec.retries = o.retries;
  spec.shell = o.shell;
  spec.name = o.name;
  JR_TRY(apply_job_options(o, &spec));
  if (!o.timeout.empty()) {
    auto t = parse_duration(o.timeout);
    if (!t) return t.error();
    spec.timeout_ms = t->count();
  }
  if (o.cpus < 0 || o.gpus < 0) return make_error(ErrorCode::Usage, "--cpus and --gpus must be 0 or more");
  std::uint64_t mem = 0;
  if (!o.mem.empty()) {
    auto m = parse_size(o.mem);
    if (!m) return m.error();
    mem = *m;
  }
  auto shard = parse_shard(o.shard);
  if (!shard) return shard.error();

  std::error_code ec;
  spec.cwd = std::filesystem::current_path(ec).string();
  std::shared_ptr<TaskExpander> expander;
  std::shared_ptr<std::vector<std::string>> lines;
  std::shared_ptr<TaskExpander> output;
  std::uint64_t all = 0;
  if (!o.tasks_file.empty()) {
    if (!o.words.empty()) return make_error(ErrorCode::Usage, "give either --tasks FILE or a command, not both");
    if (o.link) return make_error(ErrorCode::Usage, "--link links input sources, and --tasks has none");
    auto read = read_task_lines(o.tasks_file);
    if (!read) return read.error();
    lines = std::make_shared<std::vector<std::string>>(std::move(*read));
    all = lines->size();
  } else {
    auto cl = parse_command_line(o.words);
    if (!cl) return cl.error();
    if (cl->sources.empty()) {
      switch (stdin_kind()) {
        case StdinKind::Terminal:
          plan.note = "no inputs (:::, ::::, --tasks, or lines on standard input): running the command once";
          break;
        case StdinKind::Data: {
          auto inputs = read_stdin_inputs();
          if (!inputs) return inputs.error();
          if (inputs->empty()) {
            plan.note = "no inputs on standard input: nothing to run";
            return plan;
          }
          cl->sources.push_back(std::move(*inputs));
          cl->linked.push_back(false);
          break;
        }
        case StdinKind::Other: break;
      }
    }
    JR_TRY(check_template(cl->command, cl->sources.size()));
    spec.command = cl->command;
    const Linking linking{cl->linked, o.link};
    expander = std::make_shared<TaskExpander>(cl->command, cl->sources, o.shell, linking);
    spec.uses_slot = expander->uses_slot();
    all = expander->size();
    if (!o.output.empty()) {
      JR_TRY(check_output_template(spec.command, o.output, cl->sources.size()));
      output = std::make_shared<TaskExpander>(std::vector<std::string>{o.output}, cl->sources, false, linking);
    }
    // The program, when every task runs the same one: found and runnable, or one line now.
    JR_TRY(check_command(cl->command, *expander, o.shell, spec.cwd));
  }
  if (all == 0) return make_error(ErrorCode::Usage, "no tasks: an input source is empty");
  if (!o.output.empty() && !expander) return make_error(ErrorCode::Usage, "--output needs a command template, not --tasks");
  plan.count = shard->count(all);

  std::string cwd = spec.cwd;
  std::int64_t timeout_ms = spec.timeout_ms;
  int retries = spec.retries;
  int cpus = o.cpus, gpus = o.gpus;
  Shard sh = *shard;
  plan.arguments_at = [=](std::uint64_t j) {
    std::uint64_t i = sh.combination(j);
    return expander ? expander->arguments(i) : (*lines)[i];
  };
  plan.task_at = [=](std::uint64_t j) {
    std::uint64_t i = sh.combination(j);
    TaskSpec t;
    std::string partial;
    if (output) {
      auto out = declared_output(*output, i, cwd);
      t.outputs.push_back(out);
      partial = partial_path(out);
    }
    t.argv = expander ? expander->expand(i, output ? &partial : nullptr)
                      : std::vector<std::string>{"/bin/sh", "-c", (*lines)[i]};
    t.cwd = cwd;
    t.timeout_ms = timeout_ms;
    t.retries = retries;
    t.cpus = cpus;
    t.gpus = gpus;
    t.mem_bytes = mem;
    return t;
  };
  return plan;
}

}  // namespace jr
