// The two pieces of systemd's protocols jrd speaks, without libsystemd:
// sd_notify (READY=1, STOPPING=1 to $NOTIFY_SOCKET) and socket activation (LISTEN_FDS).
#pragma once

#include <string>

namespace jr {

// The value of $NOTIFY_SOCKET at the first call, which removes it from the environment.
const std::string& notify_socket();
// Sends `state` to $NOTIFY_SOCKET; does nothing when it is unset.
void notify_systemd(const std::string& state);
// The first socket systemd passed (fd 3) when LISTEN_PID is this process and LISTEN_FDS >= 1;
// -1 otherwise. Unsets the variables so tasks do not inherit them.
int socket_from_systemd();
// Whether stderr goes to the journal (so log lines need no timestamps).
bool under_systemd();

}  // namespace jr
