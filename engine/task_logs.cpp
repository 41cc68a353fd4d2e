#include "engine/task_logs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "storage/state_dir.h"
#include "storage/state_files.h"

namespace jr {
TaskLogs::TaskLogs(std::filesystem::path logs_dir) : dir_(std::move(logs_dir)) {
  // While release() holds a lease, another process that opens the file makes the kernel send
  // the holder SIGIO, whose default action would end the engine. (Ignored before the first
  // spawn, so spawn_task resets it to default in every task.)
  ::signal(SIGIO, SIG_IGN);
}

TaskLogs::~TaskLogs() {
  // Names lent to tasks that never started (prepared ahead) go; a task that ran is done with
  // its own by now.
  while (!lent_.empty()) release(lent_.back().task);
  for (int stream = 0; stream < 2; ++stream) {
    for (std::size_t i = 0; i < fds_[stream].size(); ++i) {
      if (fds_[stream][i] < 0) continue;
      ::unlinkat(spare_dir_fd_, spare_name(static_cast<int>(i), stream).c_str(), 0);
      ::close(fds_[stream][i]);
    }
  }
  for (int fd : {logs_dir_fd_, spare_dir_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::filesystem::path TaskLogs::stdout_path(TaskId task) const { return task_path(task, 0); }
std::filesystem::path TaskLogs::stderr_path(TaskId task) const { return task_path(task, 1); }

std::filesystem::path TaskLogs::task_path(TaskId task, int stream) const {
  return dir_ / state_files::task_log_name(task, stream);
}

std::string TaskLogs::spare_name(int spare, int stream) const {
  return std::to_string(spare) + state_files::kLogSuffix[stream];
}

void TaskLogs::sweep() {
  swept_ = true;
  auto spare_dir = dir_ / state_files::kSpareLogs;
  // Its leftovers are unlinked below: through a link, that would be another directory's files.
  if (!make_private_dir(spare_dir)) {
    usable_ = false;  // no spares: every task's open creates its log
    return;
  }
  // Named from these, each step walks one path component, not the state directory's path.
  logs_dir_fd_ = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  spare_dir_fd_ = ::open(spare_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (logs_dir_fd_ < 0 || spare_dir_fd_ < 0) {
    usable_ = false;
    return;
  }
  std::error_code ec;
  std::vector<std::filesystem::path> leftovers;
  for (auto& entry : std::filesystem::directory_iterator(spare_dir, ec)) leftovers.push_back(entry.path());
  for (auto& p : leftovers) ::unlink(p.c_str());
  // Spares need hard links and write leases on a file with two names (NFS has no leases;
  // kernels before 5.3 refused a lease on a file with more than one name): try both once.
  auto probe = spare_dir / "probe", link = spare_dir / "probe-link";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  usable_ = fd >= 0 && ::link(probe.c_str(), link.c_str()) == 0 && ::fcntl(fd, F_SETLEASE, F_WRLCK) == 0;
  if (usable_) ::fcntl(fd, F_SETLEASE, F_UNLCK);
  if (fd >= 0) ::close(fd);
  ::unlink(link.c_str());
  ::unlink(probe.c_str());
}

int TaskLogs::take(int stream) {
  if (!free_[stream].empty()) {
    int spare = free_[stream].back();
    free_[stream].pop_back();
    return spare;
  }
  // A new spare takes the first dropped index, so the names stay few.
  auto& fds = fds_[stream];
  auto slot = std::find(fds.begin(), fds.end(), -1);
  int spare = static_cast<int>(slot - fds.begin());
  // A new file, never one found under the name: that could be a file some task's log still is.
  auto name = spare_name(spare, stream);
  constexpr int kNew = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  int fd = ::openat(spare_dir_fd_, name.c_str(), kNew, 0600);
  if (fd < 0 && errno == EEXIST && ::unlinkat(spare_dir_fd_, name.c_str(), 0) == 0) {
    fd = ::openat(spare_dir_fd_, name.c_str(), kNew, 0600);
  }
  if (fd < 0) return -1;
  if (slot == fds.end()) fds.push_back(fd);
  else *slot = fd;
  return spare;
}

void TaskLogs::drop(int spare, int stream) {
  ::unlinkat(spare_dir_fd_, spare_name(spare, stream).c_str(), 0);
  ::close(fds_[stream][static_cast<std::size_t>(spare)]);
  fds_[stream][static_cast<std::size_t>(spare)] = -1;
}

void TaskLogs::prepare(TaskId task) {
  if (!swept_) sweep();
  if (!usable_) return;
  if (std::any_of(lent_.begin(), lent_.end(), [task](const Lent& l) { return l.task == task; })) return;
  Lent lent{task, {-1, -1}};
  for (int stream = 0; stream < 2; ++stream) {
    int spare = take(stream);
    if (spare < 0) continue;
    auto name = state_files::task_log_name(task, stream);
    if (::linkat(spare_dir_fd_, spare_name(spare, stream).c_str(), logs_dir_fd_, name.c_str(), 0) == 0) {
      lent.spare[stream] = spare;
    } else if (errno == EEXIST) {
      free_[stream].push_back(spare);  // an earlier attempt's log: the task appends to it
    } else {
      // No hard links here (or something odd): stop using spares rather than fail each time.
      drop(spare, stream);
      usable_ = false;
    }
  }
  if (lent.spare[0] >= 0 || lent.spare[1] >= 0) lent_.push_back(lent);
}

std::vector<TaskId> TaskLogs::lent() const {
  std::vector<TaskId> out;
  for (auto& l : lent_) out.push_back(l.task);
  return out;
}

void TaskLogs::release(TaskId task) {
  auto it = std::find_if(lent_.begin(), lent_.end(), [task](const Lent& l) { return l.task == task; });
  if (it == lent_.end()) return;
  Lent lent = *it;
  lent_.erase(it);
  for (int stream = 0; stream < 2; ++stream) {
    int spare = lent.spare[stream];
    if (spare < 0) continue;
    int fd = fds_[stream][static_cast<std::size_t>(spare)];
    auto name = state_files::task_log_name(task, stream);
    // A write lease is granted only while no other open file description has the file open for
    // writing (no process of the task, however it escaped its group, can still write into it),
    // and while it is held any other open waits: what is checked under it holds until the
    // task's name is gone.
    bool reusable = false;
    if (::fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
      struct stat st {}, named {};
      reusable = ::fstat(fd, &st) == 0 && st.st_size == 0 &&
                 ::fstatat(logs_dir_fd_, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
                 named.st_ino == st.st_ino && named.st_dev == st.st_dev && ::unlinkat(logs_dir_fd_, name.c_str(), 0) == 0;
      ::fcntl(fd, F_SETLEASE, F_UNLCK);
    } else if (errno != EAGAIN) {
      usable_ = false;  // no leases here after all: from now on each task's open makes its log
    }
    if (reusable) {
      free_[stream].push_back(spare);
    } else {
      drop(spare, stream);
    }
  }
}

}  // namespace jr
