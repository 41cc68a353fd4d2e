// Fitting the node and the allocation (issue 9): cores, GPUs and pinning never shared or
// oversubscribed, walltime-aware runs, --explain's predictions, atomic outputs, --on-finish.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

struct Record {
  std::int64_t start = 0, end = 0;
  std::set<std::string> gpus, cpus;
  std::string jr_cpus, omp;
};

std::set<std::string> split(const std::string& s, char sep) {
  std::set<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// Each task writes: START END GPUS CPUS JR_CPUS OMP_NUM_THREADS (times in ns from the task).
const char* kRecorder =
    "s=$(date +%s%N); sleep 0.15; "
    "cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2); "
    "echo $s $(date +%s%N) ${CUDA_VISIBLE_DEVICES:--} $cpus $JR_CPUS $OMP_NUM_THREADS > rec-$1.txt";

std::vector<Record> records(const TempDir& dir, int n) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    std::istringstream in(read_file(dir / ("rec-" + std::to_string(i) + ".txt")));
    Record r;
    std::string gpus, cpus;
    in >> r.start >> r.end >> gpus >> cpus >> r.jr_cpus >> r.omp;
    r.gpus = gpus == "-" ? std::set<std::string>{} : split(gpus, ',');
    r.cpus = split(cpus, ',');
    out.push_back(r);
  }
  return out;
}

bool overlap(const Record& a, const Record& b) { return a.start < b.end && b.start < a.end; }

// The most tasks running at one moment: a sweep over starts and ends (an end before a start
// at the same instant).
int max_concurrent(const std::vector<Record>& rs) {
  std::vector<std::pair<std::int64_t, int>> events;
  for (auto& r : rs) {
    events.emplace_back(r.start, +1);
    events.emplace_back(r.end, -1);
  }
  std::sort(events.begin(), events.end());
  int now = 0, most = 0;
  for (auto& [t, d] : events) most = std::max(most, now += d);
  return most;
}

std::vector<std::string> job(int n) {
  std::vector<std::string> v = {"sh", "-c", kRecorder, "sh", ":::"};
  for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
  return v;
}

TEST(ResourcesTest, GpusAndPinnedCpusAreNeverSharedAndCoresNeverOversubscribed) {
  TempDir dir;
  std::vector<std::string> args = {"run", "-j", "8", "--cores", "2", "--cpus", "1", "--pin", "--gpus", "1",
                                   "--gpu-ids", "0,1,2", "--"};
  auto cmd = job(12);
  args.insert(args.end(), cmd.begin(), cmd.end());
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto rs = records(dir, 12);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].gpus.size(), 1u) << i;
    EXPECT_EQ(rs[i].cpus.size(), 1u) << i;
    EXPECT_EQ(rs[i].jr_cpus, "1");
    EXPECT_EQ(rs[i].omp, "1");
    for (std::size_t j = 0; j < rs.size(); ++j) {
      if (i == j || !overlap(rs[i], rs[j])) continue;
      for (auto& g : rs[i].gpus) EXPECT_FALSE(rs[j].gpus.count(g)) << "tasks " << i << " and " << j << " share GPU " << g;
      for (auto& c : rs[i].cpus) EXPECT_FALSE(rs[j].cpus.count(c)) << "tasks " << i << " and " << j << " share CPU " << c;
    }
  }
  EXPECT_LE(max_concurrent(rs), 2) << "more tasks ran at once than --cores allows";
}

TEST(ResourcesTest, MultiGpuTasksGetDisjointSetsAndThreadsFollowCpus) {
  TempDir dir;
  std::vector<std::string> args = {"run", "-j", "4", "--cores", "4", "--cpus", "2", "--gpus", "2", "--gpu-ids", "0-3", "--"};
  auto cmd = job(6);
  args.insert(args.end(), cmd.begin(), cmd.end());
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto rs = records(dir, 6);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].gpus.size(), 2u);
    EXPECT_EQ(rs[i].jr_cpus, "2");
    EXPECT_EQ(rs[i].omp, "2");
    for (std::size_t j = i + 1; j < rs.size(); ++j) {
      if (!overlap(rs[i], rs[j])) continue;
      for (auto& g : rs[i].gpus) EXPECT_FALSE(rs[j].gpus.count(g)) << "tasks " << i << " and " << j << " share GPU " << g;
    }
  }
}

