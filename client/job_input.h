// What a job is made from on the command line, shared by `jr run` and `jr submit`.
//
// read_task_lines reads `--tasks FILE` ("-": stdin): one shell command per line, blank lines
// and lines starting with # skipped; a file holding no command is a Usage error.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

Result<std::vector<std::string>> read_task_lines(const std::string& path);

}  // namespace jr
