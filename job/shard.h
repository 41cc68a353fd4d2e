// Shard: `--shard K/N`, the tasks of a job whose index is K modulo N (a Slurm job array's
// share), the same for `jr run` and for a job submitted to jrd (the protocol's `shard_index`
// and `shard_count`). The job's task j is the input combination K + j·N.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace jr {

struct Shard {
  std::uint64_t k = 0;
  std::uint64_t n = 1;
  // Tasks of the shard among `all` combinations.
  std::uint64_t count(std::uint64_t all) const { return all / n + (k < all % n ? 1 : 0); }
  // The combination that the shard's task j runs.
  std::uint64_t combination(std::uint64_t j) const { return k + j * n; }
};

// "K/N" with 0 <= K < N; "" is the whole job (0/1). A usage error, one line, otherwise.
Result<Shard> parse_shard(const std::string& text);

}  // namespace jr
