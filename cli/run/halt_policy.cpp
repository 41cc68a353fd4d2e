#include "cli/run/halt_policy.h"

#include <charconv>

namespace jr {
namespace {

// "N" or "N%" (a percentage, 0 < N <= 100) into the policy's limit.
bool parse_limit(std::string_view text, HaltPolicy* policy) {
  const bool percent = !text.empty() && text.back() == '%';
  if (percent) text.remove_suffix(1);
  long long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < 1) return false;
  if (percent && n > 100) return false;
  if (percent) policy->percent = static_cast<double>(n);
  else policy->count = n;
  return true;
}

}  // namespace

bool HaltPolicy::trips(std::int64_t failed, std::int64_t succeeded, std::int64_t total) const {
  if (when == When::Never) return false;
  const std::int64_t n = why == Why::Fail ? failed : why == Why::Success ? succeeded : failed + succeeded;
  if (n == 0) return false;
  if (percent > 0) return static_cast<double>(n) * 100.0 >= percent * static_cast<double>(total);
  return n >= count;
}

Result<HaltPolicy> parse_halt_policy(const std::string& text) {
  HaltPolicy p;
  p.text = text;
  const auto bad = [&text] {
    return make_error(ErrorCode::Usage, "--halt '" + text + "': expected never, or soon|now,fail|success|done=N "
                                        "or =N% (e.g. now,fail=1 or soon,fail=10%)");
  };
  if (text == "never" || text == "0") return p;
  if (text == "1" || text == "2" || text == "-1" || text == "-2") {
    p.when = text.back() == '1' ? HaltPolicy::When::Soon : HaltPolicy::When::Now;
    p.why = text.front() == '-' ? HaltPolicy::Why::Success : HaltPolicy::Why::Fail;
    p.count = 1;
    return p;
  }
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos) {
    // parallel's 1-99%: soon,fail=N%.
    if (text.empty() || text.back() != '%' || !parse_limit(text, &p) || p.percent >= 100) return bad();
    p.when = HaltPolicy::When::Soon;
    return p;
  }
  const std::string when = text.substr(0, comma);
  if (when == "soon") p.when = HaltPolicy::When::Soon;
  else if (when == "now") p.when = HaltPolicy::When::Now;
  else return bad();
  const std::string why_limit = text.substr(comma + 1);
  const std::size_t equals = why_limit.find('=');
  if (equals == std::string::npos) return bad();
  const std::string why = why_limit.substr(0, equals);
  if (why == "fail") p.why = HaltPolicy::Why::Fail;
  else if (why == "success") p.why = HaltPolicy::Why::Success;
  else if (why == "done") p.why = HaltPolicy::Why::Done;
  else return bad();
  if (!parse_limit(std::string_view(why_limit).substr(equals + 1), &p)) return bad();
  return p;
}

}  // namespace jr
