#include "engine/containment.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "base/duration.h"

namespace jr {
namespace {

constexpr std::int64_t kDrainTimeoutMs = 10'000;

// Where cgroup2 is mounted: field 5 of the /proc/self/mountinfo line whose type (after " - ")
// is cgroup2. On a hybrid machine that is /sys/fs/cgroup/unified, on a unified one /sys/fs/cgroup.
std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, devno, root, mount;
    fields >> id >> parent >> devno >> root >> mount;
    if (root == "/") return mount;
  }
  return {};
}

bool write_text(const std::string& path, const char* text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  bool ok = ::write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
  ::close(fd);
  return ok;
}

// Reads the cgroup file open as `fd` afresh (a pread at 0 makes the kernel write it anew) and
// sets each of `fields` whose key it has ("key value" lines: cpu.stat, cgroup.events); how many
// it set.
int read_keyed(int fd, std::initializer_list<std::pair<std::string_view, std::int64_t*>> fields) {
  char text[512];
  ssize_t n = fd < 0 ? -1 : ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return 0;
  text[n] = '\0';
  int seen = 0;
  for (const char* line = text; *line != '\0';) {
    const char* space = std::strchr(line, ' ');
    const char* end = std::strchr(line, '\n');
    if (space == nullptr || end == nullptr || space > end) break;
    std::string_view key(line, static_cast<std::size_t>(space - line));
    for (auto& [name, into] : fields) {
      if (key == name && std::from_chars(space + 1, end, *into).ec == std::errc()) ++seen;
    }
    line = end + 1;
  }
  return seen;
}

// Whether the group at `path` still holds a process, in it or below (cgroup.events "populated 1").
bool populated(const std::string& path) {
  int fd = ::open((path + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
  bool is = group_populated(fd);
  if (fd >= 0) ::close(fd);
  return is;
}

// Waits until the group at `path` holds no process: cgroup.events signals POLLPRI on change.
bool wait_unpopulated(const std::string& path, std::int64_t timeout_ms) {
  std::int64_t until = monotonic_ms() + timeout_ms;
  int fd = ::open((path + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
  bool done = false;
  for (;;) {
    // Its read re-arms the poll below: a change after it wakes the poll.
    if (!group_populated(fd)) { done = true; break; }
    std::int64_t left = until - monotonic_ms();
    if (left <= 0) break;
    pollfd p{fd, POLLPRI, 0};
    ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, 100)));
  }
  if (fd >= 0) ::close(fd);
  return done;
}

// Removes `path` and every group below it, deepest first; groups still populated stay.
void remove_tree(const std::string& path) {
  if (DIR* d = ::opendir(path.c_str())) {
    std::vector<std::string> children;
    while (auto* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        children.push_back(path + "/" + e->d_name);
      }
    }
    ::closedir(d);
    for (auto& c : children) remove_tree(c);
  }
  ::rmdir(path.c_str());
}

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

// Makes the group at `path` and returns an O_PATH descriptor of it for CLONE_INTO_CGROUP;
// -1 with errno set when it cannot be made.
int make_group(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) return -1;
  return ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

// A file of the group `group_fd` (from make_group), open for reading; -1 when it cannot be.
int open_group_file(int group_fd, const char* name) {
  return group_fd < 0 ? -1 : ::openat(group_fd, name, O_RDONLY | O_CLOEXEC);
}

// The engine pid a group name "jr-<state id>-<pid>" ends with; 0 for any other name.
pid_t engine_pid_of(const char* name) {
  if (std::strncmp(name, "jr-", 3) != 0) return 0;
  const char* dash = std::strrchr(name, '-');
  if (dash == name + 2 || dash[1] == '\0') return 0;
  char* end = nullptr;
  long pid = std::strtol(dash + 1, &end, 10);
  return *end == '\0' && pid > 0 && pid <= INT32_MAX ? static_cast<pid_t>(pid) : 0;
}

// Removes the empty groups that engines killed with kill -9 left in `base`: a group whose
// engine is gone and that holds no process (a populated one still holds an orphaned task,
// which only its own store's recovery may kill). Without this, every engine that is killed and
// never resumed leaves a group behind for as long as the machine runs.
void remove_abandoned_groups(const std::string& base) {
  DIR* d = ::opendir(base.c_str());
  if (!d) return;
  std::vector<std::string> abandoned;
  while (auto* e = ::readdir(d)) {
    pid_t pid = engine_pid_of(e->d_name);
    if (e->d_type != DT_DIR || pid == 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::string path = base + "/" + e->d_name;
    if (!populated(path)) abandoned.push_back(std::move(path));
  }
  ::closedir(d);
  for (auto& path : abandoned) remove_tree(path);
}

}  // namespace

