// The arithmetic of `jr scaling`, apart from running anything: the -j list, the sample of tasks,
// the figures per level, the Amdahl fit and the knee. Definitions (docs/cli.md, "jr scaling"):
//
//   speedup(p)         T(1) / T(p), T being the wall time of the sample at -j p
//   efficiency(p)      speedup(p) / p
//   CPU efficiency(p)  CPU time / (p x T(p)), as `jr stats` (Slurm's seff)
//   Amdahl's law       T(p) = T1 (s + (1 - s) / p): a least-squares line T = a + b / p over the
//                      levels gives T1 = a + b and the serial fraction s = a / T1; its standard
//                      error comes from the fit's residuals (delta method), none with 2 levels
//   knee               the level before the first one whose efficiency falls below 0.75
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace jr {

constexpr double kKneeEfficiency = 0.75;

struct ScalingLevel {
  int jobs = 1;
  std::int64_t wall_ms = 0;
  std::int64_t task_time_ms = 0;  // sum of the attempts' run times
  std::int64_t cpu_time_ms = 0;   // user + system
  double speedup = 0;             // vs -j 1
  double efficiency = 0;
  double cpu_efficiency = 0;
};

struct AmdahlFit {
  bool ok = false;                    // false with fewer than 2 distinct levels or no time at all
  double serial_fraction = 0;         // s (not clamped: noise can make it a little negative)
  std::optional<double> error;        // standard error of s; none when 2 levels fit exactly
  double t1_ms = 0;                   // the fit's time at -j 1
  // The fit's speedup at p, T1 / T(p) = 1 / (s + (1 - s) / p).
  double speedup(double p) const;
  // The speedup no number of cores exceeds, 1 / s; none when s <= 0.
  std::optional<double> max_speedup() const;
};

struct Knee {
  int jobs = 1;                        // the level to ask for
  std::optional<int> next_jobs;        // the first level whose efficiency fell below the threshold
  std::optional<double> next_efficiency;
};

// "1,2,4,8" -> {1, 2, 4, 8}, sorted and without duplicates. Usage error on anything else.
Result<std::vector<int>> parse_levels(const std::string& text);
// 1, 2, 4, … up to `cpus`, and `cpus` itself: the default -j list.
std::vector<int> default_levels(int cpus);

// `n` task indices of `count`, sorted, drawn without replacement; the same (count, n, seed)
// give the same indices on every machine. All of them when n >= count.
std::vector<std::uint64_t> sample_indices(std::uint64_t count, std::uint64_t n, std::uint64_t seed);

// Fills speedup and efficiency of every level from their wall times; levels[0] must be -j 1.
void fill_ratios(std::vector<ScalingLevel>& levels);
AmdahlFit fit_amdahl(const std::vector<ScalingLevel>& levels);
Knee find_knee(const std::vector<ScalingLevel>& levels, double threshold = kKneeEfficiency);
// One line a person reads: "-j 4: beyond it efficiency falls below 75% (52.0% at -j 8)".
std::string describe_knee(const Knee& knee, double threshold = kKneeEfficiency);

}  // namespace jr
