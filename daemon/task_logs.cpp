#include "daemon/task_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace jr {
namespace {

constexpr const char* kSuffix[2] = {".out", ".err"};

}  // namespace

TaskLogs::TaskLogs(std::filesystem::path logs_dir, int slots)
    : dir_(std::move(logs_dir)), spares_(static_cast<std::size_t>(slots < 1 ? 1 : slots) * 2) {}

TaskLogs::~TaskLogs() {
  for (std::size_t i = 0; i < spares_.size(); ++i) {
    if (spares_[i].fd < 0) continue;
    ::unlink(spare_path(static_cast<int>(i / 2) + 1, static_cast<int>(i % 2)).c_str());
    ::close(spares_[i].fd);
  }
}

std::filesystem::path TaskLogs::stdout_path(TaskId task) const { return task_path(task, 0); }
std::filesystem::path TaskLogs::stderr_path(TaskId task) const { return task_path(task, 1); }

std::filesystem::path TaskLogs::task_path(TaskId task, int stream) const {
  return dir_ / (std::to_string(task) + kSuffix[stream]);
}

std::filesystem::path TaskLogs::spare_path(int slot, int stream) const {
  return dir_ / ".spare" / (std::to_string(slot) + kSuffix[stream]);
}

void TaskLogs::sweep() {
  swept_ = true;
  auto spare_dir = dir_ / ".spare";
  if (::mkdir(spare_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    spares_.clear();  // no spares: every task's open creates its log
    return;
  }
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(spare_dir, ec)) {
    ::unlink(entry.path().c_str());
  }
}

void TaskLogs::prepare(int slot, TaskId task) {
  if (!swept_) sweep();
  if (static_cast<std::size_t>(slot) * 2 > spares_.size()) return;
  for (int stream = 0; stream < 2; ++stream) {
    Spare& s = spare(slot, stream);
    s.lent = false;
    auto path = spare_path(slot, stream);
    if (s.fd < 0) {
      s.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (s.fd < 0) continue;
    }
    if (::link(path.c_str(), task_path(task, stream).c_str()) == 0) {
      s.lent = true;
    } else if (errno != EEXIST) {
      // No hard links here (or something odd): stop using spares rather than fail each time.
      for (std::size_t i = 0; i < spares_.size(); ++i) {
        if (spares_[i].fd < 0 || spares_[i].lent) continue;
        ::unlink(spare_path(static_cast<int>(i / 2) + 1, static_cast<int>(i % 2)).c_str());
        ::close(spares_[i].fd);
      }
      spares_.clear();
      return;
    }
  }
}

void TaskLogs::release(int slot, TaskId task) {
  if (static_cast<std::size_t>(slot) * 2 > spares_.size()) return;
  for (int stream = 0; stream < 2; ++stream) {
    Spare& s = spare(slot, stream);
    if (!s.lent) continue;
    s.lent = false;
    struct stat st {};
    // A write lease is granted only while no other open file description has the file open for
    // writing: no process of the task, however it escaped its group, can still write into it.
    bool reusable = ::fstat(s.fd, &st) == 0 && st.st_size == 0 && ::fcntl(s.fd, F_SETLEASE, F_WRLCK) == 0;
    if (reusable) {
      ::fcntl(s.fd, F_SETLEASE, F_UNLCK);
      reusable = ::unlink(task_path(task, stream).c_str()) == 0;
    }
    if (!reusable) {
      ::unlink(spare_path(slot, stream).c_str());
      ::close(s.fd);
      s.fd = -1;
    }
  }
}

}  // namespace jr
