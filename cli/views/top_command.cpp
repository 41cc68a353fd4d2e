#include "cli/views/top_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/duration.h"
#include "cli/views/top_facts.h"
#include "cli/views/top_view.h"

namespace jr {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
// --once measures the node's CPU over this long: one reading of /proc/stat says nothing.
constexpr auto kCpuWindow = std::chrono::milliseconds(200);

int fail(const std::string& message, int code = kExitError) {
  std::fprintf(stderr, "jr top: %s\n", message.c_str());
  return code;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Signals reach the loop through a pipe, so that poll() wakes for them without a race.
int g_wake_fd = -1;
volatile sig_atomic_t g_quit = 0;
volatile sig_atomic_t g_resized = 0;

void on_signal(int sig) {
  if (sig == SIGWINCH) g_resized = 1;
  else g_quit = 1;
  int saved = errno;
  char b = 0;
  (void)!::write(g_wake_fd, &b, 1);
  errno = saved;
}

// The terminal as top found it, given back on every way out of the loop.
class Screen {
 public:
  Screen() {
    have_termios_ = ::tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (have_termios_) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // keys one by one, unechoed; ^C still signals
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    write_all(STDOUT_FILENO, "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");  // alternate screen, cursor hidden
  }
  ~Screen() {
    write_all(STDOUT_FILENO, "\x1b[0m\x1b[?25h\x1b[?1049l");
    if (have_termios_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

 private:
  termios saved_{};
  bool have_termios_ = false;
};

void terminal_size(int* width, int* height) {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    *width = ws.ws_col;
    *height = ws.ws_row;
  } else {
    *width = 100;
    *height = 30;
  }
}

// The whole frame in one write: home, each line erased to its end, the rest of the screen
// erased. Nothing is cleared first, so nothing flickers.
std::string frame_text(const std::vector<std::string>& lines, const std::string& footer, int height) {
  std::string out = "\x1b[H";
  int row = 0;
  for (auto& l : lines) {
    if (row + 1 >= height) break;
    out += l + "\x1b[0m\x1b[K\r\n";
    ++row;
  }
  out += "\x1b[J\x1b[" + std::to_string(height) + ";1H\x1b[2m" + footer + "\x1b[0m\x1b[K";
  return out;
}

int once(const TopOptions& o) {
  NodeCpu cpu;
  cpu.sample();
  std::this_thread::sleep_for(kCpuWindow);
  auto facts = load_top_facts(o.state_dir, o.job, cpu);
  if (!facts) return fail(facts.error().message);
  if (o.json) {
    std::printf("%s\n", top_json(*facts).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    return 0;
  }
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  int width = 120, height = 0;
  if (tty) terminal_size(&width, &height);
  std::string out;
  for (auto line : top_frame(*facts, width, 1 << 20, tty)) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

int live(const TopOptions& o, Millis interval) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  g_wake_fd = pipe_fds[1];
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) ::sigaction(sig, &sa, nullptr);

  NodeCpu cpu;
  int status = 0;
  {
    Screen screen;
    std::string footer = "q quits · every " + format_duration(interval) + " · " + o.state_dir;
    while (!g_quit) {
      int width = 0, height = 0;
      terminal_size(&width, &height);
      g_resized = 0;
      auto facts = load_top_facts(o.state_dir, o.job, cpu);
      std::vector<std::string> lines;
      if (facts) lines = top_frame(*facts, width, height - 1, true);
      else lines = {fit("jr top: " + facts.error().message + " (trying again)", static_cast<std::size_t>(width))};
      write_all(STDOUT_FILENO, frame_text(lines, fit(footer, static_cast<std::size_t>(std::max(1, width - 1))), height));

      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {pipe_fds[0], POLLIN, 0}};
      std::int64_t deadline = monotonic_ms() + interval.count();
      while (!g_quit && !g_resized) {
        std::int64_t left = deadline - monotonic_ms();
        if (left <= 0) break;
        int n = ::poll(fds, 2, static_cast<int>(left));
        if (n < 0 && errno != EINTR) break;
        if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP))) {
          char keys[64];
          ssize_t got = ::read(STDIN_FILENO, keys, sizeof keys);
          if (got == 0) g_quit = 1;  // stdin closed: nobody can press q any more
          for (ssize_t i = 0; i < got; ++i) {
            if (keys[i] == 'q' || keys[i] == 'Q') g_quit = 1;
          }
        }
        if (n > 0 && (fds[1].revents & POLLIN)) {
          char drain[64];
          while (::read(pipe_fds[0], drain, sizeof drain) > 0) {
          }
        }
      }
    }
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  return status;
}

}  // namespace

int top_command(const TopOptions& o) {
  auto interval = parse_duration(o.interval);
  if (!interval) return fail(interval.error().message, kExitUsage);
  if (interval->count() < 100) return fail("--interval must be at least 100ms", kExitUsage);
  if (o.json && !o.once) return fail("--json needs --once (one frame of facts for a script)", kExitUsage);
  if (o.once) return once(o);
  if (!::isatty(STDOUT_FILENO) || !::isatty(STDIN_FILENO)) {
    return fail("the live view needs a terminal; use --once (or --once --json) for a single frame", kExitUsage);
  }
  return live(o, *interval);
}

}  // namespace jr
