// Chaos: kill -9 the engine at random moments, many times, while a few hundred tasks work in
// steps and checkpoint after each one; then check that nothing was lost, nothing that
// succeeded ran again, no attempt ran beside another of its task, no status was invented, and
// each interruption cost at most the one step in flight. The tasks outlive each killed engine
// under its keeper (the default) and the next one adopts them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "storage/types.h"
#include "tests/integration/harness.h"

namespace jr::test {
namespace {

constexpr int kTasks = 200;
constexpr int kSteps = 4;

// Counts complete lines only: a leftover task of a killed engine may be appending right now.
std::map<std::string, int> count_first_words(const std::filesystem::path& file) {
  std::map<std::string, int> counts;
  std::string text = read_file(file);
  std::size_t begin = 0;
  for (auto end = text.find('\n'); end != std::string::npos; begin = end + 1, end = text.find('\n', begin)) {
    std::string line = text.substr(begin, end - begin);
    ++counts[line.substr(0, line.find(' '))];
  }
  return counts;
}

TEST(ChaosTest, KillNineAtRandomMomentsLosesNothing) {
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  std::string steps = std::string(JR_SOURCE_DIR) + "/examples/shell/steps.sh";
  // Each attempt holds its task's lock for its whole life: one that finds it taken runs beside
  // an earlier attempt.
  write_file(dir / "task.sh", "#!/bin/sh\nexec 9>>\"lock.$1\"\nflock -n 9 || echo \"$1\" >> overlaps\necho \"$1\" >> starts.log\nexec " +
                                  steps + " \"$1\" " + std::to_string(kSteps) + "\n");
  chmod((dir / "task.sh").c_str(), 0755);
  std::vector<std::string> args = {"run", "-j", "4", "--", "./task.sh", ":::"};
  for (int i = 0; i < kTasks; ++i) args.push_back("t" + std::to_string(i));
  auto db = dir / ".jr/jr.db";

  std::uint32_t seed = test_seed();
  std::mt19937 rng(seed);
  RecordProperty("seed", static_cast<int>(seed));
  // name -> how many times it had started when it was first seen recorded as succeeded
  std::map<std::string, int> starts_when_succeeded;
  int kills = 0;
  // The sanitizer build (JR_TEST_QUICK) kills fewer times: it is there for memory errors, and
  // the plain build, and bench/kill_chaos, for the rare windows.
  const int rounds = std::getenv("JR_TEST_QUICK") ? 8 : 20;
  for (int round = 0; round < rounds; ++round) {
    pid_t pid = start_jr(args, dir.path());
    auto saves = [&] { return query_int(db, "SELECT count(*) FROM checkpoints"); };
    if (round % 7 == 0) {
      // Early: while the job is being created or its first tasks start.
      wait_for([&] { return std::filesystem::exists(db); });
    } else {
      auto target = std::max<std::int64_t>(0, saves()) + std::uniform_int_distribution<int>(1, 40)(rng);
      auto done = [&] { return query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") == kTasks; };
      ASSERT_TRUE(wait_for([&] { return saves() >= target || done() || !process_alive(pid); }));
      ASSERT_TRUE(process_alive(pid) || done()) << "jr exited early: " << read_file(dir / "jr-bg.err");
    }
    kill(pid, SIGKILL);
    wait_exit(pid);
    ++kills;
    if (std::filesystem::exists(db)) {
      ASSERT_EQ(query_text(db, "PRAGMA integrity_check"), "ok") << "round " << round;
    }
    auto starts = count_first_words(dir / "starts.log");
    for (auto idx : query_ints(db, "SELECT idx FROM tasks WHERE state = 2")) {
      auto name = "t" + std::to_string(idx);
      starts_when_succeeded.emplace(name, starts[name]);
    }
  }

  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(query_text(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), kTasks);

  auto starts = count_first_words(dir / "starts.log");
  for (auto& [name, n] : starts_when_succeeded) EXPECT_EQ(starts[name], n) << name << " ran again after it succeeded";
  EXPECT_EQ(read_file(dir / "overlaps"), "") << "attempts that started while an earlier one of their task still ran";
  // Every task's program exits 0: an attempt recorded failed, or with another status, has a
  // status nobody saw.
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE exit_code IS NOT NULL AND exit_code != 0"), 0);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE outcome = " + std::to_string(static_cast<int>(TaskState::Failed))), 0);

