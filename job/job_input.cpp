#include "job/job_input.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "job/template.h"

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

StdinKind stdin_kind() {
  if (::isatty(STDIN_FILENO)) return StdinKind::Terminal;
  struct stat sb {};
  if (::fstat(STDIN_FILENO, &sb) != 0) return StdinKind::Other;
  const bool data = S_ISFIFO(sb.st_mode) || S_ISREG(sb.st_mode) || S_ISSOCK(sb.st_mode);
  return data ? StdinKind::Data : StdinKind::Other;
}

Result<std::vector<std::string>> read_stdin_inputs() {
  std::ostringstream text;
  text << std::cin.rdbuf();
  if (std::cin.bad()) return make_error(ErrorCode::Usage, std::string("cannot read inputs from standard input: ") + std::strerror(errno));
  return split_input_lines(text.str());
}

}  // namespace jr
