#include "job/command_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <vector>

namespace jr {
namespace {

// The first shell operator in `word`, if any: what makes it a shell command, not a program name.
std::string_view shell_operator(std::string_view word) {
  for (std::string_view op : {"&&", "||", ">>", ">", "<", "|", ";", "&", "$(", "`"}) {
    if (word.find(op) != std::string_view::npos) return op;
  }
  return {};
}

bool runnable_file(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Where the engine's exec looks for `program` (engine/spawn.cpp: PATH as execvp, glibc's default
// without one), each made absolute against `cwd`, where the task starts.
std::vector<std::string> candidates(const std::string& program, const std::string& cwd) {
  const auto in_cwd = [&cwd](const std::string& path) { return path.front() == '/' ? path : cwd + "/" + path; };
  if (program.find('/') != std::string::npos) return {in_cwd(program)};
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/bin:/usr/bin";
  std::vector<std::string> out;
  for (std::size_t i = 0;;) {
    const std::size_t j = dirs.find(':', i);
    const std::string dir = dirs.substr(i, j == std::string::npos ? std::string::npos : j - i);
    out.push_back(in_cwd((dir.empty() ? "." : dir) + "/" + program));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace

Status check_not_a_shell_line(const std::string& program_template) {
  const std::string_view op = shell_operator(program_template);
  if (op.empty() || program_template.find_first_of(" \t") == std::string::npos) return {};
  return make_error(ErrorCode::Usage, "'" + program_template + "' is one word holding shell syntax (" +
                                          std::string(op) + "); to run it through a shell, add --shell");
}

Status check_command_runs(const std::string& program, const std::string& cwd) {
  if (program.empty()) return make_error(ErrorCode::Usage, "the command is an empty word");
  for (const std::string& candidate : candidates(program, cwd)) {
    if (runnable_file(candidate)) return {};
  }
  JR_TRY(check_not_a_shell_line(program));
  if (program.find_first_of(" \t") != std::string::npos) {
    return make_error(ErrorCode::Usage, "command not found: '" + program +
                                            "' (one word holding spaces; to run it through a shell, add --shell)");
  }
  if (program.find('/') != std::string::npos) {
    struct stat sb {};
    const std::string path = candidates(program, cwd).front();
    if (::stat(path.c_str(), &sb) != 0) return make_error(ErrorCode::Usage, "command not found: " + program);
    return make_error(ErrorCode::Usage, "cannot run " + program + ": " +
                                            (S_ISDIR(sb.st_mode) ? "it is a directory" : "it is not executable"));
  }
  return make_error(ErrorCode::Usage, "command not found: " + program + " (not on PATH)");
}

Status check_command(const std::vector<std::string>& command, const TaskExpander& expander, bool shell,
                     const std::string& cwd) {
  if (shell || command.empty()) return {};
  JR_TRY(check_not_a_shell_line(command.front()));
  if (expander.size() > 0 && expander.expand(0).front() == command.front()) {
    JR_TRY(check_command_runs(command.front(), cwd));
  }
  return {};
}

}  // namespace jr
