#include "cli/run/parallelism.h"

#include <algorithm>
#include <charconv>

namespace jr {

Result<int> parse_parallelism(const std::string& text, int usable) {
  if (text.empty()) return usable;
  const auto bad = [&text] {
    return make_error(ErrorCode::Usage, "-j '" + text + "': expected N, N% of the CPUs, +N or -N (jr cpus says " +
                                            "how many CPUs -j counts from)");
  };
  std::string_view digits = text;
  const char sign = digits.front() == '+' || digits.front() == '-' ? digits.front() : 0;
  if (sign) digits.remove_prefix(1);
  const bool percent = !digits.empty() && digits.back() == '%';
  if (percent) digits.remove_suffix(1);
  if (digits.empty() || (sign && percent)) return bad();
  long long n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size() || n > 1'000'000) return bad();
  if (!sign && !percent && n == 0) {
    return make_error(ErrorCode::Usage, "-j 0 (GNU parallel's \"as many as possible\") is not supported: give "
                                        "a number of tasks at once, or 100% for one per CPU");
  }
  long long jobs = n;
  if (percent) jobs = usable * n / 100;
  if (sign == '+') jobs = usable + n;
  if (sign == '-') jobs = usable - n;
  return static_cast<int>(std::clamp<long long>(jobs, 1, 1'000'000));
}

}  // namespace jr
