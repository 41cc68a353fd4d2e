#include "cli/run/task_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/state_files.h"

namespace jr {
namespace {

std::FILE* stream_file(int stream) { return stream == 0 ? stdout : stderr; }

}  // namespace

TaskOutput::TaskOutput(std::filesystem::path logs_dir, OutputOptions options,
                       std::function<std::string(std::int64_t)> arguments_at, std::vector<std::int64_t> order)
    : logs_dir_(std::move(logs_dir)), options_(options), arguments_at_(std::move(arguments_at)),
      order_(std::move(order)) {}

TaskOutput::~TaskOutput() {
  if (logs_fd_ >= 0) ::close(logs_fd_);
}

int TaskOutput::open_log(TaskId id, int stream) {
  if (logs_fd_ < 0) logs_fd_ = ::open(logs_dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (logs_fd_ < 0) return -1;
  char name[32];
  std::snprintf(name, sizeof name, "%lld%s", static_cast<long long>(id), state_files::kLogSuffix[stream]);
  return ::openat(logs_fd_, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

TaskOutput::Task& TaskOutput::task(TaskId id, std::int64_t index) {
  auto [it, added] = tasks_.try_emplace(id);
  if (added) {
    it->second.index = index;
    if (options_.tag) it->second.tag = arguments_at_(index) + '\t';
  }
  return it->second;
}

void TaskOutput::started(TaskId id, std::int64_t index, int attempt) {
  // A first attempt has no earlier output: offsets 0, nothing to remember unless followed.
  if (attempt <= 1 && !options_.line_buffer) return;
  bool known = tasks_.count(id) > 0;
  Task& t = task(id, index);
  // A later attempt appends to what earlier runs printed; a retry in this run does not move
  // where this run's output starts.
  if (known || attempt <= 1) return;
  for (int stream = 0; stream < 2; ++stream) {
    int fd = open_log(id, stream);
    if (fd < 0) continue;
    struct stat st {};
    if (::fstat(fd, &st) == 0) t.offset[stream] = st.st_size;
    ::close(fd);
  }
}

void TaskOutput::ended(TaskId id, std::int64_t index, TaskState to) {
  if (to == TaskState::Pending) {
    task(id, index);  // a retry: printed with its last attempt, from where this run started it
    return;
  }
  ended_.emplace_back(id, index);
}

void TaskOutput::flush() {
  for (auto [id, index] : ended_) {
    if (options_.keep_order) {
      held_.emplace(index, id);
    } else {
      print_ended(id, index);
    }
  }
  ended_.clear();
  if (options_.keep_order) advance();
  end_print();
}

void TaskOutput::print_ended(TaskId id, std::int64_t index) {
  auto it = tasks_.find(id);
  if (it != tasks_.end()) {
    print(id, it->second, true);
    tasks_.erase(it);
    return;
  }
  Task t;
  t.index = index;
  if (options_.tag) t.tag = arguments_at_(index) + '\t';
  print(id, t, true);
}

void TaskOutput::advance() {
  for (; next_ < order_.size(); ++next_) {
    auto held = held_.find(order_[next_]);
    if (held == held_.end()) break;
    print_ended(held->second, held->first);
    held_.erase(held);
  }
}

void TaskOutput::tick() {
  if (!options_.line_buffer) return;
  for (auto& [id, t] : tasks_) {
    if (options_.keep_order && (next_ >= order_.size() || t.index != order_[next_])) continue;
    print(id, t, false);
  }
  end_print();
}

void TaskOutput::finish() {
  flush();
  for (auto& [index, id] : held_) print_ended(id, index);
  held_.clear();
  end_print();
}

void TaskOutput::print(TaskId id, Task& t, bool all) {
  for (int stream = 0; stream < 2; ++stream) print_stream(id, t, stream, all);
}

void TaskOutput::print_stream(TaskId id, Task& t, int stream, bool all) {
  // Opened by name each time: a log that stayed empty loses its name when its task ends, and
  // its file becomes another task's (engine/task_logs.h); a missing file is empty output.
  int fd = open_log(id, stream);
  if (fd >= 0) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::pread(fd, buf, sizeof buf, t.offset[stream]);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      t.offset[stream] += n;
      if (!options_.line_buffer) {
        write(t, stream, buf, static_cast<std::size_t>(n));
        continue;
      }
      // Complete lines go out; the rest waits for its newline (or for the task's end).
      std::string& partial = t.partial[stream];
      const char* last = static_cast<const char*>(::memrchr(buf, '\n', static_cast<std::size_t>(n)));
      if (!last) {
        partial.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      std::size_t through = static_cast<std::size_t>(last - buf) + 1;
      if (!partial.empty()) {
        write(t, stream, partial.data(), partial.size());
        partial.clear();
      }
      write(t, stream, buf, through);
      partial.assign(buf + through, static_cast<std::size_t>(n) - through);
    }
    ::close(fd);
  }
  if (all && !t.partial[stream].empty()) {
    write(t, stream, t.partial[stream].data(), t.partial[stream].size());
    t.partial[stream].clear();
  }
}

void TaskOutput::write(Task& t, int stream, const char* data, std::size_t size) {
  std::FILE* out = stream_file(stream);
  if (std::ferror(out)) return;  // closed by its reader (`jr run … | head`): the run goes on
  begin_print();
  if (!options_.tag) {
    std::fwrite(data, 1, size, out);
    return;
  }
  const char* end = data + size;
  while (data < end) {
    if (t.line_start[stream]) std::fwrite(t.tag.data(), 1, t.tag.size(), out);
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', static_cast<std::size_t>(end - data)));
    const char* stop = nl ? nl + 1 : end;
    std::fwrite(data, 1, static_cast<std::size_t>(stop - data), out);
    t.line_start[stream] = nl != nullptr;
    data = stop;
  }
}

void TaskOutput::begin_print() {
  if (printing_) return;
  printing_ = true;
  if (before_print) before_print();
}

void TaskOutput::end_print() {
  if (!printing_) return;
  printing_ = false;
  std::fflush(stdout);
  std::fflush(stderr);
  if (after_print) after_print();
}

}  // namespace jr