TEST(ResourcesTest, ThreadVariablesTheUserSetAreKept) {
  TempDir dir;
  write_file(dir / "t.sh", "#!/bin/sh\necho $OMP_NUM_THREADS $MKL_NUM_THREADS > threads.txt\n");
  setenv("OMP_NUM_THREADS", "7", 1);
  auto kept = run_jr({"run", "--cpus", "1", "sh", "t.sh"}, dir.path());
  unsetenv("OMP_NUM_THREADS");
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_EQ(read_file(dir / "threads.txt"), "7 1\n");
}

TEST(ResourcesTest, ATaskThatCanNeverFitIsRefusedAtSubmission) {
  TempDir dir;
  auto out = run_jr({"run", "--gpus", "8", "--gpu-ids", "0,1,2,3", "true"}, dir.path());
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "jr run: a task asks for 8 GPUs; this node has 4 (--gpu-ids)\n");
  EXPECT_FALSE(std::filesystem::exists(dir / ".jr/jr.db"));
}

TEST(ResourcesTest, JrCpusIsWhatDashJMeansWhenNotGiven) {
  TempDir dir;
  ::setenv("SLURM_CPUS_ON_NODE", "3", 1);
  auto cpus = run_jr({"cpus"}, dir.path());
  auto run = run_jr({"run", "--", "sh", "-c", "echo $JR_SLOT >> slots", ":::", "a", "b", "c", "d", "e", "f"}, dir.path());
  ::unsetenv("SLURM_CPUS_ON_NODE");
  EXPECT_EQ(cpus.exit_code, 0) << cpus.err;
  EXPECT_EQ(cpus.out, "3\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto status = run_jr({"status", "1", "--json", "--state", ".jr"}, dir.path());
  EXPECT_NE(status.out.find("\"parallelism\":3"), std::string::npos) << status.out;
  for (auto& slot : read_lines(dir / "slots")) EXPECT_LE(std::stoi(slot), 3);
}

// The rule, checked whatever the machine's load: a task starts only while it is expected
// (--expect) to end before the deadline minus the grace period; at that moment the run stops,
// interrupted, and the next run completes the rest. A loaded machine may make a started task
// overrun (it is then interrupted, as the rule intends), so only the starts are checked.
TEST(ResourcesTest, DeadlineStopsBeforeStartingWhatCannotFinishAndASecondRunCompletes) {
  TempDir dir;
  const std::int64_t deadline_s = std::time(nullptr) + 4;
  std::vector<std::string> args = {"run", "-j", "2", "--deadline", std::to_string(deadline_s), "--grace", "1s",
                                    "--expect", "1s", "--", "sh", "-c", "sleep 1", ":::"};
  for (int i = 0; i < 10; ++i) args.push_back(std::to_string(i));
  auto out = run_jr(args, dir.path());
  EXPECT_EQ(out.exit_code, 143) << out.err;
  EXPECT_NE(out.err.find("stopped before the deadline"), std::string::npos) << out.err;
  auto db = dir / ".jr/jr.db";
  const std::int64_t last_start_ms = deadline_s * 1000 - 1000 - 1000;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE start_ms > " + std::to_string(last_start_ms)), 0)
      << "a task was started that was not expected to finish before the deadline";
  // At most (4 − 1 − 1) s / 1 s × 2 slots + 2 can have started: the rest waited.
  EXPECT_GE(query_int(db, "SELECT count(*) FROM tasks WHERE state = 0"), 4);
  std::vector<std::string> again(args.begin(), args.end());
  again.erase(again.begin() + 3, again.begin() + 9);  // without --deadline, --grace and --expect
  auto second = run_jr(again, dir.path());
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 10);
}

}  // namespace
}  // namespace jr::test
