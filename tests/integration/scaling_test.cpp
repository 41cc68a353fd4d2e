// jr scaling, driven as a user drives it: every level runs the sample, and the figures it
// reports follow their definitions from the wall and CPU times it measured (how fast the
// machine is never matters here: a loaded machine changes the times, not the definitions).
// Physical bounds hold whatever the load: a 0.3 s sleep takes at least 0.3 s and little CPU; on
// two CPUs no level gets more than two CPUs' time. Plus the arithmetic
// (cli/views/scaling_model.h) on numbers made to fit, and the errors a user can make.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/views/scaling_model.h"
#include "tests/integration/harness.h"

namespace jr::test {
namespace {

using json = nlohmann::json;

// TMPDIR pointed at a directory of the test while it lives, so that the test can check that
// jr scaling leaves no scratch directory behind.
class ScratchHome {
 public:
  explicit ScratchHome(const std::filesystem::path& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", dir_.c_str(), 1);
  }
  ~ScratchHome() {
    if (old_) ::setenv("TMPDIR", old_->c_str(), 1);
    else ::unsetenv("TMPDIR");
  }
  bool empty() const { return std::filesystem::is_empty(dir_); }

 private:
  std::filesystem::path dir_;
  std::optional<std::string> old_;
};

// Runs the children of this test on two CPUs (the first two it may use), as on a 2-core node.
class TwoCpus {
 public:
  TwoCpus() {
    ok_ = ::sched_getaffinity(0, sizeof old_, &old_) == 0 && CPU_COUNT(&old_) >= 2;
    if (!ok_) return;
    cpu_set_t two;
    CPU_ZERO(&two);
    for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; ++c) {
      if (CPU_ISSET(c, &old_)) {
        CPU_SET(c, &two);
        ++n;
      }
    }
    ok_ = ::sched_setaffinity(0, sizeof two, &two) == 0;
  }
  ~TwoCpus() {
    if (ok_) ::sched_setaffinity(0, sizeof old_, &old_);
  }
  bool ok() const { return ok_; }

