#include "daemon/task_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace jr {
namespace {

constexpr const char* kSuffix[2] = {".out", ".err"};

}  // namespace

TaskLogs::TaskLogs(std::filesystem::path logs_dir) : dir_(std::move(logs_dir)) {}

TaskLogs::~TaskLogs() {
  for (int stream = 0; stream < 2; ++stream) {
    for (std::size_t i = 0; i < fds_[stream].size(); ++i) {
      if (fds_[stream][i] < 0) continue;
      ::unlink(spare_path(static_cast<int>(i), stream).c_str());
      ::close(fds_[stream][i]);
    }
  }
}

std::filesystem::path TaskLogs::stdout_path(TaskId task) const { return task_path(task, 0); }
std::filesystem::path TaskLogs::stderr_path(TaskId task) const { return task_path(task, 1); }

std::filesystem::path TaskLogs::task_path(TaskId task, int stream) const {
  return dir_ / (std::to_string(task) + kSuffix[stream]);
}

std::filesystem::path TaskLogs::spare_path(int spare, int stream) const {
  return dir_ / ".spare" / (std::to_string(spare) + kSuffix[stream]);
}

void TaskLogs::sweep() {
  swept_ = true;
  auto spare_dir = dir_ / ".spare";
  if (::mkdir(spare_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    usable_ = false;  // no spares: every task's open creates its log
    return;
  }
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(spare_dir, ec)) ::unlink(entry.path().c_str());
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
  int fd = ::open(spare_path(spare, stream).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (slot == fds.end()) fds.push_back(fd);
  else *slot = fd;
  return spare;
}

void TaskLogs::drop(int spare, int stream) {
  ::unlink(spare_path(spare, stream).c_str());
  ::close(fds_[stream][static_cast<std::size_t>(spare)]);
  fds_[stream][static_cast<std::size_t>(spare)] = -1;
}

void TaskLogs::prepare(TaskId task) {
  if (!swept_) sweep();
  if (!usable_) return;
  Lent lent{task, {-1, -1}};
  for (int stream = 0; stream < 2; ++stream) {
    int spare = take(stream);
    if (spare < 0) continue;
    if (::link(spare_path(spare, stream).c_str(), task_path(task, stream).c_str()) == 0) {
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

void TaskLogs::release(TaskId task) {
  auto it = std::find_if(lent_.begin(), lent_.end(), [task](const Lent& l) { return l.task == task; });
  if (it == lent_.end()) return;
  Lent lent = *it;
  lent_.erase(it);
  for (int stream = 0; stream < 2; ++stream) {
    int spare = lent.spare[stream];
    if (spare < 0) continue;
    int fd = fds_[stream][static_cast<std::size_t>(spare)];
    struct stat st {};
    // A write lease is granted only while no other open file description has the file open for
    // writing: no process of the task, however it escaped its group, can still write into it.
    bool reusable = ::fstat(fd, &st) == 0 && st.st_size == 0 && ::fcntl(fd, F_SETLEASE, F_WRLCK) == 0;
    if (reusable) {
      ::fcntl(fd, F_SETLEASE, F_UNLCK);
      reusable = ::unlink(task_path(task, stream).c_str()) == 0;
    }
    if (reusable) {
      free_[stream].push_back(spare);
    } else {
      drop(spare, stream);
    }
  }
}

}  // namespace jr
