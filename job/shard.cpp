#include "job/shard.h"

namespace jr {

Result<Shard> parse_shard(const std::string& text) {
  Shard s;
  if (text.empty()) return s;
  auto bad = make_error(ErrorCode::Usage, "invalid --shard '" + text + "' (expected K/N with 0 <= K < N)");
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) return bad;
  std::string k = text.substr(0, slash), n = text.substr(slash + 1);
  if (k.find_first_not_of("0123456789") != std::string::npos || n.find_first_not_of("0123456789") != std::string::npos) return bad;
  if (k.size() > 18 || n.size() > 18) return bad;
  s.k = std::stoull(k);
  s.n = std::stoull(n);
  if (s.n == 0 || s.k >= s.n) return bad;
  return s;
}

}  // namespace jr
