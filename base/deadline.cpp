#include "base/deadline.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "base/duration.h"

namespace jr {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<std::int64_t> parse_deadline(const std::string& text, std::int64_t now) {
  auto bad = make_error(ErrorCode::Usage, "invalid deadline '" + text +
                                              "' (expected +2h, 15:30, 2026-11-25T15:30 or epoch seconds)");
  if (text.empty()) return bad;
  if (text[0] == '+') {
    auto d = parse_duration(text.substr(1));
    if (!d) return bad;
    return now + d->count();
  }
  if (all_digits(text) && text.size() >= 9) return std::strtoll(text.c_str(), nullptr, 10) * 1000;
  std::tm tm{};
  std::time_t now_s = static_cast<std::time_t>(now / 1000);
  localtime_r(&now_s, &tm);
  int y = 0, mo = 0, d = 0, h = -1, mi = -1, s = 0;
  char sep = 0;
  bool time_of_day = false;
  int n = std::sscanf(text.c_str(), "%d-%d-%d%c%d:%d:%d", &y, &mo, &d, &sep, &h, &mi, &s);
  if (n >= 6 && (sep == 'T' || sep == ' ')) {
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
  } else if (std::sscanf(text.c_str(), "%d:%d:%d", &h, &mi, &s) >= 2 && text.find('-') == std::string::npos) {
    time_of_day = true;
  } else {
    return bad;
  }
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return bad;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return bad;
  std::int64_t ms = static_cast<std::int64_t>(t) * 1000;
  if (time_of_day && ms <= now) ms += 86'400'000;  // a time of day that has passed: tomorrow
  return ms;
}

std::int64_t slurm_job_end_ms(std::int64_t now) {
  if (const char* end = std::getenv("SLURM_JOB_END_TIME"); end && *end) {
    return std::strtoll(end, nullptr, 10) * 1000;
  }
  const char* id = std::getenv("SLURM_JOB_ID");
  if (!id || !all_digits(id)) return 0;
  std::string cmd = std::string("squeue -h -j ") + id + " -o %e 2>/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return 0;
  char buf[128] = {};
  bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  ::pclose(p);
  if (!got) return 0;
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  auto ms = parse_deadline(line, now);
  return ms ? *ms : 0;
}

}  // namespace jr
