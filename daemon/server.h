// Server: jr's socket protocol served from the engine's event loop (docs/protocol.md).
//
// Listens on a Unix stream socket (its directory 0700, the socket 0600) or adopts one that
// systemd passed. Every connection is non-blocking and has its own buffers, so a slow or dead
// client never stalls the loop or other clients; a client whose unread replies pass a bound
// is dropped. Each connection gets a slice per turn of the loop (one bounded read, a bounded
// number of requests) and the rest waits for the next turn, so one client's backlog delays
// another client's reply, and the engine's own work, by one slice at most. At most 512
// connections at once; a client that leaves half a request for 30 s makes room for a newcomer;
// when descriptors run out, a reserve one accepts the waiting client to refuse it, so the loop
// never spins on a listener it cannot serve. Only the server's own uid and root may connect
// (SO_PEERCRED); others are refused and logged. Each request's params are checked against
// protocol/methods.h's table before its handler runs; every request gets a reply: a result or
// a typed error. Single-threaded, like the loop it runs on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "base/result.h"
#include "engine/event_loop.h"
#include "protocol/methods.h"

namespace jr {

struct Peer {
  uid_t uid = 0;
  pid_t pid = 0;
};

class Server {
 public:
  using Handler = std::function<Result<nlohmann::json>(const nlohmann::json& params, const Peer& peer)>;

  // Binds `path` (creating its directory 0700; a stale socket left by a dead server is
  // replaced, a live one is a Conflict).
  static Result<std::unique_ptr<Server>> listen(EventLoop& loop, const std::filesystem::path& path);
  // Serves a listening socket inherited from systemd (socket activation).
  static Result<std::unique_ptr<Server>> adopt(EventLoop& loop, int fd);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers the handler of a method of protocol/methods.h (not "hello", which the server
  // answers itself). Every request's params are checked against the method's declaration
  // before its handler runs. REQUIRES: the method is in that table; aborts otherwise.
  void on(const std::string& method, Handler handler);
  const std::filesystem::path& path() const { return path_; }
  std::size_t connections() const;

 private:
  struct Connection;
  struct Method {
    const MethodSpec* spec;
    Handler handler;
  };
  Server(EventLoop& loop, int fd, std::filesystem::path path, bool unlink_on_exit);
  Status start();
  void accept_all();
  // Sends one error frame to a connection being turned away, and closes it.
  void refuse(int fd, const std::string& why);
  // Closes connections that hold part of a request and have sent nothing for a while.
  void drop_stalled();
  void on_readable(int fd);
  void serve(int fd, std::uint64_t serial);
  void on_writable(int fd);
  void handle_frame(Connection& c, const std::string& body);
  void send(Connection& c, const nlohmann::json& reply);
  void close(int fd);

  EventLoop& loop_;
  int listen_fd_;
  std::filesystem::path path_;
  bool unlink_on_exit_;
  std::map<std::string, Method> methods_;
  std::map<int, std::unique_ptr<Connection>> conns_;
  std::uint64_t accepted_ = 0;
  int reserve_fd_;  // closed to accept (and refuse) a client when descriptors run out
};

}  // namespace jr