  auto work = count_first_words(dir / "work.log");
  std::int64_t redone = 0;
  int resumed_tasks = 0;
  for (int i = 0; i < kTasks; ++i) {
    auto name = "t" + std::to_string(i);
    EXPECT_EQ(read_file(dir / ("out/" + name)), "30\n") << name;  // 1 + 4 + 9 + 16
    auto attempts = query_int(db, "SELECT attempts FROM tasks WHERE idx = " + std::to_string(i));
    int extra = work[name] - kSteps;
    EXPECT_GE(extra, 0) << name;
    // At most the one step in flight is redone per interruption.
    EXPECT_LE(extra, attempts - 1) << name << " redid more than one step per interruption";
    redone += extra;
    resumed_tasks += attempts > 1;
  }
  std::printf("chaos: %d rounds, %d kills (seed %u), %d tasks resumed, %lld steps redone of %d\n", rounds, kills,
              seed, resumed_tasks, static_cast<long long>(redone), kTasks * kSteps);
}

// The crash window of a spawn: the engine is killed a few milliseconds after it started a task
// that forks all the time, often before the task's process group is recorded. Each task holds
// a lock that every process it forks inherits; an attempt that finds the lock taken runs beside
// an earlier one. JR_TEST_KILLS sets the number of kills (bench/kill_chaos runs a thousand).
// Without a keeper each restart kills the last engine's attempts and starts them again; with
// one (the default) it adopts them, and each task ends by itself after 50 forks so
// that the next ones start. Either way no task's exit status may be other than its 0.
class SpawnWindowTest : public ::testing::TestWithParam<bool> {};

TEST_P(SpawnWindowTest, KilledRightAfterASpawnNeverRunsTwoAttemptsAtOnce) {
  const bool adopt = GetParam();
  ASSERT_TRUE(put_jr_first_on_path());
  TempDir dir;
  write_file(dir / "task.sh",
             "#!/bin/sh\n"
             "exec 9>>\"lock.$1\"\n"
             "flock -n 9 || echo \"$1 $JR_ATTEMPT\" >> overlaps\n"
             "echo \"$1 $JR_ATTEMPT\" >> starts\n"
             // Until told to stop, or until the test's directory is gone, however it ended; with
             // a keeper, also after 50 forks.
             "n=0\n"
             "while [ ! -f stop ] && [ -f task.sh ] && [ $n -lt " + std::string(adopt ? "50" : "1000000000") +
                 " ]; do x=$(date); n=$((n + 1)); done\n");
  chmod((dir / "task.sh").c_str(), 0755);
  const char* wanted = std::getenv("JR_TEST_KILLS");
  const int kills = wanted && *wanted ? std::atoi(wanted) : 30;
  std::vector<std::string> args = {"run", "-j", "2", "--", "./task.sh", ":::"};
  if (!adopt) args.insert(args.begin() + 1, "--no-adopt");
  // Each round starts at least one task: enough of them that one is always left to start.
  for (int i = 0; i < (adopt ? 3 * kills + 3 : 3); ++i) args.push_back("t" + std::to_string(i));
  std::mt19937 rng(test_seed());
  for (int round = 0; round < kills; ++round) {
    auto before = read_lines(dir / "starts").size();
    pid_t pid = start_jr(args, dir.path());
    ASSERT_TRUE(wait_for([&] { return read_lines(dir / "starts").size() > before || !process_alive(pid); }));
    ASSERT_TRUE(process_alive(pid)) << "jr exited with " << wait_exit(pid) << ": " << read_file(dir / "jr-bg.err");
    // A moment from 0 to 20 ms after a task started: this chooses when, it synchronises nothing.
    usleep(static_cast<useconds_t>(std::uniform_int_distribution<int>(0, 20'000)(rng)));
    kill(pid, SIGKILL);
    wait_exit(pid);
  }
  write_file(dir / "stop", "");
  auto out = run_jr(args, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(read_file(dir / "overlaps"), "") << "attempts that started while an earlier one of their task still ran";
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE exit_code IS NOT NULL AND exit_code != 0"), 0);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE outcome = " + std::to_string(static_cast<int>(TaskState::Failed))), 0);
  std::printf("spawn window (%s): %d kills, %zu attempts started\n", adopt ? "keeper" : "no keeper", kills,
              read_lines(dir / "starts").size());
}

INSTANTIATE_TEST_SUITE_P(Keeping, SpawnWindowTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ByKeeper" : "ByEngine"; });

}  // namespace
}  // namespace jr::test
