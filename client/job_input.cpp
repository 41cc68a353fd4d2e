#include "client/job_input.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

namespace jr {

Result<std::vector<std::string>> read_task_lines(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) return make_error(ErrorCode::Usage, "cannot read tasks file " + path + ": " + std::strerror(errno));
    in = &file;
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    lines.push_back(line);
  }
  if (in->bad()) return make_error(ErrorCode::Usage, "cannot read tasks file " + path);
  if (lines.empty()) return make_error(ErrorCode::Usage, "tasks file " + path + " holds no commands");
  return lines;
}

}  // namespace jr
