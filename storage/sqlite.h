// A thin RAII wrapper over the SQLite C API: a connection, cached prepared statements and
// transactions.
//
// Db owns one sqlite3 connection and a cache of prepared statements keyed by their SQL text,
// so a statement on the per-task path is prepared once per process. Not thread-safe: one
// thread uses a Db. SQLite errors become Error values here; nothing above this file sees an
// sqlite3 return code. Transactions nest: only the outermost one commits, so a caller can
// group several transitions (each of which opens its own) into one commit.
#pragma once

#include <sqlite3.h>

#include <cstring>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace jr::sql {

class Stmt {
 public:
  Stmt(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Stmt() {
    if (stmt_) sqlite3_reset(stmt_);
  }
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_), db_(other.db_), bind_rc_(other.bind_rc_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // A bind that fails (a value above SQLite's length limit) fails the next step(), rather than
  // leaving the statement to run with NULL in the value's place.
  Stmt& bind(int i, std::int64_t v) { return note(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& bind(int i, int v) { return note(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& bind(int i, double v) { return note(sqlite3_bind_double(stmt_, i, v)); }
  Stmt& bind(int i, std::string_view v) {
    return note(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  Stmt& bind_blob(int i, std::string_view v) {
    return note(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  }
  // Binds without copying: `v` must outlive the statement's next step (large checkpoints).
  Stmt& bind_blob_static(int i, std::string_view v) {
    return note(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC));
  }
  Stmt& bind_null(int i) { return note(sqlite3_bind_null(stmt_, i)); }

  // Steps once: true when a row is available, false when done (the statement is then reset
  // and may be bound again). Errors become Error.
  Result<bool> step();
  // Steps to completion, for statements that return no rows.
  Status run();

  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  int i32(int col) const { return sqlite3_column_int(stmt_, col); }
  double f64(int col) const { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::string blob(int col) const;

 private:
  Stmt& note(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_rc_ = SQLITE_OK;  // the first failed bind's code since the last step
};

class Db {
 public:
  enum class Mode { ReadWrite, ReadOnly };
  static Result<std::unique_ptr<Db>> open(const std::filesystem::path& path, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs SQL text with no parameters (schema, pragmas).
  Status exec(const std::string& sql);
  // A cached prepared statement; reset when the returned Stmt goes out of scope. The cache is
  // keyed by the address of the SQL text, so pass string literals only.
  Result<Stmt> prepare(const char* sql);
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* raw() { return db_; }
  Error error(const std::string& what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// BEGIN IMMEDIATE on construction unless a transaction is already open; commit() commits
// only the outermost; destruction without commit() rolls the outermost back. After a failed
// COMMIT or statement (SQLITE_FULL, SQLITE_IOERR) SQLite may or may not have rolled the
// transaction back already ("Response To Errors Within A Transaction", lang_transaction.html):
// commit() and the destructor issue ROLLBACK either way, so nothing of a failed transaction
// stays, and a caller that retries writes all of it again in a new one.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status begin_status() const { return begin_; }
  Status commit();

 private:
  Db& db_;
  bool outermost_ = false;
  bool done_ = false;
  Status begin_;
};

// A deferred read transaction (BEGIN), ended on destruction: every read made while it lives
// sees the same moment of the database, whatever a writer commits meanwhile (WAL). Works on a
// read-only connection, where BEGIN IMMEDIATE would not.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Db& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  Status begin_status() const { return begin_; }

 private:
  Db& db_;
  Status begin_;
};

}  // namespace jr::sql
