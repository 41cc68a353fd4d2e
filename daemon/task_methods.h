// The methods a running task calls on its engine through JR_SOCKET: checkpoint.save and
// result.save (docs/protocol.md). Served by `jr run` and by jrd alike.
#pragma once

#include <filesystem>
#include <string>

#include "daemon/engine.h"
#include "daemon/server.h"

namespace jr {

void serve_task_methods(Server& server, Engine& engine);

// Where `jr run` listens for its tasks: DIR/sock, or, when that path is too long for a Unix
// socket, a private directory under /tmp named for the store.
std::filesystem::path engine_socket_path(const std::filesystem::path& state_dir, const std::string& state_id);

}  // namespace jr
