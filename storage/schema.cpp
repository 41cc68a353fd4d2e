#include "storage/schema.h"

#include <algorithm>
#include <string>
#include <vector>

namespace jr {
namespace {

// Migration i (0-based) brings the schema from version i to i+1.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> list = {
      // 1: jobs, tasks, attempts, checkpoints, results, events, engine runs.
      R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        template_id TEXT NOT NULL,
        spec BLOB NOT NULL,
        cancelled INTEGER NOT NULL DEFAULT 0,
        paused INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        run_gen INTEGER NOT NULL DEFAULT 0,
        finished_ms INTEGER
      );
      CREATE INDEX jobs_name ON jobs(name);
      CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        idx INTEGER NOT NULL,
        identity TEXT NOT NULL,
        spec BLOB NOT NULL,
        state INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        signal INTEGER,
        slot INTEGER,
        pid INTEGER,
        proc_start INTEGER,
        submit_ms INTEGER NOT NULL,
        start_ms INTEGER,
        end_ms INTEGER,
        next_run_ms INTEGER NOT NULL DEFAULT 0,
        run_gen INTEGER NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX tasks_identity ON tasks(job_id, identity);
      CREATE INDEX tasks_runnable ON tasks(job_id, state, idx);
      CREATE TABLE attempts (
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        attempt INTEGER NOT NULL,
        engine_run INTEGER,
        slot INTEGER,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        outcome INTEGER NOT NULL,
        exit_code INTEGER,
        signal INTEGER,
        utime_ms INTEGER,
        stime_ms INTEGER,
        maxrss_kb INTEGER,
        detail TEXT,
        PRIMARY KEY (task_id, attempt)
      );
      CREATE TABLE checkpoints (
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        seq INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (task_id, seq)
      );
      CREATE TABLE results (
        task_id INTEGER PRIMARY KEY REFERENCES tasks(id),
        created_ms INTEGER NOT NULL,
        bytes BLOB NOT NULL
      );
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ms INTEGER NOT NULL,
        job_id INTEGER,
        task_id INTEGER,
        from_state INTEGER,
        to_state INTEGER,
        attempt INTEGER,
        detail TEXT
      );
      CREATE INDEX events_job ON events(job_id, id);
      CREATE TABLE engine_runs (
        id INTEGER PRIMARY KEY,
        pid INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        host TEXT,
        slurm_job_id TEXT
      );
      )sql",
      // 2: what the board and the sampler keep: last progress per attempt, usage over time.
      R"sql(
      ALTER TABLE attempts ADD COLUMN progress REAL;
      ALTER TABLE attempts ADD COLUMN message TEXT;
      ALTER TABLE attempts ADD COLUMN stalled INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE samples (
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        attempt INTEGER NOT NULL,
        ms INTEGER NOT NULL,
        cpu_ms INTEGER NOT NULL,
        rss_kb INTEGER NOT NULL
      );
      CREATE INDEX samples_task ON samples(task_id, attempt, ms);
      )sql",
      // 3: attempts keyed by (task, attempt) alone: a rowid table kept the key in a second
      // b-tree, one more page written for every task that ends.
      R"sql(
      CREATE TABLE attempts_v3 (
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        attempt INTEGER NOT NULL,
        engine_run INTEGER,
        slot INTEGER,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        outcome INTEGER NOT NULL,
        exit_code INTEGER,
        signal INTEGER,
        utime_ms INTEGER,
        stime_ms INTEGER,
        maxrss_kb INTEGER,
        detail TEXT,
        progress REAL,
        message TEXT,
        stalled INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (task_id, attempt)
      ) WITHOUT ROWID;
      INSERT INTO attempts_v3 (task_id, attempt, engine_run, slot, start_ms, end_ms, outcome, exit_code, signal,
                               utime_ms, stime_ms, maxrss_kb, detail, progress, message, stalled)
        SELECT task_id, attempt, engine_run, slot, start_ms, end_ms, outcome, exit_code, signal,
               utime_ms, stime_ms, maxrss_kb, detail, progress, message, stalled FROM attempts;
      DROP TABLE attempts;
      ALTER TABLE attempts_v3 RENAME TO attempts;
      )sql",
      // 4: checkpoints saved, counted where they are saved: by the task row for its current
      // attempt, copied into the attempt's row when it ends. Older stores counted them from
      // the events' words; those counts are carried over once, here.
      R"sql(
      ALTER TABLE tasks ADD COLUMN checkpoints_saved INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE attempts ADD COLUMN checkpoints_saved INTEGER NOT NULL DEFAULT 0;
      CREATE TEMP TABLE saved_v4 AS
        SELECT task_id, attempt, count(*) AS n FROM events
        WHERE task_id IS NOT NULL AND detail LIKE 'checkpoint%saved%' GROUP BY task_id, attempt;
      UPDATE attempts SET checkpoints_saved = s.n FROM saved_v4 s
        WHERE s.task_id = attempts.task_id AND s.attempt = attempts.attempt;
      UPDATE tasks SET checkpoints_saved = s.n FROM saved_v4 s
        WHERE s.task_id = tasks.id AND s.attempt = tasks.attempts;
      DROP TABLE saved_v4;
      )sql",
      // 5: an engine's last sign of life, so that the attempts a killed engine left running
      // end when it was last seen, not when the next engine started (storage/engine_runs.h).
      R"sql(
      ALTER TABLE engine_runs ADD COLUMN seen_ms INTEGER;
      )sql",
      // 6: a job's tasks in index order, so that a page of `tasks` (offset, limit) or the tasks
      // at one index are read from an index instead of sorting the whole job: a page deep in a
      // 100,000-task job took 180 ms, and every other client waited for it.
      R"sql(
      CREATE INDEX tasks_order ON tasks(job_id, idx);
      )sql",
  };
  return list;
}

