#include "base/signals.h"

#include <signal.h>

#include <cctype>
#include <cstdlib>

namespace jr {
namespace {
struct Named {
  const char* name;
  int number;
};
constexpr Named kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"XCPU", SIGXCPU}, {"PWR", SIGPWR},
};
}  // namespace

Result<int> parse_signal(std::string_view text) {
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  if (!upper.empty() && std::isdigit(static_cast<unsigned char>(upper[0]))) {
    char* end = nullptr;
    long n = std::strtol(upper.c_str(), &end, 10);
    if (*end == '\0' && n > 0 && n < NSIG) return static_cast<int>(n);
  }
  for (auto& s : kSignals) {
    if (upper == s.name) return s.number;
  }
  return make_error(ErrorCode::Usage, "unknown signal '" + std::string(text) + "' (expected e.g. TERM, USR1, 15)");
}

std::string signal_name(int sig) {
  for (auto& s : kSignals) {
    if (s.number == sig) return std::string("SIG") + s.name;
  }
  return "signal " + std::to_string(sig);
}

int wait_for_signal(std::int64_t ms, std::initializer_list<int> signals) {
  sigset_t set, old;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  timespec wait{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1'000'000};
  int got = ::sigtimedwait(&set, nullptr, &wait);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return got > 0 ? got : 0;
}

}  // namespace jr
