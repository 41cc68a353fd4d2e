#include "storage/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

#include "storage/damaged_store.h"

namespace jr::sql {
namespace {

std::string file_name(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  return file && *file ? file : "the store";
}

// SQLite's word for the damage, with the file's name and what to do.
Error damaged(sqlite3* db) { return damaged_store(file_name(db), sqlite3_errmsg(db)); }

// What the operating system refused (a full disk, an I/O error, a read-only file system),
// named by the file: the one line a person reads must say where space is missing.
bool refused_by_system(int rc) {
  return rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN || rc == SQLITE_PERM;
}

Error system_error(sqlite3* db) { return make_error(ErrorCode::Io, file_name(db) + ": " + sqlite3_errmsg(db)); }

}  // namespace

Result<bool> Stmt::step() {
  if (bind_rc_ != SQLITE_OK) {
    int failed = bind_rc_;
    bind_rc_ = SQLITE_OK;
    sqlite3_reset(stmt_);
    return make_error(failed == SQLITE_TOOBIG ? ErrorCode::Usage : ErrorCode::Internal,
                      std::string("database: ") + sqlite3_errstr(failed));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  // Reset once done, so the cached statement can be bound and run again at once.
  sqlite3_reset(stmt_);
  if (rc == SQLITE_DONE) return false;
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) return damaged(db_);
  if (refused_by_system(rc)) return system_error(db_);
  return make_error(ErrorCode::Internal, std::string("database: ") + sqlite3_errmsg(db_));
}

Status Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

std::string Stmt::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::string Stmt::blob(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

Result<std::unique_ptr<Db>> Db::open(const std::filesystem::path& path, Mode mode) {
  if (mode == Mode::ReadWrite) {
    // Create the file ourselves so it is 0600 whatever the umask; SQLite gives its -wal and
    // -shm files the database file's permissions. Never through a link (Store checked the
    // name with lstat; SQLite's own NOFOLLOW would refuse a link anywhere in the path).
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return make_error(ErrorCode::Io, "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    ::close(fd);
  }
  sqlite3* db = nullptr;
  int flags = mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(ErrorCode::Io, "cannot open " + path.string() + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 0);
  return std::unique_ptr<Db>(new Db(db));
}

Db::~Db() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Error Db::error(const std::string& what) const {
  int rc = sqlite3_errcode(db_);
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) return damaged(db_);
  if (refused_by_system(rc)) return system_error(db_);
  return make_error(ErrorCode::Internal, what + ": " + sqlite3_errmsg(db_));
}

Status Db::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    sqlite3_free(msg);
    return error("database");
  }
  return {};
}

Result<Stmt> Db::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Stmt(it->second, db_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return error("database");
  }
  cache_.emplace(sql, stmt);
  return Stmt(stmt, db_);
}

namespace {

// BEGIN, COMMIT and ROLLBACK as cached statements: the engine commits once per turn, and
// parsing them each time showed in its profile.
Status run_cached(Db& db, const char* sql) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  return st->run();
}

}  // namespace

Transaction::Transaction(Db& db) : db_(db) {
  if (!db_.in_transaction()) {
    outermost_ = true;
    begin_ = run_cached(db_, "BEGIN IMMEDIATE");
  }
}

Transaction::~Transaction() {
  if (outermost_ && !done_ && begin_.ok()) (void)run_cached(db_, "ROLLBACK");
}

Status Transaction::commit() {
  done_ = true;
  if (!outermost_) return {};
  if (!begin_.ok()) return begin_;
  auto st = run_cached(db_, "COMMIT");
  if (!st.ok()) (void)run_cached(db_, "ROLLBACK");
  return st;
}

ReadSnapshot::ReadSnapshot(Db& db) : db_(db), begin_(run_cached(db_, "BEGIN")) {}

ReadSnapshot::~ReadSnapshot() {
  if (begin_.ok()) (void)run_cached(db_, "COMMIT");
}

}  // namespace jr::sql
