// jrd's dispatch table: the methods clients call to submit, watch and control jobs
// (docs/protocol.md documents each, with examples).
#pragma once

#include <filesystem>

#include "engine/engine.h"
#include "daemon/server.h"

namespace jr {

void serve_job_methods(Server& server, Engine& engine, Store& store, const std::filesystem::path& state_dir);

}  // namespace jr
