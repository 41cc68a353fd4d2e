#include "base/duration.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace jr {
namespace {

// Splits "12.5ms" into 12.5 and "ms"; false when there is no leading number.
bool split_number(std::string_view text, double* number, std::string_view* unit) {
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || errno != 0 || !std::isfinite(v) || v < 0) return false;
  *number = v;
  *unit = text.substr(static_cast<std::size_t>(end - s.c_str()));
  return true;
}

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  double v = 0;
  std::string_view unit;
  auto bad = make_error(ErrorCode::Usage, "invalid duration '" + std::string(text) +
                                              "' (expected e.g. 500ms, 30s, 5m, 2h)");
  if (text.empty() || text[0] == '+' || !split_number(text, &v, &unit)) return bad;
  double ms;
  if (unit.empty() || unit == "s") ms = v * 1000;
  else if (unit == "ms") ms = v;
  else if (unit == "m") ms = v * 60'000;
  else if (unit == "h") ms = v * 3'600'000;
  else if (unit == "d") ms = v * 86'400'000;
  else return bad;
  if (ms > 1e15) return bad;
  return Millis(static_cast<std::int64_t>(std::llround(ms)));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  double v = 0;
  std::string_view unit;
  auto bad = make_error(ErrorCode::Usage, "invalid size '" + std::string(text) +
                                              "' (expected e.g. 512K, 100M, 4G)");
  if (text.empty() || !split_number(text, &v, &unit)) return bad;
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.remove_suffix(1);
  double mult;
  if (unit.empty()) mult = 1;
  else if (unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "m") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else return bad;
  double bytes = v * mult;
  if (bytes > 1.8e19) return bad;
  return static_cast<std::uint64_t>(bytes);
}

std::string format_duration(Millis d) {
  std::int64_t ms = d.count();
  char buf[64];
  if (ms < 0) ms = 0;
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string format_setting(Millis d) {
  std::int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::int64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace jr
