// Messages a person can act on (issue 16, section 4): a timeout is named with its limit and
// grace wherever a failed task is shown; a damaged jr.db is named with the way out, and
// `--fresh` sets it aside instead of deleting it; after a kill -9 of `jr run` the read-only
// views say that its engine is gone and that the tasks will be resumed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Files in `dir` whose name starts with `prefix`.
std::vector<std::string> names_starting(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MessagesTest, TimeoutsAreNamedWithTheirLimitAndGraceInEveryView) {
  TempDir dir;
  // "hard" ignores SIGTERM (and so do the sleeps it starts), so only SIGKILL after the grace
  // ends it; "soft" ends on SIGTERM.
  auto out = run_jr({"run", "-j", "2", "--timeout", "1s", "--grace", "1s", "--", "sh", "-c",
                     "if [ $1 = hard ]; then trap '' TERM; fi; while :; do sleep 0.1; done", "sh", "{}", ":::", "hard",
                     "soft"},
                    dir.path());
  EXPECT_EQ(out.exit_code, 1) << out.err;
  EXPECT_TRUE(contains(out.err, "task 0 timed out after 1s (killed after 1s grace)")) << out.err;
  EXPECT_TRUE(contains(out.err, "task 1 timed out after 1s (stopped by SIGTERM within the 1s grace)")) << out.err;
  EXPECT_FALSE(contains(out.err, "signal 9")) << out.err;

  auto stats = run_jr({"stats", "--state", ".jr"}, dir.path());
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(contains(stats.out, "task 0 timed out after 1s (killed after 1s grace), 1 attempt")) << stats.out;
  EXPECT_TRUE(contains(stats.out, "task 1 timed out after 1s (stopped by SIGTERM")) << stats.out;

  auto tasks = run_jr({"tasks", "1", "--state", ".jr"}, dir.path());
  EXPECT_EQ(tasks.exit_code, 0) << tasks.err;
  EXPECT_TRUE(contains(tasks.out, "timed out after 1s (killed after 1s grace)")) << tasks.out;
  auto json = run_jr({"tasks", "1", "--state", ".jr", "--json"}, dir.path());
  EXPECT_TRUE(contains(json.out, "\"detail\":\"timed out after 1s (killed after 1s grace)\"")) << json.out;
}

TEST(MessagesTest, AStoreOverwrittenWithGarbageIsNamedWithTheWayOut) {
  TempDir dir;
  ASSERT_EQ(run_jr({"run", "--", "true", ":::", "a", "b"}, dir.path()).exit_code, 0);
  auto db = dir / ".jr/jr.db";
  std::string garbage(8192, 'x');
  write_file(db, garbage);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"status", "--state", ".jr"},
                                               {"tasks", "1", "--state", ".jr"},
                                               {"stats", "--state", ".jr"},
                                               {"run", "--", "true", ":::", "a", "b"}}) {
    auto out = run_jr(args, dir.path());
    EXPECT_NE(out.exit_code, 0) << args[0];
    EXPECT_TRUE(contains(out.err, db.string() + " is damaged")) << args[0] << ": " << out.err;
    EXPECT_TRUE(contains(out.err, "jr run --fresh")) << args[0] << ": " << out.err;
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << args[0] << ": " << out.err;
  }
  EXPECT_EQ(read_file(db), garbage);
}

TEST(MessagesTest, ATruncatedStoreIsNamedNotJustMalformed) {
  TempDir dir;
  std::vector<std::string> args = {"run", "--", "true", ":::"};
  for (int i = 0; i < 2000; ++i) args.push_back("input-with-some-length-" + std::to_string(i));
  ASSERT_EQ(run_jr(args, dir.path()).exit_code, 0);
  auto db = dir / ".jr/jr.db";
  ASSERT_FALSE(std::filesystem::exists(dir / ".jr/jr.db-wal") && std::filesystem::file_size(dir / ".jr/jr.db-wal") > 0);
  auto size = std::filesystem::file_size(db);
  ASSERT_GT(size, 64u * 1024);
  std::filesystem::resize_file(db, size / 2);
  for (const std::vector<std::string>& command : {std::vector<std::string>{"tasks", "1", "--state", ".jr"},
                                                  {"stats", "--state", ".jr"}}) {
    auto out = run_jr(command, dir.path());
    EXPECT_NE(out.exit_code, 0) << command[0] << ": " << out.out;
    EXPECT_TRUE(contains(out.err, db.string() + " is damaged")) << command[0] << ": " << out.err;
    EXPECT_TRUE(contains(out.err, "jr run --fresh")) << command[0] << ": " << out.err;
  }
}

