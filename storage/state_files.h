// Every name jr gives a file or directory in a state directory, in this one place, as
// LevelDB's db/filename.h does: the store, its lock, the progress board, the task logs and
// their spares, the checkpoint work directories, the engine's sockets.
//
//   DIR/jr.db (+ -wal, -shm)  the store; built as jr.db.new and renamed into place
//   DIR/lock                  the engine lock (storage/engine_lock.h)
//   DIR/board                 the progress board; built as board.tmp
//   DIR/logs/<task>.out|.err  a task's stdout and stderr; logs/.spare/<n>.out|.err the spares
//   DIR/work/<slot>           a worker slot's JR_CHECKPOINT_DIR
//   DIR/sock                  the engine's socket, or /tmp/jr-<uid>/<state id>.sock when that
//                             path is too long for a socket address
//   DIR/jrd.sock              jrd's public socket when XDG_RUNTIME_DIR is not set
//   DIR/keeper.sock           the keeper's socket, while it lives (engine/keeper.h)
//   DIR/keeper.journal        the exits the keeper saw, until the store has them
//   DIR/py/                   the Python package's own files (python/jr)
// Pure names: nothing here touches the file system.
#pragma once

#include <filesystem>
#include <string>

#include "storage/types.h"

namespace jr::state_files {

inline constexpr const char* kStore = "jr.db";
inline constexpr const char* kStoreWal = "jr.db-wal";
inline constexpr const char* kStoreShm = "jr.db-shm";
inline constexpr const char* kLock = "lock";
inline constexpr const char* kBoard = "board";
inline constexpr const char* kLogs = "logs";
inline constexpr const char* kSpareLogs = ".spare";  // below logs/
inline constexpr const char* kWork = "work";
inline constexpr const char* kSocket = "sock";
inline constexpr const char* kJrdSocket = "jrd.sock";
inline constexpr const char* kKeeperSocket = "keeper.sock";
inline constexpr const char* kKeeperJournal = "keeper.journal";
// What `jr run` and the commands that read its state use when given no --state.
inline constexpr const char* kRunStateDir = ".jr";

// The suffixes SQLite gives the files beside a store, and the one a new store is built under.
inline constexpr const char* kWalSuffix = "-wal";
inline constexpr const char* kShmSuffix = "-shm";
inline constexpr const char* kJournalSuffix = "-journal";
inline constexpr const char* kNewStoreSuffix = ".new";

// A task's log streams: 0 its stdout, 1 its stderr.
inline constexpr const char* kLogSuffix[2] = {".out", ".err"};

std::filesystem::path store(const std::filesystem::path& dir);
std::filesystem::path lock(const std::filesystem::path& dir);
std::filesystem::path board(const std::filesystem::path& dir);
std::filesystem::path logs(const std::filesystem::path& dir);
std::filesystem::path work(const std::filesystem::path& dir);
// The engine's socket: DIR/sock, else the fallback below when that path is too long.
std::filesystem::path socket(const std::filesystem::path& dir, const std::string& state_id);
// The shared directory of the fallback sockets, /tmp/jr-<uid>.
std::filesystem::path fallback_socket_dir();

// "<task>.out" or "<task>.err": a task's log, in logs/.
std::string task_log_name(TaskId task, int stream);
std::filesystem::path task_log(const std::filesystem::path& dir, TaskId task, int stream);
inline std::filesystem::path task_stdout(const std::filesystem::path& dir, TaskId task) { return task_log(dir, task, 0); }
inline std::filesystem::path task_stderr(const std::filesystem::path& dir, TaskId task) { return task_log(dir, task, 1); }

}  // namespace jr::state_files
