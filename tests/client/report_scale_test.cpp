// jr report at 100,000 tasks: the file stays under 5 MB with the whole task table in it, and
// (when Debian's chromium is installed) headless Chromium renders it, building only the table
// rows in view. How fast
// it is written and opened is measured by bench/report_time, against an empty page.
//
// The job is written straight into a store through the engine's own transitions, in one
// transaction, so that the test does not spend minutes running 100,000 processes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "base/duration.h"
#include "cli/views/report_html.h"
#include "cli/views/run_facts.h"
#include "storage/codec.h"
#include "storage/store_db.h"
#include "storage/store.h"
#include "tests/integration/harness.h"

namespace jr {
namespace {

constexpr int kTasks = 100'000;

// Runs the job's pending tasks two at a time, 10 ms apart; with `preempt`, interrupts the one
// at the halfway mark and stops there, as an engine stopped by a preemption does.
void run_tasks(Store& s, JobId job, std::int64_t& t, bool preempt) {
  for (;;) {
    auto batch = s.runnable(job, 1000, INT64_MAX);
    ASSERT_TRUE(batch.ok());
    if (batch->empty()) return;
    for (auto& task : *batch) {
      ASSERT_TRUE(s.start_task(task.id, static_cast<int>(task.index % 2) + 1, t).ok());
      Exit exit;
      exit.exit_code = task.index % 997 == 0 ? 2 : 0;
      exit.utime_ms = 8;
      exit.maxrss_kb = 2000 + task.index % 5000;
      t += 10;
      if (preempt && task.index == kTasks / 2) {
        ASSERT_TRUE(s.interrupt_task(task.id, exit, t).ok());
        return;
      }
      ASSERT_TRUE(s.finish_task(task.id, exit, 0, t, t).ok());
    }
  }
}

// 100,000 tasks of `sh -c 'simulate --input $1 --seed 7' sh input-N.dat`, a few failing,
// preempted halfway (one attempt interrupted), resumed a minute later by a second engine run.
void write_job(const std::filesystem::path& dir) {
  auto store = Store::open(dir / "jr.db", SyncMode::Normal);
  ASSERT_TRUE(store.ok()) << store.error().message;
  Store& s = **store;
  auto tx = s.transaction();
  ASSERT_TRUE(tx.begin_status().ok());
  JobSpec spec;
  spec.parallelism = 2;
  spec.command = {"sh", "-c", "simulate --input $1 --seed 7", "sh", "{}"};
  auto job = s.create_job(spec, template_identity(spec));
  ASSERT_TRUE(job.ok());
  auto synced = s.sync_tasks(*job, kTasks, [](std::uint64_t i) {
    TaskSpec t;
    t.argv = {"sh", "-c", "simulate --input $1 --seed 7", "sh", "input-" + std::to_string(i) + ".dat"};
    return t;
  }, false);
  ASSERT_TRUE(synced.ok());
  const std::int64_t t0 = now_ms() - 20 * kTasks;
  std::int64_t t = t0;
  auto first = s.begin_engine_run(1, "", "");
  ASSERT_TRUE(first.ok());
  run_tasks(s, *job, t, true);
  const std::int64_t preempted = t;
  ASSERT_TRUE(s.end_engine_run(*first).ok());
  ASSERT_TRUE(s.resume_interrupted(*job).ok());
  auto second = s.begin_engine_run(2, "", "");
  ASSERT_TRUE(second.ok());
  t += 60'000;
  run_tasks(s, *job, t, false);
  // Engine runs record the wall clock; move them onto the simulated time line.
  ASSERT_TRUE(store_db(s).exec("UPDATE engine_runs SET start_ms = " + std::to_string(t0 - 100) + ", end_ms = " +
                          std::to_string(preempted) + " WHERE id = " + std::to_string(*first)).ok());
  ASSERT_TRUE(store_db(s).exec("UPDATE engine_runs SET start_ms = " + std::to_string(preempted + 60'000) +
                          ", end_ms = " + std::to_string(t) + " WHERE id = " + std::to_string(*second)).ok());
  ASSERT_TRUE(tx.commit().ok());
}

TEST(ReportScale, HundredThousandTasksStayUnderFiveMegabytesAndRenderWhole) {
  test::TempDir dir;
  write_job(dir.path());
  if (HasFatalFailure()) return;

  auto facts = load_run_facts(dir.path(), "");
  ASSERT_TRUE(facts.ok()) << facts.error().message;
  std::string html = report_html(*facts, {});
  test::write_file(dir / "report.html", html);
  std::printf("report of %d tasks: %.2f MB\n", kTasks, static_cast<double>(html.size()) / 1e6);

  EXPECT_EQ(facts->tasks.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(facts->interruptions, 1);
  EXPECT_EQ(facts->resumes, 1);
  EXPECT_EQ(facts->between_runs_ms, 60'000);
  EXPECT_LT(html.size(), 5u * 1000 * 1000);
  EXPECT_EQ(html.find("http"), std::string::npos);

  if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "chromium is not installed (scripts/setup optional installs it): rendering not checked";
  }
  std::string cmd = "chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
                    "--disable-component-update --disable-sync --no-first-run --user-data-dir=" +
                    (dir / "profile").string() + " --dump-dom file://" + (dir / "report.html").string() + " > " +
                    (dir / "report.dom").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  // The table is complete: every task is in the page's data, and the script built only the
  // rows in view (and a block on each side), not one per task.
  std::string dom = test::read_file(dir / "report.dom");
  EXPECT_NE(dom.find("100,000 tasks"), std::string::npos);
  auto data_at = html.find("id=\"jr-tasks\">");
  ASSERT_NE(data_at, std::string::npos);
  std::string states = html.substr(html.find("\"state\":[", data_at));
  states = states.substr(0, states.find(']'));
  EXPECT_EQ(std::count(states.begin(), states.end(), ','), kTasks - 1) << "the data does not hold every task";
  auto table_at = dom.find("id=\"tasks\"");
  ASSERT_NE(table_at, std::string::npos);
  std::string table = dom.substr(table_at, dom.find("</table>", table_at) - table_at);
  std::size_t rows = 0;
  for (std::size_t at = table.find("<tr>"); at != std::string::npos; at = table.find("<tr>", at + 1)) ++rows;
  EXPECT_GE(rows, 50u);    // the first block, at least
  EXPECT_LE(rows, 1000u);  // never the whole table
}

}  // namespace
}  // namespace jr