Result<std::int64_t> pragma_int(sql::Db& db, const char* sql) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  return *row ? st->i64(0) : 0;
}

Result<bool> has_tables(sql::Db& db) {
  auto st = db.prepare("SELECT count(*) FROM sqlite_master");
  if (!st) return st.error();
  auto row = st->step();
  if (!row) return row.error();
  return st->i64(0) > 0;
}

Status check(sql::Db& db, const std::string& path, bool* empty) {
  // Reading sqlite_master is what makes SQLite notice a file that is not a database.
  auto tables = has_tables(db);
  if (!tables) {
    return tables.error();
  }
  auto app = pragma_int(db, "PRAGMA application_id");
  if (!app) return app.error();
  auto version = pragma_int(db, "PRAGMA user_version");
  if (!version) return version.error();
  *empty = !*tables && *app == 0;
  if (*empty) return {};
  if (*app != kApplicationId) return make_error(ErrorCode::Corrupt, path + " is not a jr database");
  if (*version > current_schema_version()) {
    return make_error(ErrorCode::Unsupported,
                      path + " was written by a newer jr (schema " + std::to_string(*version) +
                          ", this jr knows up to " + std::to_string(current_schema_version()) +
                          "); upgrade jr");
  }
  return {};
}

// Store::create builds a store under another name and renames it into place whole, so an
// empty jr.db is never one jr left: something else made it.
Error empty_store(const std::string& path) {
  return make_error(ErrorCode::Corrupt, path + " is empty: jr never leaves an empty store, so something else made it; "
                                               "remove it if it holds nothing of yours");
}

}  // namespace

int current_schema_version() { return static_cast<int>(migrations().size()); }

Result<int> schema_version(sql::Db& db) {
  auto version = pragma_int(db, "PRAGMA user_version");
  if (!version) return version.error();
  return static_cast<int>(*version);
}

Status check_openable(sql::Db& db, const std::string& path) {
  bool empty = false;
  JR_TRY(check(db, path, &empty));
  if (empty) return empty_store(path);
  return {};
}

Status migrate(sql::Db& db, const std::string& path) { return migrate_to(db, current_schema_version(), path); }

Status migrate_to(sql::Db& db, int target, const std::string& path) {
  bool empty = false;
  JR_TRY(check(db, path, &empty));
  auto version = pragma_int(db, "PRAGMA user_version");
  if (!version) return version.error();
  for (auto v = *version; v < std::min(target, current_schema_version()); ++v) {
    sql::Transaction tx(db);
    JR_TRY(tx.begin_status());
    JR_TRY(db.exec(migrations()[static_cast<std::size_t>(v)]));
    JR_TRY(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
    JR_TRY(db.exec("PRAGMA user_version = " + std::to_string(v + 1)));
    JR_TRY(tx.commit());
  }
  return {};
}

}  // namespace jr