std::string own_cgroup() {
  std::string mount = cgroup2_mount();
  if (mount.empty()) return {};
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0) continue;
    std::string rel = line.substr(3);
    if (rel.empty() || rel[0] != '/' || rel.find("/..") != std::string::npos) return {};
    return rel == "/" ? mount : mount + rel;
  }
  return {};
}

bool is_jr_group(const std::string& path, const std::string& name_prefix) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || path.compare(slash + 1, name_prefix.size(), name_prefix) != 0) return false;
  std::string mount = cgroup2_mount();
  if (mount.empty() || path.compare(0, mount.size() + 1, mount + "/") != 0 || path.find("/..") != std::string::npos) {
    return false;
  }
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         ::access((path + "/cgroup.kill").c_str(), W_OK) == 0;
}

Status kill_group_tree(const std::string& path, std::int64_t timeout_ms) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  // cgroup.kill kills the group and every group below it, and any process forked meanwhile.
  if (!write_text(path + "/cgroup.kill", "1") && errno != ENOENT) {
    return make_error(ErrorCode::Io, "cannot kill the processes of " + path + ": " + std::strerror(errno));
  }
  if (!wait_unpopulated(path, timeout_ms)) {
    return make_error(ErrorCode::Unavailable, "processes of " + path + " survived SIGKILL for " +
                                                  std::to_string(timeout_ms / 1000) + " s");
  }
  remove_tree(path);
  return {};
}

Result<Containment> Containment::open(const std::string& name, int slots) {
  const char* forced = std::getenv("JR_CONTAINMENT");
  std::string want = forced ? forced : "";
  if (!want.empty() && want != "cgroup" && want != "subreaper") {
    return make_error(ErrorCode::Usage, "JR_CONTAINMENT must be cgroup or subreaper, not '" + want + "'");
  }
  become_subreaper();
  Containment c;
  if (want == "subreaper") {
    c.fallback_reason_ = "JR_CONTAINMENT=subreaper";
    return c;
  }
  std::string base = own_cgroup();
  if (!base.empty()) remove_abandoned_groups(base);
  std::string why;
  if (base.empty()) {
    why = "no cgroup2 mount";
  } else if (::mkdir((base + "/" + name).c_str(), 0755) != 0) {
    why = "cannot create a group in " + base + ": " + std::strerror(errno);
  } else {
    c.group_ = base + "/" + name;
    c.kind_ = Kind::Cgroup;
    if (::access((c.group_ + "/cgroup.kill").c_str(), W_OK) != 0) why = "this kernel has no cgroup.kill (Linux 5.14 or later)";
    for (int s = 1; s <= slots && why.empty(); ++s) {
      Slot slot;
      slot.path = c.group_ + "/slot-" + std::to_string(s);
      slot.fd = make_group(slot.path);
      slot.open_files();
      if (slot.fd < 0) why = "cannot create " + slot.path + ": " + std::strerror(errno);
      else c.slots_.push_back(std::move(slot));
    }
    if (!why.empty()) {
      c.close_slots();
      remove_tree(c.group_);
      c.group_.clear();
      c.kind_ = Kind::Subreaper;
    }
  }
  if (c.kind_ == Kind::Subreaper && want == "cgroup") {
    return make_error(ErrorCode::Unavailable, "JR_CONTAINMENT=cgroup, but " + why);
  }
  c.fallback_reason_ = why;
  return c;
}

Containment::Containment(Containment&& o) noexcept
    : kind_(o.kind_),
      group_(std::move(o.group_)),
      fallback_reason_(std::move(o.fallback_reason_)),
      slots_(std::move(o.slots_)),
      retired_(std::move(o.retired_)),
      spared_(o.spared_) {
  o.group_.clear();
  o.slots_.clear();
}

Containment& Containment::operator=(Containment&& o) noexcept {
  std::swap(kind_, o.kind_);
  std::swap(group_, o.group_);
  std::swap(fallback_reason_, o.fallback_reason_);
  std::swap(slots_, o.slots_);
  std::swap(retired_, o.retired_);
  std::swap(spared_, o.spared_);
  return *this;
}

