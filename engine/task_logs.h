// TaskLogs: each task's stdout and stderr files, DIR/logs/<task id>.out and .err, made without
// creating a new file per task.
//
// Why: creating a file is an inode allocation, which on ext4 costs more than starting a short
// task, and most short tasks write nothing. So jr keeps a pool of spare empty files per stream
// (DIR/logs/.spare/<n>.out|.err). Before a task starts, a spare is hard-linked under the
// task's log name, and the task opens that name as usual; the file is the task's from its
// first byte, under its own name, for every reader. When the task has ended:
//  - its log is still empty and no process holds it open for writing (a write lease proves
//    it; a process that escaped the task's process group would hold it): the task's name is
//    unlinked and the file goes back to the pool. So a task that wrote nothing has no log
//    file, and a missing log means empty output.
//  - otherwise the file keeps the task's name and leaves the pool.
// A task that already has a log (an earlier attempt wrote one) appends to it; no spare is used.
// Readers that hold a log open while its task runs must check, after reading, that the file
// still carries the task's name (see still_named() in cli/daemon/log_file.h): a name is removed
// before its file is linked under the next task's.
//
// Where hard links or write leases are missing (NFS has no leases; kernels before 5.3 refused a
// lease on a file with two names), found by a probe at first use, there are no spares: each
// task's open creates its logs, and a task that wrote nothing has empty files.
//
// Every step is safe to interrupt: the spares are only a cache, and the engine's first use
// unlinks whatever spares an earlier engine left (a file also linked under a task's name keeps
// that name and its data).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "storage/types.h"

namespace jr {

class TaskLogs {
 public:
  explicit TaskLogs(std::filesystem::path logs_dir);
  ~TaskLogs();
  TaskLogs(const TaskLogs&) = delete;
  TaskLogs& operator=(const TaskLogs&) = delete;

  std::filesystem::path stdout_path(TaskId task) const;
  std::filesystem::path stderr_path(TaskId task) const;

  // Before `task` starts: gives each of its log names a file when it has none, from the pool
  // where possible. Failing that, the task's own open creates the file, as without spares;
  // so this never fails. Again for the same task: nothing. The engine calls it ahead, for the
  // task that will start next, so that it costs nothing when that task's turn comes.
  void prepare(TaskId task);
  // After the task's processes are gone (reaped, group killed): takes back what prepare() lent.
  // Not urgent: the engine does it after starting the next tasks.
  void release(TaskId task);
  // The tasks holding lent files, running or prepared ahead.
  std::vector<TaskId> lent() const;

 private:
  struct Lent {
    TaskId task;
    int spare[2];  // index into fds_[stream] per stream; -1: none lent
  };
  std::string spare_name(int spare, int stream) const;  // in .spare/
  std::filesystem::path task_path(TaskId task, int stream) const;
  // A free spare of `stream` (made if none is free); -1 when none can be made.
  int take(int stream);
  void drop(int spare, int stream);
  void sweep();

  std::filesystem::path dir_;
  int logs_dir_fd_ = -1;   // dir_ and its .spare/, once swept (O_PATH)
  int spare_dir_fd_ = -1;
  std::vector<int> fds_[2];    // per stream: the spares' open descriptors (-1: dropped)
  std::vector<int> free_[2];   // per stream: indices of spares not lent
  std::vector<Lent> lent_;     // few: one per running task
  bool swept_ = false;
  bool usable_ = true;         // false once hard links failed here
};

}  // namespace jr
