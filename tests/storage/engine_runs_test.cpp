// Engine runs' signs of life (storage/engine_runs.h): where a dead engine was last seen, as the
// next engine's recovery and the read-only views find it.
#include "storage/engine_runs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/schema.h"
#include "storage/store.h"
#include "storage/store_db.h"

namespace jr {
namespace {

namespace fs = std::filesystem;

class EngineRunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/jr_engine_runs_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<Store> open() {
    auto store = Store::open(dir_ / "jr.db", SyncMode::Normal);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }
  static LatestEngineRun latest(Store& store) {
    auto run = latest_engine_run(store);
    EXPECT_TRUE(run.ok()) << run.error().message;
    EXPECT_TRUE(run.ok() && run->has_value());
    return run.ok() && run->has_value() ? **run : LatestEngineRun{};
  }
  fs::path dir_;
};

TEST_F(EngineRunsTest, AKilledEngineWasLastSeenAtItsLatestHeartbeatOrEvent) {
  auto first = open();
  ASSERT_TRUE(first);
  auto none = latest_engine_run(*first);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // Before begin_engine_run there is no run of this engine to record in.
  ASSERT_TRUE(record_engine_seen(*first, 5).ok());
  auto run = first->begin_engine_run(4242, "", "");
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store_db(*first).exec("UPDATE engine_runs SET start_ms = 1000").ok());
  EXPECT_EQ(latest(*first).last_seen_ms, 1000);
  ASSERT_TRUE(record_engine_seen(*first, 5000).ok());
  EXPECT_EQ(latest(*first).last_seen_ms, 5000);
  // A transition committed after the last heartbeat is a later sign of life.
  ASSERT_TRUE(first->add_event(0, 0, std::nullopt, std::nullopt, 0, "a transition").ok());
  ASSERT_TRUE(store_db(*first).exec("UPDATE events SET ms = 5600").ok());
  first.reset();  // killed: no end recorded

  auto next = open();
  ASSERT_TRUE(next);
  LatestEngineRun dead = latest(*next);
  EXPECT_EQ(dead.id, *run);
  EXPECT_EQ(dead.pid, 4242);
  EXPECT_FALSE(dead.ended);
  EXPECT_EQ(dead.last_seen_ms, 5600);
  ASSERT_TRUE(close_engine_run(*next, dead.id, dead.last_seen_ms).ok());
  LatestEngineRun closed = latest(*next);
  EXPECT_TRUE(closed.ended);
  EXPECT_EQ(closed.last_seen_ms, 5600);
  // An end that is recorded stays as it is.
  ASSERT_TRUE(close_engine_run(*next, dead.id, 9000).ok());
  EXPECT_EQ(latest(*next).last_seen_ms, 5600);
}

// A reader of a store that an older jr wrote (no heartbeat column: readers never migrate) finds
// the dead engine's last event or CPU sample, whichever came later.
TEST_F(EngineRunsTest, AStoreWithoutHeartbeatsIsReadFromItsEventsAndSamples) {
  {
    auto db = sql::Db::open(dir_ / "jr.db", sql::Db::Mode::ReadWrite);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(migrate_to(**db, 3, (dir_ / "jr.db").string()).ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO meta(key, value) VALUES ('state_id', 'abc');"
                            "INSERT INTO engine_runs(id, pid, start_ms) VALUES (1, 77, 1000);"
                            "INSERT INTO events(ms, detail) VALUES (2500, 'a transition');"
                            "INSERT INTO samples(task_id, attempt, ms, cpu_ms, rss_kb) VALUES (1, 1, 2700, 0, 0);")
                    .ok());
  }
  auto reader = Store::open_read_only(dir_ / "jr.db");
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  LatestEngineRun dead = latest(**reader);
  EXPECT_EQ(dead.pid, 77);
  EXPECT_FALSE(dead.ended);
  EXPECT_EQ(dead.last_seen_ms, 2700);
}

}  // namespace
}  // namespace jr
