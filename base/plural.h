// Counts as a person reads them: "1 task", "2 tasks", "0 tasks".
#pragma once

#include <cstdint>
#include <string>

namespace jr {

// `n` and the noun, with an "s" unless n is 1 (jr's nouns all take one: task, job, attempt).
inline std::string counted(std::int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace jr
