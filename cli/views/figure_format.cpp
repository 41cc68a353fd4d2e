#include "cli/views/figure_format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "base/duration.h"

namespace jr {

std::string nextflow_duration(std::int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return std::to_string(ms) + "ms";
  char buf[64];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", std::round(static_cast<double>(ms) / 100) / 10);
    return buf;
  }
  std::int64_t secs = (ms + 500) / 1000;
  std::int64_t days = secs / 86400, hours = secs / 3600 % 24, mins = secs / 60 % 60;
  secs %= 60;
  std::string out;
  auto part = [&out](std::int64_t v, const char* unit) {
    if (v == 0) return;
    if (!out.empty()) out += ' ';
    out += std::to_string(v) + unit;
  };
  part(days, "d");
  part(hours, "h");
  part(mins, "m");
  part(secs, "s");
  return out;
}

std::string nextflow_memory(std::int64_t bytes) {
  if (bytes <= 0) return "0";
  static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  int group = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024 && group < 5) {
    v /= 1024;
    ++group;
  }
  char buf[64];
  // Java's DecimalFormat("0.#"): one decimal, none when it is zero.
  double one = std::round(v * 10) / 10;
  if (one == std::floor(one)) std::snprintf(buf, sizeof buf, "%.0f %s", one, kUnits[group]);
  else std::snprintf(buf, sizeof buf, "%.1f %s", one, kUnits[group]);
  return buf;
}

std::string local_timestamp(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", ratio * 100);
  return buf;
}

std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string kib(std::int64_t kb) {
  if (kb <= 0) return "-";
  return format_size(static_cast<std::uint64_t>(kb) * 1024);
}

std::string svg_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

}  // namespace jr
