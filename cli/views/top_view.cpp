#include "cli/views/top_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "cli/views/engine_gone_view.h"
#include "cli/views/figure_format.h"

namespace jr {
namespace {

const char* const kBold = "\x1b[1m";
const char* const kReverse = "\x1b[7m";
const char* const kRed = "\x1b[31m";
const char* const kReset = "\x1b[0m";

std::string bar(double fraction, std::size_t width) {
  if (fraction < 0) return std::string(width, ' ');
  auto full = static_cast<std::size_t>(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(width) + 0.5);
  std::string out;
  for (std::size_t i = 0; i < width; ++i) out += i < full ? "█" : "░";
  return out;
}

std::string short_size(std::int64_t kb) {
  if (kb <= 0) return "-";
  char buf[32];
  double v = static_cast<double>(kb);
  const char* unit = "K";
  if (v >= 1024 * 1024) { v /= 1024 * 1024; unit = "G"; }
  else if (v >= 1024) { v /= 1024; unit = "M"; }
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f%s" : "%.0f%s", v, unit);
  return buf;
}

std::string clock_now(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string count_line(const TopFacts& f) {
  auto n = [&f](TaskState s) { return f.counts[static_cast<std::size_t>(s)]; };
  std::string out = "tasks " + std::to_string(f.total) + ": " + std::to_string(f.done) + " done";
  std::string parts;
  for (auto [s, name] : {std::pair{TaskState::Succeeded, "succeeded"}, {TaskState::Failed, "failed"}, {TaskState::Cancelled, "cancelled"}}) {
    if (n(s) == 0) continue;
    parts += (parts.empty() ? "" : ", ") + std::to_string(n(s)) + " " + name;
  }
  if (!parts.empty()) out += " (" + parts + ")";
  out += " · " + std::to_string(n(TaskState::Running)) + " running · " + std::to_string(n(TaskState::Pending)) + " pending";
  if (n(TaskState::Interrupted)) out += " · " + std::to_string(n(TaskState::Interrupted)) + " interrupted";
  char rate[64];
  std::snprintf(rate, sizeof rate, " · %.1f/s", f.rate);
  if (f.engine) out += rate + std::string(" · ETA ") + (f.eta_ms >= 0 ? nextflow_duration(f.eta_ms) : "?");
  return out;
}

}  // namespace

std::size_t display_width(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string fit(const std::string& text, std::size_t width, bool right_align) {
  std::size_t w = display_width(text);
  if (w <= width) {
    std::string pad(width - w, ' ');
    return right_align ? pad + text : text + pad;
  }
  if (width == 0) return "";
  // Cut at a code point boundary, leaving room for the ellipsis.
  std::string out;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (kept == width - 1) break;
      ++kept;
    }
    out += text[i];
  }
  return out + "…";
}

std::vector<std::string> top_frame(const TopFacts& f, int width, int height, bool color) {
  auto W = static_cast<std::size_t>(std::max(20, width));
  std::vector<std::string> lines;
  auto styled = [color](const char* sgr, const std::string& text) { return color ? sgr + text + kReset : text; };

  std::string title = "jr top · job " + std::to_string(f.job.id) + (f.job.name.empty() ? "" : " (" + f.job.name + ")") +
                      " · " + f.job_state + " · -j " + std::to_string(f.parallelism);
  if (!f.engine && (f.job_state == "running" || f.job_state == "pending")) title += " · no engine running";
  std::string clock = clock_now(f.now_ms);
  std::string where = " · " + f.state_dir.string();
  std::size_t room = W > display_width(clock) + 1 ? W - display_width(clock) - 1 : 0;
  if (display_width(title + where) <= room) title += where;
  lines.push_back(styled(kBold, fit(title, room) + " " + clock));

  std::string counts = count_line(f);
  lines.push_back(fit(counts, W));

  double done = f.total > 0 ? static_cast<double>(f.done) / static_cast<double>(f.total) : 0;
  char pct[16];
  std::snprintf(pct, sizeof pct, " %3.0f%%", done * 100);
  std::string cpu = "   node CPU " + (f.node_cpu >= 0 ? percent(f.node_cpu) : std::string("?")) + " of " +
                    std::to_string(f.node_cpus) + " cores";
  std::size_t bar_width = W > display_width(cpu) + 8 ? std::min<std::size_t>(40, W - display_width(cpu) - 8) : 10;
  lines.push_back(fit("[" + bar(done, bar_width) + "]" + pct + cpu, W));
  if (f.counts[static_cast<std::size_t>(TaskState::Failed)] > 0 && color) {
    auto at = lines[1].find(" failed");
    if (at != std::string::npos) lines[1].replace(at + 1, 6, std::string(kRed) + "failed" + kReset);
  }

  // Task lines: fixed columns, then message, command and output share what is left, the
  // message first: it is what the task says about itself.
  const bool narrow = W < 100;
  const std::size_t idx_w = 6, el_w = narrow ? 7 : 8, cpu_w = 5, rss_w = 6, prog_w = narrow ? 10 : 14;
  std::size_t fixed = idx_w + el_w + cpu_w + rss_w + prog_w + 5 * 2;
  std::size_t rest = W > fixed ? W - fixed : 0;
  std::size_t msg_w = 0, cmd_w = 0, out_w = 0, longest_msg = 7;
  for (auto& t : f.tasks) longest_msg = std::max(longest_msg, display_width(t.message));
  if (rest >= 64) {
    msg_w = std::min(longest_msg, rest * 45 / 100);
    cmd_w = (rest - msg_w - 4) / 2;
    out_w = rest - msg_w - cmd_w - 4;
  } else {
    msg_w = std::min(longest_msg, rest);
    if (rest >= msg_w + 2 + 10) cmd_w = rest - msg_w - 2;  // a command cut under 10 says nothing
    else msg_w = rest;
  }
  std::string head = fit("INDEX", idx_w, true) + "  " + fit("ELAPSED", el_w, true) + "  " + fit("CPU%", cpu_w, true) +
                     "  " + fit("RSS", rss_w, true) + "  " + fit("PROGRESS", prog_w) + "  " + fit("MESSAGE", msg_w);
  if (cmd_w) head += "  " + fit("COMMAND", cmd_w);
  if (out_w) head += "  " + fit("OUTPUT", out_w);
  lines.push_back(styled(kReverse, fit(head, W)));

  std::size_t max_tasks = height > static_cast<int>(lines.size()) ? static_cast<std::size_t>(height) - lines.size() : 0;
  std::size_t shown = 0;
  for (auto& t : f.tasks) {
    if (shown == max_tasks) break;
    // The last line says how many more there are instead of showing one of them.
    if (shown + 1 == max_tasks && f.tasks.size() > max_tasks) break;
    char cpu_text[16] = "-";
    if (t.cpu_percent >= 0) std::snprintf(cpu_text, sizeof cpu_text, "%.0f", t.cpu_percent);
    char frac[8] = "    ";
    if (t.progress >= 0) std::snprintf(frac, sizeof frac, "%3.0f%%", t.progress * 100);
    std::string line = fit(std::to_string(t.index), idx_w, true) + "  " + fit(nextflow_duration(t.elapsed_ms), el_w, true) +
                       "  " + fit(cpu_text, cpu_w, true) + "  " + fit(short_size(t.rss_kb), rss_w, true) + "  " +
                       bar(t.progress, prog_w - 5) + " " + frac + "  " + fit(t.message, msg_w);
    if (cmd_w) line += "  " + fit(t.command, cmd_w);
    if (out_w) line += "  " + fit(t.last_output, out_w);
    lines.push_back(fit(line, W));
    ++shown;
  }
  if (shown < f.tasks.size() && max_tasks > 0) {
    lines.push_back(fit("… " + std::to_string(f.tasks.size() - shown) + " more running (a taller terminal shows them)", W));
  }
  if (f.tasks.empty() && lines.size() < static_cast<std::size_t>(height)) {
    std::string note = f.engine          ? "no task is running right now"
                       : f.engine_gone ? engine_gone_line(*f.engine_gone)
                                       : "no engine runs this job now";
    if (f.job_state == "succeeded" || f.job_state == "failed" || f.job_state == "cancelled") note = "the job has ended: " + f.job_state;
    lines.push_back(fit(note, W));
  }
  return lines;
}

}  // namespace jr
