// The methods a running task calls on its engine through JR_SOCKET: checkpoint.save and
// result.save (docs/protocol.md). Served by `jr run` and by jrd alike.
#pragma once

#include "engine/engine.h"
#include "daemon/server.h"

namespace jr {

void serve_task_methods(Server& server, Engine& engine);

}  // namespace jr
