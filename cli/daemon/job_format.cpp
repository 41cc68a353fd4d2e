#include "cli/daemon/job_format.h"

#include <ctime>

#include "base/duration.h"
#include "base/signals.h"
#include "cli/views/engine_gone_view.h"
#include "job/template.h"

namespace jr {

using json = nlohmann::json;

namespace {

// Display width of UTF-8 text: code points, so that a name with accents does not shift columns.
std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string local_time(std::int64_t ms, bool with_ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, with_ms ? "%Y-%m-%d %H:%M:%S" : "%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (with_ms) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
    out += frac;
  }
  return out;
}

std::string int_or_dash(const json& v) { return v.is_number_integer() ? std::to_string(v.get<std::int64_t>()) : "-"; }

std::string text_or_dash(const json& v) {
  return v.is_string() && !v.get<std::string>().empty() ? v.get<std::string>() : "-";
}

GoneEngine gone_of(const json& job) {
  auto& gone = job["engine_gone"];
  GoneEngine g;
  g.pid = gone["pid"].is_number_integer() ? gone["pid"].get<std::int64_t>() : 0;
  g.kept = gone.value("keeper", false);
  return g;
}

}  // namespace

void Table::print(std::FILE* out) const {
  std::vector<std::size_t> widths(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) widths[c] = width(columns_[c].name);
  for (auto& row : rows_) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], width(row[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      bool last = c + 1 == columns_.size();
      std::string pad(widths[c] - width(cell), ' ');
      if (columns_[c].right) text += pad + cell;
      else text += last ? cell : cell + pad;
      if (!last) text += "  ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    std::fprintf(out, "%s\n", text.c_str());
  };
  std::vector<std::string> header;
  for (auto& c : columns_) header.push_back(c.name);
  line(header);
  for (auto& row : rows_) line(row);
}

StateCounts counts_from_json(const json& job) {
  StateCounts counts{};
  if (!job.contains("counts") || !job["counts"].is_object()) return counts;
  for (auto& [name, n] : job["counts"].items()) {
    auto state = parse_task_state(name);
    if (state && n.is_number_integer()) counts[static_cast<std::size_t>(*state)] = n.get<std::int64_t>();
  }
  return counts;
}

std::int64_t count_of(const StateCounts& counts, TaskState state) { return counts[static_cast<std::size_t>(state)]; }

std::string command_line(const json& argv) {
  std::string out;
  if (!argv.is_array()) return out;
  for (auto& word : argv) {
    if (!out.empty()) out += ' ';
    out += shell_quote(word.get<std::string>());
  }
  return out;
}

void print_jobs(const json& jobs, bool details) {
  Table table({{"ID", true}, {"NAME"}, {"STATE"}, {"DONE/TOTAL", true}, {"FAILED", true}, {"RUNNING", true},
               {"CREATED"}, {"NOTE"}});
  for (auto& job : jobs) {
    auto c = counts_from_json(job);
    std::int64_t done = count_of(c, TaskState::Succeeded) + count_of(c, TaskState::Failed) +
                        count_of(c, TaskState::Cancelled);
    std::string note = job.value("reason", "");
    if (note.empty() && job.contains("engine_gone")) note = engine_gone_note(gone_of(job));
    if (note.empty() && job.value("state", "") == "pending" && job["after"].is_number_integer()) {
      note = "after job " + std::to_string(job["after"].get<std::int64_t>());
    }
    table.add({std::to_string(job.value("id", 0)), text_or_dash(job["name"]), job.value("state", "?"),
               std::to_string(done) + "/" + std::to_string(job.value("total", 0)),
               std::to_string(count_of(c, TaskState::Failed)), std::to_string(count_of(c, TaskState::Running)),
               local_time(job.value("created_ms", std::int64_t{0}), false), note});
  }
  table.print(stdout);
  for (auto& job : jobs) {
    if (!job.contains("engine_gone")) continue;
    std::printf("%s\n", engine_gone_line(gone_of(job)).c_str());
    break;
  }
  if (!details || jobs.size() != 1) return;
  auto& job = jobs[0];
  std::string command = command_line(job["command"]);
  std::printf("command: %s\n", command.empty() ? "(one shell line per task, from --tasks)" : command.c_str());
  std::string counts;
  for (auto& [name, n] : job["counts"].items()) {
    if (n.get<std::int64_t>() == 0) continue;
    if (!counts.empty()) counts += ", ";
    counts += std::to_string(n.get<std::int64_t>()) + " " + name;
  }
  std::printf("tasks: %s; -j %d, priority %d\n", counts.empty() ? "none" : counts.c_str(),
              job.value("parallelism", 0), job.value("priority", 0));
}

void print_tasks(const json& tasks) {
  // NOTE says how a task ended when the engine said more than its exit (a timeout, a gone
  // engine); shown only when some task has one.
  bool notes = false;
  for (auto& t : tasks) notes = notes || !t.value("detail", "").empty();
  std::vector<Table::Column> columns = {{"INDEX", true}, {"STATE"}, {"ATTEMPTS", true}, {"EXIT", true}, {"TIME", true}};
  if (notes) columns.push_back({"NOTE"});
  columns.push_back({"COMMAND"});
  Table table(std::move(columns));
  for (auto& t : tasks) {
    std::string exit = int_or_dash(t["exit_code"]);
    if (t["signal"].is_number_integer()) exit = signal_name(t["signal"].get<int>());
    std::string time = "-";
    if (t["start_ms"].is_number_integer() && t["end_ms"].is_number_integer()) {
      time = format_duration(Millis(t["end_ms"].get<std::int64_t>() - t["start_ms"].get<std::int64_t>()));
    }
    std::vector<std::string> row = {int_or_dash(t["index"]), t.value("state", "?"),
                                    std::to_string(t.value("attempts", 0)), exit, time};
    if (notes) row.push_back(text_or_dash(t["detail"]));
    row.push_back(command_line(t["argv"]));
    table.add(std::move(row));
  }
  table.print(stdout);
}

void print_events(const json& events) {
  Table table({{"TIME"}, {"TASK", true}, {"FROM"}, {"TO"}, {"ATTEMPT", true}, {"DETAIL"}});
  for (auto& e : events) {
    table.add({local_time(e.value("ms", std::int64_t{0}), true), int_or_dash(e["index"]), text_or_dash(e["from"]),
               text_or_dash(e["to"]), std::to_string(e.value("attempt", 0)), e.value("detail", "")});
  }
  table.print(stdout);
}

}  // namespace jr