Containment::~Containment() {
  close_slots();
  // Every task has ended and been killed by now; what remains is processes still dying.
  if (!group_.empty() && !spared_) (void)kill_group_tree(group_, kDrainTimeoutMs);
  // Killed descendants that came to the engine as a subreaper: reaped here, rather than left
  // as zombies to an init that may not reap them (a container's).
  siginfo_t info{};
  while (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0) info = {};
}

void Containment::Slot::open_files() {
  cpu_stat = open_group_file(fd, "cpu.stat");
  events = open_group_file(fd, "cgroup.events");
}

void Containment::Slot::close_files() {
  for (int* f : {&cpu_stat, &events}) {
    if (*f >= 0) ::close(*f);
    *f = -1;
  }
}

void Containment::close_slots() {
  for (auto& slot : slots_) {
    if (slot.fd >= 0) ::close(slot.fd);
    slot.fd = -1;
    slot.close_files();
  }
}

std::string Containment::describe() const { return kind_ == Kind::Cgroup ? "cgroup " + group_ : "subreaper"; }

int Containment::slot_group_fd(int slot) {
  if (slot < 1 || static_cast<std::size_t>(slot) > slots_.size()) return -1;
  Slot& s = slots_[static_cast<std::size_t>(slot - 1)];
  if (!s.killed) return s.fd;
  // Removed now if its processes are gone; else at a later renewal, or with the whole group.
  retired_.push_back(s.path);
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(), [](const std::string& p) { return ::rmdir(p.c_str()) == 0; }),
                 retired_.end());
  ::close(s.fd);
  s.close_files();
  s.killed = false;
  s.path = group_ + "/slot-" + std::to_string(slot) + "." + std::to_string(++s.generation);
  s.fd = make_group(s.path);
  s.open_files();
  return s.fd;
}

std::optional<Containment::CpuTime> Containment::slot_cpu(int slot) const {
  if (slot < 1 || static_cast<std::size_t>(slot) > slots_.size()) return std::nullopt;
  // Read twice per task: one pread of a descriptor kept open, not an open, reads and a close.
  CpuTime t;
  int fd = slots_[static_cast<std::size_t>(slot - 1)].cpu_stat;
  if (read_keyed(fd, {{"user_usec", &t.user_us}, {"system_usec", &t.system_us}}) != 2) return std::nullopt;
  return t;
}

void Containment::end_slot(int slot) {
  if (slot < 1 || static_cast<std::size_t>(slot) > slots_.size()) return;
  // Most tasks leave nothing behind: no kill, and the group stays usable.
  if (group_populated(slots_[static_cast<std::size_t>(slot - 1)].events)) kill_slot(slot);
}

void Containment::slot_was_killed(int slot) {
  if (slot < 1 || static_cast<std::size_t>(slot) > slots_.size()) return;
  slots_[static_cast<std::size_t>(slot - 1)].killed = true;
}

std::string Containment::slot_group(int slot) {
  if (slot_group_fd(slot) < 0) return {};
  return slots_[static_cast<std::size_t>(slot - 1)].path;
}

bool group_populated(int events_fd) {
  std::int64_t is = 0;
  return read_keyed(events_fd, {{"populated", &is}}) == 1 && is == 1;
}

bool kill_group_if_populated(const std::string& path) {
  if (!populated(path)) return false;
  kill_group_now(path);
  return true;
}

bool kill_group_if_populated(const std::string& path, int events_fd) {
  if (!group_populated(events_fd)) return false;
  kill_group_now(path);
  return true;
}

void kill_group_now(const std::string& path) { write_text(path + "/cgroup.kill", "1"); }

void Containment::kill_slot(int slot) {
  if (slot < 1 || static_cast<std::size_t>(slot) > slots_.size()) return;
  Slot& s = slots_[static_cast<std::size_t>(slot - 1)];
  write_text(s.path + "/cgroup.kill", "1");
  s.killed = true;
}

void kill_orphans(const std::vector<pid_t>& known) {
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return;
  std::vector<pid_t> children;
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
    pid_t pid;
    while (in >> pid) children.push_back(pid);
  }
  ::closedir(d);
  for (pid_t pid : children) {
    if (std::find(known.begin(), known.end(), pid) != known.end()) continue;
    // Our own child, not yet reaped: its pid, and a process group it leads, are not reused.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

}  // namespace jr