 private:
  cpu_set_t old_{};
  bool ok_ = false;
};

const json& level(const json& report, int jobs) {
  for (auto& l : report["levels"]) {
    if (l["jobs"] == jobs) return l;
  }
  static const json none;
  ADD_FAILURE() << "no level -j " << jobs << " in " << report.dump();
  return none;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The levels as the report gives them, to recompute what it derived from them.
std::vector<ScalingLevel> levels_of(const json& report) {
  std::vector<ScalingLevel> levels;
  for (auto& l : report["levels"]) {
    ScalingLevel level;
    level.jobs = l["jobs"];
    level.wall_ms = l["wall_ms"];
    level.cpu_time_ms = static_cast<std::int64_t>(l["cpu_time_ms"].get<double>());
    levels.push_back(level);
  }
  fill_ratios(levels);
  return levels;
}

// Speedup, efficiency, CPU efficiency, the Amdahl fit and the knee are what their definitions
// make of the measured times (rounded as the JSON rounds them).
void expect_follows_definitions(const json& report) {
  auto levels = levels_of(report);
  ASSERT_FALSE(levels.empty());
  ASSERT_EQ(levels[0].jobs, 1);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const json& l = report["levels"][i];
    EXPECT_NEAR(l["speedup"].get<double>(), levels[i].speedup, 5e-3) << l.dump();
    EXPECT_NEAR(l["efficiency"].get<double>(), levels[i].speedup / levels[i].jobs, 5e-3) << l.dump();
    double cpu = l["cpu_time_ms"].get<double>() / (levels[i].jobs * l["wall_ms"].get<double>());
    EXPECT_NEAR(l["cpu_efficiency"].get<double>(), cpu, 5e-3) << l.dump();
  }
  AmdahlFit fit = fit_amdahl(levels);
  ASSERT_TRUE(fit.ok) << report.dump(2);
  EXPECT_NEAR(report["amdahl"]["serial_fraction"].get<double>(), fit.serial_fraction, 5e-3) << report.dump(2);
  EXPECT_EQ(report["knee"]["jobs"].get<int>(), find_knee(levels).jobs) << report.dump(2);
}

TEST(ScalingTest, SleepRunsEveryLevelAndItsFiguresFollowTheirDefinitions) {
  TempDir dir;
  ScratchHome scratch(dir / "tmp");
  auto out = run_jr(cat({"scaling", "-j", "1,2,4,8", "--json", "-o", (dir / "sleep.html").string(), "--", "sh", "-c",
                            "sleep 0.3; echo $JR_SLOT >> \"$1\"", "sh", (dir / "ran").string(), "{}", ":::"},
                           seq(1, 8)),
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  json report = json::parse(out.out);
  ASSERT_EQ(report["levels"].size(), 4u) << out.out;
  EXPECT_EQ(report["tasks"], 8);
  EXPECT_EQ(report["sample"]["size"], 8);
  EXPECT_EQ(level(report, 1)["speedup"], 1.0);
  expect_follows_definitions(report);
  EXPECT_TRUE(report["amdahl"]["serial_fraction_error"].is_number()) << out.out;
  // Each level ran the 8 tasks, in no more slots than its -j.
  auto slots = read_lines(dir / "ran");
  ASSERT_EQ(slots.size(), 32u);
  for (std::size_t at = 0; at < slots.size(); ++at) {
    int jobs = 1 << (at / 8);
    EXPECT_LE(std::stoi(slots[at]), jobs) << "a task of -j " << jobs << " ran in slot " << slots[at];
  }
  for (auto& l : report["levels"]) {
    // Bounds no load can break: 8 sleeps of 0.3 s in j slots take at least 0.3 × 8/j s (less a
    // millisecond's rounding each), and sleeping costs no CPU.
    EXPECT_GE(l["wall_ms"].get<std::int64_t>(), 290 * 8 / l["jobs"].get<int>()) << l.dump();
    EXPECT_LT(l["cpu_efficiency"].get<double>(), 0.5) << l.dump();
  }
  EXPECT_TRUE(scratch.empty()) << "a scratch state directory was left behind";

  std::string html = read_file(dir / "sleep.html");
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(lower(html).find("http"), std::string::npos) << "the page refers to something outside it";
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("data-jobs=\"8\""), std::string::npos);
  EXPECT_NE(html.find("data-field=\"serial_fraction\""), std::string::npos);
  EXPECT_NE(html.find("class=\"fit\""), std::string::npos);
  EXPECT_NE(html.find("class=\"ideal\""), std::string::npos);
}

TEST(ScalingTest, CpuBoundTaskNeverGetsMoreThanTheCoresItRunsOn) {
  TwoCpus cpus;
  if (!cpus.ok()) GTEST_SKIP() << "needs 2 CPUs";
  // About 0.25 s of CPU per task on a free core, in the shell alone (no fork per step).
  const std::string busy = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done";
  TempDir dir;
  auto out = run_jr(cat({"scaling", "-j", "1,2,4", "--json", "-o", (dir / "cpu.html").string(), "--", "sh", "-c",
                            busy, "{}", ":::"},
                           seq(1, 8)),
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  json report = json::parse(out.out);
  ASSERT_EQ(report["levels"].size(), 3u) << out.out;
  expect_follows_definitions(report);
  for (auto& l : report["levels"]) {
    // The tasks worked (the CPU time was measured) and never had more than two CPUs' time.
    EXPECT_GT(l["cpu_time_ms"].get<double>(), 0) << l.dump();
    EXPECT_LE(l["cpu_time_ms"].get<double>(), 2.1 * l["wall_ms"].get<double>()) << out.out;
  }
}

TEST(ScalingTest, TheSameSeedRunsTheSameSampleAtEveryLevel) {
  auto ran = [](std::uint64_t seed) {
    TempDir dir;
    auto out = run_jr(cat({"scaling", "-j", "1,2", "--sample", "3", "--seed", std::to_string(seed), "--json", "-o",
                              (dir / "s.html").string(), "--", "sh", "-c", "echo x >> ran-$1", "sh", "{}", ":::"},
                             seq(0, 9)),
                      dir.path());
    EXPECT_EQ(out.exit_code, 0) << out.err;
    json report = json::parse(out.out);
    EXPECT_EQ(report["tasks"], 10);
    std::vector<std::uint64_t> indices = report["sample"]["indices"];
    EXPECT_EQ(indices.size(), 3u);
    // Each sampled task (input = index) ran once per level, and no other task ran.
    std::set<std::uint64_t> files;
    for (auto& e : std::filesystem::directory_iterator(dir.path())) {
      std::string name = e.path().filename().string();
      if (name.rfind("ran-", 0) != 0) continue;
      files.insert(std::stoull(name.substr(4)));
      EXPECT_EQ(read_lines(e.path()).size(), 2u) << name;
    }
    EXPECT_EQ(files, std::set<std::uint64_t>(indices.begin(), indices.end()));
    return indices;
  };
  auto first = ran(7);
  EXPECT_EQ(ran(7), first);
  EXPECT_EQ(first, jr::sample_indices(10, 3, 7));
}

TEST(ScalingTest, IdenticalTasksEachRun) {
  TempDir dir;
  write_file(dir / "tasks", "echo x >> hits\necho x >> hits\necho x >> hits\n");
  auto out = run_jr({"scaling", "-j", "1,2", "--tasks", "tasks", "--json", "-o", "s.html"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(json::parse(out.out)["sample"]["size"], 3);
  EXPECT_EQ(read_lines(dir / "hits").size(), 6u);  // 3 tasks, 2 levels
}

TEST(ScalingTest, TextOutputNamesTheKnee) {
  TempDir dir;
  auto out = run_jr(cat({"scaling", "-j", "2", "-o", "s.html", "--", "sh", "-c", "sleep 0.1", "{}", ":::"}, seq(1, 2)),
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.err.find("adding -j 1"), std::string::npos) << out.err;
  EXPECT_NE(out.out.find("speedup"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("Amdahl's law: serial fraction"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("knee: -j "), std::string::npos) << out.out;
  EXPECT_TRUE(std::filesystem::exists(dir / "s.html"));
}

TEST(ScalingTest, ErrorsAreOneLine) {
  TempDir dir;
  ScratchHome scratch(dir / "tmp");
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"scaling", "-j", "1,x,4", "--", "true", ":::", "a"}, 2, "invalid -j list '1,x,4'"},
      {{"scaling", "-j", "1,,4", "--", "true", ":::", "a"}, 2, "invalid -j list"},
      {{"scaling", "-j", "0,2", "--", "true", ":::", "a"}, 2, "at least 1"},
      {{"scaling", "-j", "1", "--", "true", ":::", "a"}, 2, "-j 1 alone"},
      {{"scaling", "-j", "1,2", "--sample", "0", "--", "true", ":::", "a"}, 2, "--sample must be at least 1"},
      {{"scaling", "-j", "1,2"}, 2, "no command"},
      {{"scaling", "-j", "1,2", "--", "true", ":::"}, 2, "jr scaling: "},
      {{"scaling", "-j", "1,2", "-o", "/nonexistent/dir/s.html", "--", "true", ":::", "a"}, 1, "cannot write"},
  };
  for (auto& c : cases) {
    auto out = run_jr(c.args, dir.path());
    std::string line = out.err.substr(0, out.err.find('\n'));
    EXPECT_EQ(out.exit_code, c.exit_code) << line;
    EXPECT_EQ(out.err.find('\n'), out.err.size() - 1) << "more than one line: " << out.err;
    EXPECT_EQ(line.rfind("jr scaling: ", 0), 0u) << line;
    EXPECT_NE(line.find(c.says), std::string::npos) << line;
  }
  // A failing task stops the benchmark: what failed is said, nothing is written, nothing is left.
  auto out = run_jr({"scaling", "-j", "1,2", "-o", "f.html", "--", "sh", "-c", "echo broken >&2; exit 3", "sh", ":::", "a"},
                    dir.path());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("1 of 1 sampled tasks failed"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("exit 3"), std::string::npos) << out.err;
  EXPECT_NE(out.err.find("| broken"), std::string::npos) << out.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "f.html"));
  EXPECT_TRUE(scratch.empty()) << "a scratch state directory was left behind";
}

// The arithmetic, on numbers made to fit.

std::vector<ScalingLevel> amdahl_levels(double s, double t1, const std::vector<int>& ps) {
  std::vector<ScalingLevel> out;
  for (int p : ps) {
    ScalingLevel l;
    l.jobs = p;
    l.wall_ms = std::llround(t1 * (s + (1 - s) / p));
    out.push_back(l);
  }
  fill_ratios(out);
  return out;
}

TEST(ScalingModelTest, AmdahlFitRecoversTheSerialFraction) {
  auto levels = amdahl_levels(0.2, 100000, {1, 2, 4, 8, 16});
  auto fit = fit_amdahl(levels);
  ASSERT_TRUE(fit.ok);
  EXPECT_NEAR(fit.serial_fraction, 0.2, 1e-4);
  ASSERT_TRUE(fit.error.has_value());
  EXPECT_LT(*fit.error, 1e-4);
  EXPECT_NEAR(fit.t1_ms, 100000, 5);
  EXPECT_NEAR(*fit.max_speedup(), 5.0, 1e-2);
  EXPECT_NEAR(fit.speedup(4), 1 / (0.2 + 0.8 / 4), 1e-3);

  // Noise widens the error; two levels fit exactly and have none.
  levels[2].wall_ms += 3000;
  auto noisy = fit_amdahl(levels);
  ASSERT_TRUE(noisy.error.has_value());
  EXPECT_GT(*noisy.error, 0.005);
  auto two = fit_amdahl(amdahl_levels(0.1, 1000, {1, 4}));
  ASSERT_TRUE(two.ok);
  EXPECT_NEAR(two.serial_fraction, 0.1, 1e-3);
  EXPECT_FALSE(two.error.has_value());
}

TEST(ScalingModelTest, KneeIsTheLastLevelBeforeEfficiencyFallsBelowThreshold) {
  // A CPU-bound job on 2 cores: ideal to 2, flat after.
  std::vector<ScalingLevel> levels(4);
  std::int64_t walls[] = {8000, 4000, 4000, 4000};
  int ps[] = {1, 2, 4, 8};
  for (int i = 0; i < 4; ++i) {
    levels[i].jobs = ps[i];
    levels[i].wall_ms = walls[i];
  }
  fill_ratios(levels);
  EXPECT_DOUBLE_EQ(levels[1].speedup, 2.0);
  EXPECT_DOUBLE_EQ(levels[2].efficiency, 0.5);
  auto knee = find_knee(levels);
  EXPECT_EQ(knee.jobs, 2);
  EXPECT_EQ(knee.next_jobs, 4);
  EXPECT_EQ(describe_knee(knee), "-j 2: beyond it efficiency falls below 75% (50.0% at -j 4)");
  auto ideal = find_knee(amdahl_levels(0, 8000, {1, 2, 4, 8}));
  EXPECT_EQ(ideal.jobs, 8);
  EXPECT_FALSE(ideal.next_jobs.has_value());
}

TEST(ScalingModelTest, LevelsAndSamples) {
  EXPECT_EQ(*parse_levels("8,1,4,2,4"), (std::vector<int>{1, 2, 4, 8}));
  EXPECT_FALSE(parse_levels(""));
  EXPECT_FALSE(parse_levels("1,-2"));
  EXPECT_FALSE(parse_levels("1,2,"));
  EXPECT_FALSE(parse_levels("1 2"));
  EXPECT_FALSE(parse_levels("99999999999"));
  EXPECT_EQ(default_levels(6), (std::vector<int>{1, 2, 4, 6}));
  EXPECT_EQ(default_levels(1), (std::vector<int>{1}));

  EXPECT_EQ(sample_indices(5, 16, 0), (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
  auto a = sample_indices(1'000'000'000'000ull, 16, 42);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<std::uint64_t>(a.begin(), a.end()).size(), 16u);
  EXPECT_EQ(a, sample_indices(1'000'000'000'000ull, 16, 42));
  EXPECT_NE(a, sample_indices(1'000'000'000'000ull, 16, 43));
  // Every task gets picked now and then: no index is out of reach.
  std::set<std::uint64_t> seen;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    for (auto i : sample_indices(10, 3, seed)) seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 10u);
}

}  // namespace
}  // namespace jr::test
