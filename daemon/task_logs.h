// TaskLogs: each task's stdout and stderr files, DIR/logs/<task id>.out and .err, made without
// creating a new file per task.
//
// Why: creating a file is an inode allocation, which on ext4 costs more than starting a short
// task, and most short tasks write nothing. So each worker slot keeps a spare empty file per
// stream (DIR/logs/.spare/<slot>.out|.err). Before a task starts, the spare is hard-linked
// under the task's log name, and the task opens that name as usual; the file is the task's
// from its first byte, under its own name, for every reader. When the task has ended:
//  - its log is still empty and no process holds it open for writing (a write lease proves
//    it; a process that escaped the task's process group would hold it): the task's name is
//    unlinked and the file stays the slot's spare for the next task. So a task that wrote
//    nothing has no log file, and a missing log means empty output.
//  - otherwise the file keeps the task's name, and the slot makes a new spare when it next
//    needs one.
// A task that already has a log (an earlier attempt wrote one) appends to it; no spare is used.
// Readers that hold a log open while its task runs must check, after reading, that the file
// still carries the task's name (see still_named() in client/log_names.h): a name is removed
// before its file is linked under the next task's.
//
// Every step is safe to interrupt: the spares are only a cache, and the engine's first use
// unlinks whatever spares an earlier engine left (a file also linked under a task's name keeps
// that name and its data).
#pragma once

#include <filesystem>
#include <vector>

#include "storage/types.h"

namespace jr {

class TaskLogs {
 public:
  TaskLogs(std::filesystem::path logs_dir, int slots);
  ~TaskLogs();
  TaskLogs(const TaskLogs&) = delete;
  TaskLogs& operator=(const TaskLogs&) = delete;

  std::filesystem::path stdout_path(TaskId task) const;
  std::filesystem::path stderr_path(TaskId task) const;

  // Before task `task` starts in `slot` (1-based): gives each of its log names a file when it
  // has none, from the slot's spares where possible. Failing that, the task's own open creates
  // the file, as without spares; so this never fails.
  void prepare(int slot, TaskId task);
  // After the task's processes are gone (reaped, group killed): takes back what prepare() lent.
  void release(int slot, TaskId task);

 private:
  struct Spare {
    int fd = -1;         // open for writing; -1: none yet
    bool lent = false;   // linked under the running task's name
  };
  Spare& spare(int slot, int stream) { return spares_[static_cast<std::size_t>(slot - 1) * 2 + stream]; }
  std::filesystem::path spare_path(int slot, int stream) const;
  std::filesystem::path task_path(TaskId task, int stream) const;
  void sweep();

  std::filesystem::path dir_;
  std::vector<Spare> spares_;
  bool swept_ = false;
};

}  // namespace jr
