#include "storage/checkpoint_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

namespace jr {
namespace fs = std::filesystem;
namespace {

// A descriptor, closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

const char* kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

Error refused(const fs::path& shown, mode_t mode) {
  return make_error(ErrorCode::Usage, shown.string() + " is " + kind_of(mode) + "; jr saves regular files only");
}

Error cannot_read(const fs::path& shown, int err) {
  return make_error(err == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                    "cannot read " + shown.string() + ": " + std::strerror(err));
}

// Opens the directory `name` of `at` without following a link; on failure, the error a reader
// gets (refused: not a directory, or a link; else the system's reason).
Result<Fd> open_dir_to_read(int at, const std::string& name, const fs::path& shown) {
  Fd fd(::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd) return fd;
  int err = errno;
  struct stat st {};
  if (::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) return refused(shown, st.st_mode);
  return cannot_read(shown, err);
}

// `size` bytes from the start of `fd`, fewer if the file has shrunk since its fstat.
Result<std::string> read_up_to(int fd, std::size_t size, const fs::path& shown) {
  std::string out(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, out.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot_read(shown, errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

// Opens the regular file `name` of `at` for reading: looked at before it is opened, so that a
// device is never opened; then opened without blocking (a FIFO put in its place meanwhile)
// and without following a link, and looked at again.
Result<Fd> open_regular(int at, const std::string& name, const fs::path& shown, struct stat* st) {
  if (::fstatat(at, name.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) return cannot_read(shown, errno);
  if (!S_ISREG(st->st_mode)) return refused(shown, st->st_mode);
  Fd fd(::openat(at, name.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return errno == ELOOP ? refused(shown, S_IFLNK) : cannot_read(shown, errno);
  if (::fstat(fd.get(), st) != 0) return cannot_read(shown, errno);
  if (!S_ISREG(st->st_mode)) return refused(shown, st->st_mode);
  return fd;
}

// Collects a checkpoint's files, their sizes added up against the limit before each is read.
class Collector {
 public:
  explicit Collector(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // The entry `name` of `at`: a regular file is read, a directory walked, anything else refused.
  Status add(int at, const std::string& name, const fs::path& shown, const std::string& stored) {
    struct stat st {};
    if (::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return cannot_read(shown, errno);
    if (S_ISDIR(st.st_mode)) {
      auto dir = open_dir_to_read(at, name, shown);
      if (!dir) return dir.error();
      return walk(dir->get(), shown, stored);
    }
    auto fd = open_regular(at, name, shown, &st);
    if (!fd) return fd.error();
    total_ += static_cast<std::uint64_t>(st.st_size);
    if (total_ > max_bytes_) {
      return make_error(ErrorCode::Usage, "checkpoint exceeds --max-checkpoint (" + std::to_string(total_) +
                                              "+ bytes, limit " + std::to_string(max_bytes_) + ")");
    }
    auto bytes = read_up_to(fd->get(), static_cast<std::size_t>(st.st_size), shown);
    if (!bytes) return bytes.error();
    files_.push_back({stored, static_cast<std::uint32_t>(st.st_mode & 0777), std::move(*bytes)});
    return {};
  }

  // Every entry of the open directory `dir`, in name order.
  Status walk(int dir, const fs::path& shown, const std::string& stored) {
    std::vector<std::string> names;
    DIR* listing = ::fdopendir(::dup(dir));
    if (!listing) return cannot_read(shown, errno);
    while (auto* e = ::readdir(listing)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    }
    ::closedir(listing);
    std::sort(names.begin(), names.end());
    for (auto& name : names) JR_TRY(add(dir, name, shown / name, stored.empty() ? name : stored + "/" + name));
    return {};
  }

  std::vector<CheckpointFile> take() { return std::move(files_); }

 private:
  std::uint64_t max_bytes_;
  std::uint64_t total_ = 0;
  std::vector<CheckpointFile> files_;
};

// The components of a relative path, "." and empty ones left out; nothing when it is
// absolute, holds "..", or names no file.
std::optional<std::vector<std::string>> components(const std::string& path) {
  if (path.empty() || path.front() == '/') return std::nullopt;
  std::vector<std::string> parts;
  for (std::size_t at = 0; at <= path.size();) {
    std::size_t slash = std::min(path.find('/', at), path.size());
    std::string part = path.substr(at, slash - at);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    at = slash + 1;
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

// `name` as given to `jr checkpoint save`, relative to `dir`: nothing when it is outside.
std::optional<std::string> relative_inside(const fs::path& dir, const std::string& name) {
  fs::path p = fs::path(name).is_absolute() ? fs::path(name) : dir / name;
  auto rel = p.lexically_normal().lexically_relative(dir.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel.string();
}

Error cannot_write(const fs::path& shown, const std::string& why) {
  return make_error(ErrorCode::Io, "cannot write " + shown.string() + ": " + why);
}

// Writes one file of an archive, `parts` naming it below the directory `root` (shown as `dir`).
Status write_one(int root, const fs::path& dir, const std::vector<std::string>& parts, const CheckpointFile& f) {
  fs::path shown = dir;
  for (auto& p : parts) shown /= p;
  Fd held;
  int at = root;
  fs::path where = dir;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& name = parts[i];
    where /= name;
    if (::mkdirat(at, name.c_str(), 0700) != 0 && errno != EEXIST) return cannot_write(shown, std::strerror(errno));
    Fd next(::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      int err = errno;
      struct stat st {};
      if (::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return cannot_write(shown, where.string() + " is a symbolic link, which jr does not follow");
      }
      return cannot_write(shown, where.string() + ": " + std::strerror(err));
    }
    held = std::move(next);
    at = held.get();
  }
  // A new file under a temporary name, renamed over the old: whatever was at the name (a link
  // included) is replaced, never written through.
  const std::string& name = parts.back();
  std::string temp = name + ".jr-tmp";
  ::unlinkat(at, temp.c_str(), 0);
  mode_t mode = f.mode & 0777;  // no setuid, setgid or sticky bit, whatever the archive says
  Fd out(::openat(at, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode ? mode : 0600));
  if (!out) return cannot_write(shown, std::strerror(errno));
  for (std::size_t put = 0; put < f.bytes.size();) {
    ssize_t n = ::write(out.get(), f.bytes.data() + put, f.bytes.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = n < 0 ? std::strerror(errno) : "short write";
      ::unlinkat(at, temp.c_str(), 0);
      return cannot_write(shown, why);
    }
    put += static_cast<std::size_t>(n);
  }
  if (::renameat(at, temp.c_str(), at, name.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlinkat(at, temp.c_str(), 0);
    return cannot_write(shown, why);
  }
  return {};
}

}  // namespace

Result<std::vector<CheckpointFile>> read_checkpoint_files(const fs::path& dir, const std::vector<std::string>& files,
                                                          std::uint64_t max_bytes) {
  auto root = open_dir_to_read(AT_FDCWD, dir.string(), dir);
  if (!root) return root.error();
  Collector collector(max_bytes);
  if (files.empty()) JR_TRY(collector.walk(root->get(), dir, ""));
  for (auto& f : files) {
    auto rel = relative_inside(dir, f);
    if (!rel) return make_error(ErrorCode::Usage, f + " is not inside the checkpoint directory " + dir.string());
    auto parts = components(*rel);
    if (!parts) {  // the directory itself
      JR_TRY(collector.walk(root->get(), dir, ""));
      continue;
    }
    Fd held;
    int at = root->get();
    fs::path shown = dir;
    std::string stored;
    for (std::size_t i = 0; i + 1 < parts->size(); ++i) {
      shown /= (*parts)[i];
      stored += (*parts)[i] + "/";
      auto next = open_dir_to_read(at, (*parts)[i], shown);
      if (!next) return next.error();
      held = std::move(*next);
      at = held.get();
    }
    JR_TRY(collector.add(at, parts->back(), shown / parts->back(), stored + parts->back()));
  }
  return collector.take();
}

Result<std::string> read_task_file(const fs::path& path, std::uint64_t max_bytes, const std::string& limit_flag) {
  struct stat st {};
  auto fd = open_regular(AT_FDCWD, path.string(), path, &st);
  if (!fd) return fd.error();
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    return make_error(ErrorCode::Usage, path.string() + " exceeds " + limit_flag + " (" + std::to_string(size) +
                                            " bytes, limit " + std::to_string(max_bytes) + ")");
  }
  return read_up_to(fd->get(), static_cast<std::size_t>(size), path);
}

Status write_checkpoint_files(const fs::path& dir, const std::vector<CheckpointFile>& files) {
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return make_error(ErrorCode::Io, "cannot write to " + dir.string() + ": " + std::strerror(errno));
  for (auto& f : files) {
    auto parts = components(f.path);
    if (!parts) return make_error(ErrorCode::Corrupt, "checkpoint names a file outside its directory: " + f.path);
    JR_TRY(write_one(root.get(), dir, *parts, f));
  }
  return {};
}

}  // namespace jr
