#include "daemon/engine_session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/containment.h"
#include "daemon/job_methods.h"
#include "engine/state_place.h"
#include "daemon/task_methods.h"
#include "storage/state_dir.h"
#include "storage/state_files.h"

namespace jr {

namespace {

// The shared fallback directory for sockets whose path under DIR is too long (/tmp/jr-UID):
// anyone may create it first, so it is used only when it is this user's, a real directory,
// and closed to others.
Status ensure_private_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error(ErrorCode::Io, "cannot create " + dir.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 077) != 0) {
    return make_error(ErrorCode::Conflict, dir.string() + " is not a directory private to you (another user may have "
                                                          "made it): jr will not put its socket there; remove it, or "
                                                          "use a shorter --state path");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<EngineSession>> EngineSession::open(SessionOptions o) {
  std::unique_ptr<EngineSession> s(new EngineSession);
  std::error_code ec;
  s->dir_ = std::filesystem::absolute(o.state_dir, ec);
  JR_TRY(prepare_state_dir(s->dir_));
  auto lock = EngineLock::acquire(s->dir_);
  if (!lock) return lock.error();
  s->lock_ = std::move(*lock);
  if (o.before_open) JR_TRY(o.before_open(s->dir_));
  auto store = Store::open(state_files::store(s->dir_), o.sync);
  if (!store) return store.error();
  s->store_ = std::move(*store);
  // Before anything uses the state id: a copied directory gets its own.
  auto here = StatePlace::here(s->dir_);
  auto place = check_place(*s->store_, here);
  if (!place) return place.error();
  auto loop = EventLoop::create(o.signals);
  if (!loop) return loop.error();
  s->loop_ = std::move(*loop);

  auto state_socket = state_files::socket(s->dir_, s->store_->state_id());
  if (state_socket.parent_path() != s->dir_) JR_TRY(ensure_private_dir(state_socket.parent_path()));
  if (o.inherited_socket) {
    auto adopted = Server::adopt(*s->loop_, *o.inherited_socket);
    if (!adopted) return adopted.error();
    s->public_server_ = std::move(*adopted);
  }
  bool own_public = !s->public_server_ && !o.public_socket.empty() && o.public_socket != state_socket;
  std::filesystem::path task_socket = s->public_server_ ? s->public_server_->path()
                                      : own_public       ? o.public_socket
                                                         : state_socket;

  EngineOptions& eo = o.engine;
  eo.state_dir = s->dir_;
  eo.socket_path = task_socket.string();
  eo.board_path = state_files::board(s->dir_).string();
  auto containment = Containment::open("jr-" + s->store_->state_id() + "-" + std::to_string(::getpid()),
                                       std::max(1, eo.workers));
  if (!containment) return containment.error();
  here.group = containment->group();
  s->engine_ = std::make_unique<Engine>(*s->store_, *s->loop_, eo, std::move(*containment));
  // What a dead engine left running is killed before anything here needs free space (the
  // sockets, the board): a full disk must not keep it alive.
  JR_TRY(s->engine_->recover(*place, here));

  if (own_public) {
    auto listening = Server::listen(*s->loop_, o.public_socket);
    if (!listening) return listening.error();
    s->public_server_ = std::move(*listening);
  }
  if (!s->public_server_ || s->public_server_->path() != state_socket) {
    auto listening = Server::listen(*s->loop_, state_socket);
    if (!listening) return listening.error();
    s->state_server_ = std::move(*listening);
  }
  JR_TRY(s->engine_->open_board());
  for (Server* server : {s->public_server_.get(), s->state_server_.get()}) {
    if (!server) continue;
    serve_task_methods(*server, *s->engine_);
    serve_job_methods(*server, *s->engine_, *s->store_, s->dir_);
    if (!o.accept_submissions) {
      server->on("submit", [](const nlohmann::json&, const Peer&) -> Result<nlohmann::json> {
        return make_error(ErrorCode::Usage, "this engine is a jr run: it runs only its own job; submit to jrd");
      });
    }
  }
  return s;
}

EngineSession::~EngineSession() {
  if (run_id_ && store_) (void)store_->end_engine_run(*run_id_);
}

Status EngineSession::begin() {
  const char* slurm_job = std::getenv("SLURM_JOB_ID");
  auto id = store_->begin_engine_run(::getpid(), "", slurm_job ? slurm_job : "");
  if (!id) return id.error();
  run_id_ = *id;
  return {};
}

const std::filesystem::path& EngineSession::task_socket() const {
  return public_server_ ? public_server_->path() : state_server_->path();
}

}  // namespace jr
