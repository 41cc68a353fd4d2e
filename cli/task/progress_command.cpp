#include "cli/task/progress_command.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "jr/board.hpp"

namespace jr {
namespace {

constexpr int kExitUsage = 2;

// A whole string read as a finite number: strtod alone accepts "0.5abc" and "nan".
bool read_number(const std::string& text, double* out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

}  // namespace

Result<double> parse_fraction(const std::string& text) {
  auto bad = [&text](const std::string& why) {
    return make_error(ErrorCode::Usage, "invalid fraction '" + text + "': " + why);
  };
  if (auto slash = text.find('/'); slash != std::string::npos) {
    double done = 0, total = 0;
    if (!read_number(text.substr(0, slash), &done) || !read_number(text.substr(slash + 1), &total)) {
      return bad("expected N/M with numbers, e.g. 3/10");
    }
    if (total <= 0) return bad("M in N/M must be more than 0");
    if (done < 0 || done > total) return bad("N in N/M must be from 0 to M");
    return done / total;
  }
  double v = 0;
  if (!read_number(text, &v)) return bad("expected a number from 0 to 1, or N/M");
  if (v < 0 || v > 1) return bad("a fraction is from 0 to 1 (or give N/M)");
  return v;
}

int progress_command(const std::string& fraction_text, const std::string& message) {
  auto fraction = parse_fraction(fraction_text);
  if (!fraction) {
    std::fprintf(stderr, "jr progress: %s\n", fraction.error().message.c_str());
    return kExitUsage;
  }
  if (std::getenv("JR_RUN") == nullptr) {
    std::fprintf(stderr, "jr progress: not inside a jr task (JR_RUN is not set)\n");
    return kExitUsage;
  }
  if (std::getenv("JR_BOARD") == nullptr) {
    // An engine without a board (jrd, for now): progress is advisory, so the task goes on.
    std::fprintf(stderr, "jr progress: this task's engine keeps no progress board; not shown\n");
    return 0;
  }
  std::string err;
  auto writer = board::Writer::from_env(&err);
  if (!writer) {
    std::fprintf(stderr, "jr progress: %s\n", err.c_str());
    return kExitUsage;
  }
  writer->write(*fraction, message);
  return 0;
}

}  // namespace jr
