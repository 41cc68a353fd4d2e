// What jr stats, jr trace and jr report count after a kill -9 of the engine: the time a task ran
// while its engine lived, never the time until the next engine started (issue 16). The gap is
// made long by a state, not a sleep: the task itself finishes while no engine runs, and only
// then does the next engine start.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

using json = nlohmann::json;

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json jr_json(const std::vector<std::string>& args, const TempDir& dir) {
  auto out = run_jr(args, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.err;
  return json::parse(out.out, nullptr, false);
}

// The task table's data that a report embeds (cli/views/report_html.h).
json report_table(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"jr-tasks\">";
  auto from = html.find(open);
  if (from == std::string::npos) return json();
  from += open.size();
  return json::parse(html.substr(from, html.find("</script>", from) - from), nullptr, false);
}

TEST(CrashFiguresTest, TimeWithNoEngineIsNeitherTaskTimeNorAnAttempt) {
  TempDir dir;
  // Waits to be told to go on, then works a little: its first attempt outlives the engine that
  // started it and finishes while no engine runs.
  write_file(dir / "task.sh",
             "#!/bin/sh\n"
             "touch started.$JR_ATTEMPT\n"
             "while [ ! -e go ]; do sleep 0.01; done\n"
             "sleep 0.3\n"
             "touch done.$JR_ATTEMPT\n");
  chmod((dir / "task.sh").c_str(), 0755);
  // Without a keeper, so that a kill -9 interrupts the task (adopt_test.cpp: with one).
  const std::vector<std::string> args = {"run", "--no-adopt", "--", "./task.sh", ":::", "a"};
  auto db = dir / ".jr/jr.db";

  pid_t pid = start_jr(args, dir.path());
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "started.1") || !process_alive(pid); }));
  ASSERT_TRUE(process_alive(pid)) << "jr exited with " << wait_exit(pid) << ": " << read_file(dir / "jr-bg.err");
  kill(pid, SIGKILL);
  wait_exit(pid);
  // The engine is dead: it was last seen before this moment.
  const std::int64_t dead_by = wall_clock_ms();
  const std::int64_t start1 = query_int(db, "SELECT start_ms FROM tasks");
  ASSERT_GT(start1, 0);

  write_file(dir / "go", "");
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(dir / "done.1"); }));

  // No engine yet: the attempt counts as interrupted, up to its engine's last sign of life.
  auto gone = jr_json({"stats", "--json"}, dir);
  EXPECT_FALSE(gone["engine_gone"].is_null());
  EXPECT_EQ(gone["tasks"]["interrupted"], 1);
  EXPECT_EQ(gone["interruptions"], 1);
  EXPECT_LE(gone["task_time_ms"].get<std::int64_t>(), dead_by - start1) << "time after the engine died counted";
  // jr top lists no task as running and counts it interrupted, not as running up to now.
  auto top = jr_json({"top", "--once", "--json"}, dir);
  EXPECT_FALSE(top["engine_running"].get<bool>());
  EXPECT_FALSE(top["engine_gone"].is_null());
  EXPECT_EQ(top["counts"]["running"], 0);
  EXPECT_EQ(top["counts"]["interrupted"], 1);
  EXPECT_TRUE(top["tasks"].empty()) << top["tasks"].dump();

  const std::int64_t resumed_after = wall_clock_ms();
  auto out = run_jr(args, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;

  // The record: the interrupted attempt and the dead engine's run end where it was last seen.
  ASSERT_EQ(query_int(db, "SELECT outcome FROM attempts WHERE attempt = 1"), 4);
  const std::int64_t end1 = query_int(db, "SELECT end_ms FROM attempts WHERE attempt = 1");
  EXPECT_GE(end1, start1);
  EXPECT_LE(end1, dead_by) << "the interrupted attempt ends after its engine died";
  const std::int64_t engine1_end = query_int(db, "SELECT end_ms FROM engine_runs ORDER BY id LIMIT 1");
  EXPECT_GT(engine1_end, 0) << "the dead engine's run has no end";
  EXPECT_LE(engine1_end, dead_by);
  const std::int64_t run2 = query_int(db, "SELECT end_ms - start_ms FROM attempts WHERE attempt = 2");
  ASSERT_GE(run2, 0);

  // jr stats: task time is what the engines saw; the gap is time between engine runs.
  auto s = jr_json({"stats", "--json"}, dir);
  EXPECT_EQ(s["engine_runs"], 2);
  EXPECT_EQ(s["interruptions"], 1);
  EXPECT_EQ(s["task_time_ms"], (end1 - start1) + run2);
  EXPECT_LE(s["task_time_ms"].get<std::int64_t>(), (dead_by - start1) + run2);
  EXPECT_GE(s["between_runs_ms"].get<std::int64_t>(), resumed_after - dead_by) << "the gap is not shown as one";

  // jr trace: the interrupted attempt completes where its engine was last seen.
  auto rows = jr_json({"trace", "--format", "json"}, dir);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["status"], "ABORTED");
  EXPECT_EQ(rows[0]["complete"], end1);
  EXPECT_EQ(rows[1]["status"], "COMPLETED");

  // jr report: the task's time in the table, and the gap drawn as time with no engine running.
  auto report = run_jr({"report", "-o", "r.html"}, dir.path());
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto html = read_file(dir / "r.html");
  auto table = report_table(html);
  ASSERT_TRUE(table.is_object()) << "no task table data in the report";
  ASSERT_EQ(table["run"].size(), 1u);
  EXPECT_EQ(table["run"][0], s["task_time_ms"]);
  EXPECT_NE(html.find("data-stat=\"speedup\" data-value=\"" + s["speedup"].dump() + "\""), std::string::npos);
  EXPECT_NE(html.find("no engine running for"), std::string::npos) << "no gap drawn";
}

}  // namespace
}  // namespace jr::test