TEST(MessagesTest, FreshSetsAnUnreadableStoreAsideWithItsLogAndNeverDeletesIt) {
  TempDir dir;
  ASSERT_EQ(run_jr({"run", "--", "true", ":::", "a"}, dir.path()).exit_code, 0);
  auto state = dir / ".jr";
  write_file(state / "jr.db", "not a database at all, but someone's bytes");
  write_file(state / "jr.db-wal", "wal bytes");
  write_file(state / "jr.db-shm", "shm bytes");
  auto out = run_jr({"run", "--fresh", "--", "true", ":::", "a", "b"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto aside = names_starting(state, "jr.db.broken-");
  ASSERT_EQ(aside.size(), 3u) << out.err;
  std::string base = aside[0];  // the store sorts before its -shm and -wal
  EXPECT_EQ(base.size(), std::string("jr.db.broken-YYYYmmdd-HHMMSS").size()) << base;
  EXPECT_EQ(aside[1], base + "-shm");
  EXPECT_EQ(aside[2], base + "-wal");
  EXPECT_EQ(read_file(state / base), "not a database at all, but someone's bytes");
  EXPECT_EQ(read_file(state / (base + "-wal")), "wal bytes");
  EXPECT_TRUE(contains(out.err, "moved it aside to " + (state / base).string() + " with its -wal and -shm")) << out.err;
  EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 2) << out.err;  // that line, and the summary
  EXPECT_EQ(query_int(state / "jr.db", "SELECT count(*) FROM tasks WHERE state = 2"), 2);

  // A store it can read is deleted as before: nothing more is set aside.
  ASSERT_EQ(run_jr({"run", "--fresh", "--", "true", ":::", "c"}, dir.path()).exit_code, 0);
  EXPECT_EQ(names_starting(state, "jr.db.broken-").size(), 3u);
}

TEST(MessagesTest, AfterAKillNineTheViewsSayTheEngineIsGone) {
  TempDir dir;
  // The tasks wait until the test releases them (or its directory is gone); the next run
  // recovers and ends them.
  write_file(dir / "alive", "");
  const std::vector<std::string> command = {"--", "sh", "-c",
                                            "while [ -f alive ] && [ ! -f release ]; do sleep 0.05; done",
                                            "sh", "{}", ":::", "1", "2"};
  // Without a keeper: the tasks die with the engine (adopt_test.cpp: with one).
  const auto args = cat({"run", "--no-adopt", "-j", "2"}, command);
  auto db = dir / ".jr/jr.db";
  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] {
    return query_int(db, "SELECT count(*) FROM tasks WHERE state = 1 AND pid IS NOT NULL") == 2 || !process_alive(pid);
  }));
  ASSERT_TRUE(process_alive(pid)) << "jr exited early: " << read_file(dir / "jr-bg.err");
  kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit(pid), 128 + SIGKILL);
  const std::string line =
      "the engine that ran this job is gone (pid " + std::to_string(pid) + "); these tasks will be resumed";

  auto status = run_jr({"status", "--state", ".jr"}, dir.path());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(contains(status.out, line)) << status.out;
  auto one = run_jr({"status", "1", "--state", ".jr", "--json"}, dir.path());
  EXPECT_TRUE(contains(one.out, "\"running\":0")) << one.out;
  EXPECT_TRUE(contains(one.out, "\"interrupted\":2")) << one.out;
  EXPECT_TRUE(contains(one.out, "\"engine_gone\":{\"keeper\":false,\"pid\":" + std::to_string(pid) + "}")) << one.out;

  auto tasks = run_jr({"tasks", "1", "--state", ".jr"}, dir.path());
  EXPECT_FALSE(contains(tasks.out, "running")) << tasks.out;
  EXPECT_TRUE(contains(tasks.out, "engine gone (pid " + std::to_string(pid) + "); will be resumed")) << tasks.out;

  auto stats = run_jr({"stats", "--state", ".jr"}, dir.path());
  EXPECT_TRUE(contains(stats.out, line)) << stats.out;
  EXPECT_TRUE(contains(stats.out, "2 interrupted")) << stats.out;

  auto explain = run_jr(cat({"run", "--no-adopt", "-j", "2", "--explain"}, command), dir.path());
  EXPECT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_TRUE(contains(explain.out, "resume (engine gone) pid " + std::to_string(pid))) << explain.out;

  // Nothing above wrote to the store: it still records what the engine left.
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 1"), 2);

  write_file(dir / "release", "");
  auto resumed = run_jr(args, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM tasks WHERE state = 2"), 2);
}

}  // namespace
}  // namespace jr::test
