// Where jrd keeps its state and listens by default, shared by jrd and the jr client.
//   state:  $XDG_STATE_HOME/jr, else ~/.local/state/jr
//   socket: $XDG_RUNTIME_DIR/jr/jrd.sock, else STATE/jrd.sock
#pragma once

#include <filesystem>

namespace jr {

std::filesystem::path default_state_dir();
std::filesystem::path default_socket_path(const std::filesystem::path& state_dir);

}  // namespace jr
