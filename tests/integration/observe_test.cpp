// jr progress, jr stats and jr trace, driven as a user drives them: real jobs on a temporary
// state directory, whose tasks call the real `jr progress`.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/integration/harness.h"

namespace jr::test {
namespace {

using json = nlohmann::json;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
  return out;
}

// A task script: reports progress in `steps` steps of `pause` seconds, fails with exit 3 on
// input 7. JR_* variables do not reach tasks from outside, so the jr path is written into it.
void write_task_script(const TempDir& dir) {
  write_file(dir / "task.sh",
             "#!/bin/sh\n"
             "i=$1; steps=$2; pause=$3; k=1\n"
             "while [ $k -le $steps ]; do\n"
             "  " JR_BIN " progress $k/$steps \"input $i: step $k of $steps\" || exit 99\n"
             "  sleep $pause; k=$((k+1))\n"
             "done\n"
             "echo \"input $i done\"\n"
             "if [ \"$i\" = 7 ]; then echo 'first line' >&2; echo \"error: input $i is corrupt\" >&2; exit 3; fi\n");
  std::filesystem::permissions(dir / "task.sh", std::filesystem::perms::owner_all);
}

TEST(ProgressTest, TheLastProgressOfEachAttemptIsStored) {
  TempDir dir;
  auto out = run_jr(cat({"run", "-j", "2", "--", "sh", "-c",
                            JR_BIN " progress 1/4 start && " JR_BIN " progress 3/4 \"working on $1\"", "sh", "{}", ":::"},
                           seq(1, 4)),
                    dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto db = dir / ".jr/jr.db";
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM attempts WHERE abs(progress - 0.75) < 1e-9"), 4);
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(query_text(db, "SELECT a.message FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.idx = " +
                                 std::to_string(i - 1)),
              "working on " + std::to_string(i));
  }
}

TEST(ProgressTest, OutsideATaskOrMalformedItSaysSoInOneLine) {
  TempDir dir;
  auto outside = run_jr({"progress", "0.5"}, dir.path());
  EXPECT_EQ(outside.exit_code, 2);
  EXPECT_EQ(outside.err, "jr progress: not inside a jr task (JR_RUN is not set)\n");
  for (std::string bad : {"1.5", "abc", "3/0", "4/3", "1/-2", "0.5x", "nan"}) {
    auto out = run_jr({"progress", bad}, dir.path());
    EXPECT_EQ(out.exit_code, 2) << bad;
    EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1) << out.err;
    EXPECT_NE(out.err.find("invalid fraction '" + bad + "'"), std::string::npos) << out.err;
  }
}

class ObservedJob : public ::testing::Test {
 protected:
  // 12 tasks at -j 3, interrupted once by SIGTERM while tasks run, then resumed to the end;
  // input 7 fails.
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    write_task_script(*dir_);
    args_ = cat({"run", "-j", "3", "--sample-every", "50ms", "--", "./task.sh", "{}", "3", "0.1", ":::"}, seq(1, 12));
    auto db = *dir_ / ".jr/jr.db";
    pid_t pid = start_jr(args_, dir_->path());
    ASSERT_TRUE(wait_for([&] {
      return query_int(db, "SELECT count(*) FROM tasks WHERE state = 2") >= 3 &&
             query_int(db, "SELECT count(*) FROM tasks WHERE state = 1") >= 1;
    }));
    kill(pid, SIGTERM);
    ASSERT_EQ(wait_exit(pid), 143);
    auto resumed = run_jr(args_, dir_->path());
    ASSERT_EQ(resumed.exit_code, 1) << resumed.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static json stats() {
    auto out = run_jr({"stats", "--json"}, dir_->path());
    EXPECT_EQ(out.exit_code, 0) << out.err;
    return json::parse(out.out);
  }

  static TempDir* dir_;
  static std::vector<std::string> args_;
};
TempDir* ObservedJob::dir_ = nullptr;
std::vector<std::string> ObservedJob::args_;

TEST_F(ObservedJob, StatsCountTasksAttemptsInterruptionsAndResumes) {
  auto s = stats();
  auto db = *dir_ / ".jr/jr.db";
  EXPECT_EQ(s["tasks"]["total"], 12);
  EXPECT_EQ(s["tasks"]["succeeded"], 11);
  EXPECT_EQ(s["tasks"]["failed"], 1);
  EXPECT_EQ(s["attempts"], query_int(db, "SELECT count(*) FROM attempts"));
  EXPECT_GE(s["interruptions"].get<int>(), 1);
  EXPECT_EQ(s["interruptions"], query_int(db, "SELECT count(*) FROM attempts WHERE outcome = 4"));
  EXPECT_EQ(s["engine_runs"], 2);
  EXPECT_EQ(s["resumes"], 1);
  EXPECT_EQ(s["parallelism"], 3);
  EXPECT_FALSE(s["running"].get<bool>());
}

