#include "storage/state_dir.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include "storage/state_files.h"

namespace jr {
namespace fs = std::filesystem;
namespace {

enum class Kind { File, Directory };

struct Entry {
  const char* name;
  Kind kind;
};

// Everything an engine opens by name directly in DIR. Names it creates afresh each time
// (jr.db.new, board.tmp, sock) are unlinked first and created exclusively, so whatever was
// there cannot matter.
constexpr Entry kEntries[] = {
    {state_files::kStore, Kind::File},    {state_files::kStoreWal, Kind::File}, {state_files::kStoreShm, Kind::File},
    {state_files::kLock, Kind::File},     {state_files::kBoard, Kind::File},    {state_files::kLogs, Kind::Directory},
    {state_files::kWork, Kind::Directory},
};

constexpr const char* kLinkRefused = " is a symbolic link, which jr does not follow in a state directory; remove it";

std::string user_name(uid_t uid) {
  auto* pw = ::getpwuid(uid);
  return pw ? pw->pw_name : "uid " + std::to_string(uid);
}

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// What is wrong with `path`, as (l)stat found it; empty when nothing is. `subject` names it in
// the message ("it" for DIR itself).
std::string fault(const fs::path& path, const struct stat& st, Kind kind, const std::string& subject) {
  if (S_ISLNK(st.st_mode)) return subject + kLinkRefused;
  if (kind == Kind::Directory && !S_ISDIR(st.st_mode)) return subject + " is not a directory; remove it";
  if (kind == Kind::File && !S_ISREG(st.st_mode)) return subject + " is not a regular file; remove it";
  if (st.st_uid != ::geteuid()) {
    return subject + " is owned by " + user_name(st.st_uid) + " (uid " + std::to_string(st.st_uid) + "), not by you (" +
           user_name(::geteuid()) + "); use a state directory of your own";
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return subject + " is writable by group or others (mode " + octal(st.st_mode) + "); run chmod go-w " + path.string();
  }
  return {};
}

}  // namespace

Status prepare_state_dir(const fs::path& dir) {
  std::error_code ec;
  bool made = fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create state directory " + dir.string() + ": " + ec.message());
  auto refuse = [&dir](const std::string& why) {
    return make_error(ErrorCode::Conflict, "refusing state directory " + dir.string() + ": " + why);
  };
  auto make_private = [&dir]() -> Status {
    if (::chmod(dir.c_str(), 0700) == 0) return {};
    return make_error(ErrorCode::Io, "cannot make state directory " + dir.string() + " private (chmod 0700): " +
                                         std::strerror(errno));
  };
  // One made just now has the umask's mode until then.
  if (made) JR_TRY(make_private());
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return make_error(ErrorCode::Io, "cannot use state directory " + dir.string() + ": " + std::strerror(errno));
  }
  // An existing one is checked before any chmod: root may chmod anyone's directory, and must
  // not make another user's look like its own.
  if (auto why = fault(dir, st, Kind::Directory, "it"); !why.empty()) return refuse(why);
  if ((st.st_mode & 077) != 0) JR_TRY(make_private());
  for (const Entry& e : kEntries) {
    auto path = dir / e.name;
    struct stat found {};
    if (::lstat(path.c_str(), &found) != 0) {
      if (errno == ENOENT) continue;
      return make_error(ErrorCode::Io, "cannot use " + path.string() + ": " + std::strerror(errno));
    }
    if (auto why = fault(path, found, e.kind, path.string()); !why.empty()) return refuse(why);
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return make_error(ErrorCode::Io, "cannot write to state directory " + dir.string() + ": " + std::strerror(errno));
  }
  return {};
}

Status make_private_dir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    // The umask may have taken the owner's own bits.
    if (::chmod(path.c_str(), 0700) != 0) {
      return make_error(ErrorCode::Io, "cannot make " + path.string() + " private (chmod 0700): " + std::strerror(errno));
    }
    return {};
  }
  if (errno != EEXIST) return make_error(ErrorCode::Io, "cannot create " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return make_error(ErrorCode::Io, "cannot use " + path.string() + ": " + std::strerror(errno));
  }
  if (auto why = fault(path, st, Kind::Directory, path.string()); !why.empty()) {
    return make_error(ErrorCode::Conflict, why);
  }
  return {};
}

Error symbolic_link_refused(const fs::path& path) {
  return make_error(ErrorCode::Conflict, path.string() + kLinkRefused);
}

}  // namespace jr
