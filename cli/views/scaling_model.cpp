#include "cli/views/scaling_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace jr {
namespace {

constexpr int kMaxLevel = 1'000'000;

// SplitMix64: a tiny generator whose output is fixed by its definition, so that a seed picks the
// same sample on every machine and with every standard library.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound] (Lemire's multiply-shift; the bias is below 2^-64 · bound).
  std::uint64_t upto(std::uint64_t bound) {
    if (bound == UINT64_MAX) return next();
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * (bound + 1)) >> 64);
  }
};

std::string ratio_percent(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", r * 100);
  return buf;
}

}  // namespace

double AmdahlFit::speedup(double p) const {
  double t = serial_fraction + (1 - serial_fraction) / p;
  return t > 0 ? 1 / t : 0;
}

std::optional<double> AmdahlFit::max_speedup() const {
  if (!ok || serial_fraction <= 0) return std::nullopt;
  return 1 / serial_fraction;
}

Result<std::vector<int>> parse_levels(const std::string& text) {
  auto bad = [&text](const std::string& why) {
    return make_error(ErrorCode::Usage, "invalid -j list '" + text + "': " + why +
                                            " (expected counts separated by commas, e.g. 1,2,4,8)");
  };
  std::vector<int> out;
  std::size_t at = 0;
  for (;;) {
    std::size_t comma = text.find(',', at);
    std::string part = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (part.empty()) return bad(text.empty() ? "it is empty" : "an empty entry");
    if (part.find_first_not_of("0123456789") != std::string::npos) return bad("'" + part + "' is not a count");
    if (part.size() > 7 || std::stoi(part) > kMaxLevel) return bad("'" + part + "' is too large");
    int v = std::stoi(part);
    if (v < 1) return bad("every level must be at least 1");
    out.push_back(v);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<int> default_levels(int cpus) {
  std::vector<int> out;
  for (int p = 1; p < cpus; p *= 2) out.push_back(p);
  out.push_back(std::max(1, cpus));
  return out;
}

std::vector<std::uint64_t> sample_indices(std::uint64_t count, std::uint64_t n, std::uint64_t seed) {
  std::vector<std::uint64_t> out;
  if (n >= count) {
    out.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  // Floyd's algorithm: n draws whatever the count, every n-subset equally likely.
  SplitMix64 rng{seed};
  std::set<std::uint64_t> chosen;
  for (std::uint64_t j = count - n; j < count; ++j) {
    std::uint64_t t = rng.upto(j);
    chosen.insert(chosen.count(t) ? j : t);
  }
  return {chosen.begin(), chosen.end()};
}

void fill_ratios(std::vector<ScalingLevel>& levels) {
  if (levels.empty()) return;
  double t1 = static_cast<double>(std::max<std::int64_t>(1, levels.front().wall_ms));
  for (auto& l : levels) {
    double wall = static_cast<double>(std::max<std::int64_t>(1, l.wall_ms));
    l.speedup = t1 / wall;
    l.efficiency = l.speedup / l.jobs;
    l.cpu_efficiency = static_cast<double>(l.cpu_time_ms) / (l.jobs * wall);
  }
}

AmdahlFit fit_amdahl(const std::vector<ScalingLevel>& levels) {
  AmdahlFit fit;
  // T = a + b x with x = 1/p: ordinary least squares.
  double n = static_cast<double>(levels.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto& l : levels) {
    double x = 1.0 / l.jobs, y = static_cast<double>(l.wall_ms);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  double d = n * sxx - sx * sx;
  if (levels.size() < 2 || d <= 1e-12) return fit;
  double b = (n * sxy - sx * sy) / d;
  double a = (sy - b * sx) / n;
  double t1 = a + b;
  if (!(t1 > 0)) return fit;
  fit.ok = true;
  fit.t1_ms = t1;
  fit.serial_fraction = a / t1;
  if (levels.size() > 2) {
    double rss = 0;
    for (auto& l : levels) {
      double r = static_cast<double>(l.wall_ms) - (a + b / l.jobs);
      rss += r * r;
    }
    double var = rss / (n - 2);
    double var_a = var * sxx / d, var_b = var * n / d, cov_ab = -var * sx / d;
    // s = a / (a + b): ds/da = b / T1², ds/db = -a / T1².
    double ga = b / (t1 * t1), gb = -a / (t1 * t1);
    double var_s = ga * ga * var_a + 2 * ga * gb * cov_ab + gb * gb * var_b;
    fit.error = std::sqrt(std::max(0.0, var_s));
  }
  return fit;
}

Knee find_knee(const std::vector<ScalingLevel>& levels, double threshold) {
  Knee knee;
  if (levels.empty()) return knee;
  knee.jobs = levels.front().jobs;
  for (std::size_t i = 1; i < levels.size(); ++i) {
    if (levels[i].efficiency < threshold) {
      knee.next_jobs = levels[i].jobs;
      knee.next_efficiency = levels[i].efficiency;
      break;
    }
    knee.jobs = levels[i].jobs;
  }
  return knee;
}

std::string describe_knee(const Knee& knee, double threshold) {
  std::string out = "-j " + std::to_string(knee.jobs) + ": ";
  if (!knee.next_jobs) {
    return out + "efficiency stays at or above " + ratio_percent(threshold) +
           " up to the largest level tried; more cores may still pay off";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *knee.next_efficiency * 100);
  return out + "beyond it efficiency falls below " + ratio_percent(threshold) + " (" + buf + " at -j " +
         std::to_string(*knee.next_jobs) + ")";
}

}  // namespace jr
