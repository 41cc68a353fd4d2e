// What a job is made from on the command line, shared by `jr run` and `jr submit`.
//
// read_task_lines reads `--tasks FILE` ("-": stdin): one shell command per line, blank lines
// and lines starting with # skipped; a file holding no command is a Usage error.
//
// A command line without :::, :::: or --tasks takes its inputs from standard input, one per
// line, as GNU parallel and xargs do, when stdin carries data (a pipe, a FIFO, a socket or a
// file). A terminal is not read (jr run says so and runs the command once); neither is another
// character device such as the /dev/null that Slurm, cron and nohup give, so `jr run -- ./train`
// in a batch script stays one task.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

Result<std::vector<std::string>> read_task_lines(const std::string& path);

enum class StdinKind { Terminal, Data, Other };
StdinKind stdin_kind();
// Every line of stdin as one input (empty lines kept, as from `:::: -`).
Result<std::vector<std::string>> read_stdin_inputs();

}  // namespace jr