TEST_F(ObservedJob, SpeedupAndEfficiencyFollowTheirDefinitions) {
  auto s = stats();
  auto db = *dir_ / ".jr/jr.db";
  std::int64_t first = query_int(db, "SELECT min(start_ms) FROM attempts");
  std::int64_t last = query_int(db, "SELECT max(end_ms) FROM attempts");
  std::int64_t busy = query_int(db, "SELECT sum(end_ms - start_ms) FROM attempts");
  std::int64_t cpu = query_int(db, "SELECT sum(utime_ms + stime_ms) FROM attempts");
  EXPECT_EQ(s["wall_ms"], last - first);
  EXPECT_EQ(s["task_time_ms"], busy);
  EXPECT_NEAR(s["speedup"].get<double>(), static_cast<double>(busy) / static_cast<double>(last - first), 1e-3);
  EXPECT_NEAR(s["parallel_efficiency"].get<double>(), s["speedup"].get<double>() / 3, 1e-3);
  EXPECT_NEAR(s["cpu_efficiency"].get<double>(), static_cast<double>(cpu) / (3.0 * static_cast<double>(last - first)), 1e-3);
  // Never more than -j tasks at a time, however busy the machine (how far above 1 the speedup
  // gets depends on the machine, and is bench/'s to measure).
  EXPECT_GT(s["speedup"].get<double>(), 0.0);
  EXPECT_LE(s["speedup"].get<double>(), 3.0);
  EXPECT_GT(s["peak_rss_kb"]["max"].get<std::int64_t>(), 0);
  EXPECT_LE(s["peak_rss_kb"]["median"].get<std::int64_t>(), s["peak_rss_kb"]["p95"].get<std::int64_t>());
}

TEST_F(ObservedJob, FailuresCarryTheirExitCodeAndStderrTail) {
  auto s = stats();
  ASSERT_EQ(s["failures"].size(), 1u);
  auto& f = s["failures"][0];
  EXPECT_EQ(f["index"], 6);
  EXPECT_EQ(f["exit_code"], 3);
  EXPECT_EQ(f["stderr_tail"], json::array({"first line", "error: input 7 is corrupt"}));
  auto text = run_jr({"stats"}, dir_->path());
  EXPECT_NE(text.out.find("| error: input 7 is corrupt"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("speedup"), std::string::npos);
}

TEST_F(ObservedJob, TraceHasOneRowPerAttemptWithNextflowColumns) {
  auto out = run_jr({"trace"}, dir_->path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto lines = split(out.out, '\n');
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0],
            "task_id\thash\tnative_id\tname\tstatus\texit\tsubmit\tstart\tcomplete\tduration\trealtime\t%cpu\t"
            "peak_rss\tindex\tattempt\tsignal\tcheckpoints");
  auto db = *dir_ / ".jr/jr.db";
  ASSERT_EQ(static_cast<std::int64_t>(lines.size()) - 1, query_int(db, "SELECT count(*) FROM attempts"));
  std::map<std::string, int> statuses;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto cells = split(lines[i], '\t');
    ASSERT_EQ(cells.size(), 17u) << lines[i];
    ++statuses[cells[4]];
    EXPECT_EQ(cells[6].size(), 23u) << "submit like 2026-11-25 13:01:02.345: " << cells[6];
    if (cells[4] == "FAILED") {
      EXPECT_EQ(cells[5], "3");
    }
  }
  EXPECT_EQ(statuses["COMPLETED"], 11);
  EXPECT_EQ(statuses["FAILED"], 1);
  EXPECT_EQ(statuses["ABORTED"], query_int(db, "SELECT count(*) FROM attempts WHERE outcome = 4"));

  auto js = run_jr({"trace", "--format", "json"}, dir_->path());
  ASSERT_EQ(js.exit_code, 0) << js.err;
  auto rows = json::parse(js.out);
  ASSERT_EQ(rows.size(), lines.size() - 1);
  for (auto& r : rows) EXPECT_EQ(r["realtime"], r["complete"].get<std::int64_t>() - r["start"].get<std::int64_t>());
}

TEST_F(ObservedJob, ReportIsOneFileWithNoNetworkReference) {
  auto out = run_jr({"report", "-o", "r.html"}, dir_->path());
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto html = read_file(*dir_ / "r.html");
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_NE(html.find("data-stat=\"speedup\""), std::string::npos);
}

TEST_F(ObservedJob, UnknownJobOrStateIsOneLine) {
  auto no_job = run_jr({"stats", "42"}, dir_->path());
  EXPECT_EQ(no_job.exit_code, 1);
  EXPECT_NE(no_job.err.find("jr stats: no job 42 in"), std::string::npos) << no_job.err;
  auto no_state = run_jr({"trace", "--state", "nowhere"}, dir_->path());
  EXPECT_EQ(no_state.exit_code, 1);
  EXPECT_EQ(std::count(no_state.err.begin(), no_state.err.end(), '\n'), 1) << no_state.err;
  auto bad_format = run_jr({"trace", "--format", "csv"}, dir_->path());
  EXPECT_EQ(bad_format.exit_code, 2);
}

}  // namespace
}  // namespace jr::test
