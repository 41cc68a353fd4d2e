#include "cli/run/joblog.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "job/command_text.h"

namespace jr {

Result<std::unique_ptr<Joblog>> Joblog::open(const std::string& path) {
  struct stat sb {};
  bool fresh = ::stat(path.c_str(), &sb) != 0 || sb.st_size == 0;
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) return make_error(ErrorCode::Io, "cannot open joblog " + path + ": " + std::strerror(errno));
  if (fresh) std::fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n", f);
  std::fflush(f);
  return std::unique_ptr<Joblog>(new Joblog(f));
}

Joblog::~Joblog() { std::fclose(file_); }

void Joblog::write(const TaskEnd& end) {
  // Quoted so that the line runs the same task again, as parallel's Command column does.
  const std::string command = end.argv ? command_text(*end.argv) : std::string();
  std::fprintf(file_, "%lld\t%s\t%.3f\t%.3f\t0\t0\t%d\t%d\t%s\n",
               static_cast<long long>(end.index + 1), ":",
               static_cast<double>(end.start_ms) / 1000.0,
               static_cast<double>(end.end_ms - end.start_ms) / 1000.0,
               end.exit.signal ? 0 : end.exit.exit_code, end.exit.signal, command.c_str());
  std::fflush(file_);
}

}  // namespace jr
