#include "daemon/task_methods.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "protocol/params.h"

namespace jr {

using json = nlohmann::json;

void serve_task_methods(Server& server, Engine& engine) {
  server.on("checkpoint.save", [&engine](const json& p, const Peer&) -> Result<json> {
    auto info = engine.save_checkpoint(string_param(p, "run", ""), strings_param(p, "files"));
    if (!info) return info.error();
    return json{{"seq", info->seq}, {"size", info->size}, {"attempt", info->attempt}};
  });
  server.on("result.save", [&engine](const json& p, const Peer&) -> Result<json> {
    auto st = engine.save_result(string_param(p, "run", ""), string_param(p, "path", ""));
    if (!st) return st.error();
    return json::object();
  });
  server.on("ping", [&engine](const json&, const Peer&) -> Result<json> {
    return json{{"pid", ::getpid()}, {"state_dir", engine.state_dir().string()},
                {"containment", engine.containment().describe()}, {"keeping", engine.keeping()}};
  });
}

}  // namespace jr
