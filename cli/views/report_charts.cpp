#include "cli/views/report_charts.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

#include "cli/views/figure_format.h"

namespace jr {
namespace {

constexpr double kWidth = 1200, kLeft = 70, kRight = 20, kPlot = kWidth - kLeft - kRight;
constexpr double kAxis = 30;            // below a plot: ticks and their labels
constexpr std::size_t kMaxBars = 3000;  // past this, a lane's bars are merged per pixel

// The wall span mapped onto the plot's width.
struct Axis {
  std::int64_t from, to;
  explicit Axis(const RunFacts& f) : from(f.start_ms), to(std::max(f.end_ms, f.start_ms + 1)) {}
  double x(std::int64_t ms) const {
    return kLeft + static_cast<double>(std::clamp(ms, from, to) - from) * kPlot / static_cast<double>(to - from);
  }
};

// Ticks every 1, 2, 5, 10, 15, 30 s, minutes, hours…: about eight across the span.
std::int64_t tick_step(std::int64_t span) {
  static const std::int64_t steps[] = {100, 200, 500, 1'000, 2'000, 5'000, 10'000, 15'000, 30'000, 60'000,
                                       120'000, 300'000, 600'000, 900'000, 1'800'000, 3'600'000, 7'200'000,
                                       10'800'000, 21'600'000, 43'200'000, 86'400'000};
  for (auto s : steps) {
    if (span / s <= 9) return s;
  }
  return (span / 9 / 86'400'000 + 1) * 86'400'000;
}

std::string time_axis(const Axis& axis, double top, double bottom) {
  std::string out = "<g class=\"axis\"><line x1=\"" + svg_number(kLeft) + "\" x2=\"" + svg_number(kLeft + kPlot) + "\" y1=\"" +
                    svg_number(bottom) + "\" y2=\"" + svg_number(bottom) + "\"/>";
  std::int64_t step = tick_step(axis.to - axis.from);
  for (std::int64_t t = 0; axis.from + t <= axis.to; t += step) {
    double x = axis.x(axis.from + t);
    out += "<line class=\"grid\" x1=\"" + svg_number(x) + "\" x2=\"" + svg_number(x) + "\" y1=\"" + svg_number(top) + "\" y2=\"" +
           svg_number(bottom + 4) + "\"/><text x=\"" + svg_number(x) + "\" y=\"" + svg_number(bottom + 17) + "\" text-anchor=\"middle\">" +
           axis_label(t) + "</text>";
  }
  return out + "</g>";
}

// Engine starts after the first (resumes) as dashed lines, and the time between engine runs
// (nothing ran: the job was preempted or stopped) as a shaded band.
std::string epochs_overlay(const RunFacts& f, const Axis& axis, double top, double bottom, bool labels) {
  std::string out = "<g class=\"epochs\">";
  for (std::size_t i = 0; i < f.epochs.size(); ++i) {
    const EpochFact& e = f.epochs[i];
    if (i + 1 < f.epochs.size() && e.end_ms != 0 && f.epochs[i + 1].start_ms > e.end_ms) {
      double x1 = axis.x(e.end_ms), x2 = axis.x(f.epochs[i + 1].start_ms);
      out += "<rect class=\"gap\" x=\"" + svg_number(x1) + "\" y=\"" + svg_number(top) + "\" width=\"" + svg_number(std::max(1.0, x2 - x1)) +
             "\" height=\"" + svg_number(bottom - top) + "\"><title>no engine running for " +
             nextflow_duration(f.epochs[i + 1].start_ms - e.end_ms) + "</title></rect>";
    }
    if (i == 0) continue;
    double x = axis.x(e.start_ms);
    out += "<line class=\"epoch\" x1=\"" + svg_number(x) + "\" x2=\"" + svg_number(x) + "\" y1=\"" + svg_number(top - (labels ? 14 : 0)) +
           "\" y2=\"" + svg_number(bottom) + "\"><title>engine run " + std::to_string(i + 1) + " (resume) started " +
           local_timestamp(e.start_ms) + "</title></line>";
    if (labels) {
      out += "<text class=\"epoch-label\" x=\"" + svg_number(x + 3) + "\" y=\"" + svg_number(top - 4) + "\">run " +
             std::to_string(i + 1) + "</text>";
    }
  }
  return out + "</g>";
}

// Adds `weight` per unit of time over [a, b), both in bucket units, to the buckets it covers.
class Spreader {
 public:
  explicit Spreader(std::size_t n) : part_(n + 1, 0.0), full_(n + 2, 0.0), n_(n) {}
  void add(double a, double b, double weight) {
    a = std::clamp(a, 0.0, static_cast<double>(n_));
    b = std::clamp(b, 0.0, static_cast<double>(n_));
    if (b <= a) return;
    auto i0 = static_cast<std::size_t>(a), i1 = static_cast<std::size_t>(b);
    if (i0 == i1) {
      part_[i0] += (b - a) * weight;
      return;
    }
    part_[i0] += (static_cast<double>(i0 + 1) - a) * weight;
    full_[i0 + 1] += weight;
    full_[i1] -= weight;
    part_[i1] += (b - static_cast<double>(i1)) * weight;
  }
  std::vector<double> values() const {
    std::vector<double> out(n_);
    double level = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      level += full_[i];
      out[i] = level + part_[i];
    }
    return out;
  }

 private:
  std::vector<double> part_, full_;
  std::size_t n_;
};

const char* outcome_class(TaskState s) {
  switch (s) {
    case TaskState::Succeeded: return "ok";
    case TaskState::Failed: return "fail";
    case TaskState::Interrupted: return "int";
    case TaskState::Cancelled: return "cancel";
    default: return "run";
  }
}

}  // namespace

std::string html_escape(const std::string& text) {
  auto lower = [&text](std::size_t k) {
    return k < text.size() ? std::tolower(static_cast<unsigned char>(text[k])) : 0;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if ((c == 't' || c == 'T') && i > 0 && lower(i - 1) == 'h' && lower(i + 1) == 't' && lower(i + 2) == 'p') {
          out += c == 't' ? "&#116;" : "&#84;";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string axis_label(std::int64_t ms) {
  if (ms == 0) return "0";
  if (ms % 1000 != 0) return ms < 1000 ? std::to_string(ms) + "ms" : svg_number(static_cast<double>(ms) / 1000) + "s";
  std::int64_t s = ms / 1000, h = s / 3600, m = s / 60 % 60;
  s %= 60;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  if (m) out += (out.empty() ? "" : " ") + std::to_string(m) + "m";
  if (s) out += (out.empty() ? "" : " ") + std::to_string(s) + "s";
  return out;
}

std::vector<double> running_series(const RunFacts& f, std::size_t buckets) {
  Axis axis(f);
  double scale = static_cast<double>(buckets) / static_cast<double>(axis.to - axis.from);
  Spreader s(buckets);
  for (auto& a : f.attempts) {
    s.add(static_cast<double>(a.start_ms - axis.from) * scale, static_cast<double>(a.end_ms - axis.from) * scale, 1.0);
  }
  return s.values();
}

std::vector<double> cpu_series(const RunFacts& f, const std::vector<CpuSample>& samples, std::size_t buckets) {
  Axis axis(f);
  double scale = static_cast<double>(buckets) / static_cast<double>(axis.to - axis.from);
  Spreader s(buckets);
  auto spread = [&](std::int64_t t0, std::int64_t c0, std::int64_t t1, std::int64_t c1) {
    if (t1 <= t0 || c1 <= c0) return;
    double cores = static_cast<double>(c1 - c0) / static_cast<double>(t1 - t0);
    s.add(static_cast<double>(t0 - axis.from) * scale, static_cast<double>(t1 - axis.from) * scale, cores);
  };
  std::size_t i = 0;
  for (std::size_t pos = 0; pos < f.attempts.size(); ++pos) {
    const AttemptFact& a = f.attempts[pos];
    std::int64_t t = a.start_ms, c = 0;
    for (; i < samples.size() && samples[i].attempt_pos == pos; ++i) {
      // A group's sum drops when a child exits unwaited: never count time backwards.
      std::int64_t cpu = std::max(c, samples[i].cpu_ms);
      spread(t, c, samples[i].ms, cpu);
      t = std::max(t, samples[i].ms);
      c = cpu;
    }
    // The rest of its rusage CPU time is mostly children that came and went between readings
    // (their time leaves the group's live sum): spread it over the whole attempt.
    if (a.outcome != TaskState::Running) spread(a.start_ms, 0, std::max(a.end_ms, a.start_ms + 1), std::max<std::int64_t>(0, a.cpu_ms - c));
  }
  return s.values();
}

std::string task_stream_svg(const RunFacts& f) {
  Axis axis(f);
  int lanes = f.parallelism;
  for (auto& a : f.attempts) lanes = std::max(lanes, a.slot);
  double pitch = lanes <= 24 ? 20 : std::max(3.0, 480.0 / lanes);
  double bar = std::max(2.0, pitch - (pitch >= 10 ? 4 : 1));
  double top = 26, bottom = top + pitch * lanes;
  double height = bottom + kAxis;
  std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + svg_number(kWidth) + " " + svg_number(height) +
                    "\" role=\"img\" aria-label=\"task stream\">";
  out += time_axis(axis, top, bottom);
  int label_every = lanes <= 24 ? 1 : (lanes + 11) / 12;
  for (int lane = 1; lane <= lanes; ++lane) {
    double y = top + pitch * (lane - 1);
    if (lane % 2 == 0) out += "<rect class=\"lane\" x=\"" + svg_number(kLeft) + "\" y=\"" + svg_number(y) + "\" width=\"" + svg_number(kPlot) + "\" height=\"" + svg_number(pitch) + "\"/>";
    if ((lane - 1) % label_every == 0) {
      out += "<text class=\"lane-label\" x=\"" + svg_number(kLeft - 8) + "\" y=\"" + svg_number(y + pitch / 2 + 4) +
             "\" text-anchor=\"end\">slot " + std::to_string(lane) + "</text>";
    }
  }
  auto lane_y = [&](const AttemptFact& a) { return top + pitch * (std::max(1, a.slot) - 1) + (pitch - bar) / 2; };
  if (f.attempts.size() <= kMaxBars) {
    for (auto& a : f.attempts) {
      double x1 = axis.x(a.start_ms), x2 = axis.x(a.end_ms);
      const TaskFact& t = f.tasks[a.task_pos];
      std::string what = std::string(a.outcome == TaskState::Running ? "running" : to_string(a.outcome));
      if (!a.detail.empty()) what += " (" + a.detail + ")";
      out += "<rect class=\"" + std::string(outcome_class(a.outcome)) + "\" x=\"" + svg_number(x1) + "\" y=\"" + svg_number(lane_y(a)) +
             "\" width=\"" + svg_number(std::max(1.0, x2 - x1)) + "\" height=\"" + svg_number(bar) + "\"><title>task " +
             std::to_string(t.index) + ", attempt " + std::to_string(a.attempt) + ": " + html_escape(what) + ", " +
             nextflow_duration(a.run_ms()) + "</title></rect>";
    }
  } else {
    // One path per lane and outcome, bars closer than a pixel merged: bounded by the plot's width.
    std::map<std::pair<int, int>, std::pair<std::string, std::pair<double, double>>> paths;
    auto flush = [&](std::pair<std::string, std::pair<double, double>>& p, double y) {
      auto [x1, x2] = p.second;
      p.first += "M" + svg_number(x1) + " " + svg_number(y) + "h" + svg_number(std::max(1.0, x2 - x1)) + "v" + svg_number(bar) + "h-" + svg_number(std::max(1.0, x2 - x1)) + "z";
    };
    for (auto& a : f.attempts) {
      double x1 = axis.x(a.start_ms), x2 = axis.x(a.end_ms);
      auto key = std::make_pair(std::max(1, a.slot), static_cast<int>(a.outcome));
      auto it = paths.find(key);
      if (it == paths.end()) {
        paths[key] = {"", {x1, x2}};
      } else if (x1 - it->second.second.second < 1.0) {
        it->second.second.second = std::max(it->second.second.second, x2);
      } else {
        flush(it->second, lane_y(a));
        it->second.second = {x1, x2};
      }
    }
    for (auto& [key, p] : paths) {
      flush(p, top + pitch * (key.first - 1) + (pitch - bar) / 2);
      out += "<path class=\"" + std::string(outcome_class(static_cast<TaskState>(key.second))) + "\" d=\"" + p.first + "\"/>";
    }
  }
  // Interruptions on the time axis, one mark per pixel.
  std::string marks;
  double last = -10;
  std::int64_t interrupted = 0;
  for (auto& a : f.attempts) {
    if (a.outcome != TaskState::Interrupted) continue;
    ++interrupted;
    double x = axis.x(a.end_ms);
    if (x - last < 2) continue;
    last = x;
    marks += "M" + svg_number(x) + " " + svg_number(bottom) + "l-5 9h10z";
  }
  if (!marks.empty()) {
    out += "<path class=\"int-mark\" d=\"" + marks + "\"><title>" + std::to_string(interrupted) +
           " interrupted attempts</title></path>";
  }
  out += epochs_overlay(f, axis, top, bottom, true);
  return out + "</svg>";
}

std::string series_svg(const RunFacts& f, const std::vector<double>& series, const std::string& y_label,
                       double reference, const std::string& reference_label) {
  Axis axis(f);
  double top = 24, plot = 150, bottom = top + plot;
  double peak = reference;
  for (double v : series) peak = std::max(peak, v);
  // A y range of whole numbers, a little above the highest point.
  double ymax = std::max(1.0, std::ceil(peak * 1.1));
  auto y = [&](double v) { return bottom - v / ymax * plot; };
  std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + svg_number(kWidth) + " " + svg_number(bottom + kAxis) +
                    "\" role=\"img\" aria-label=\"" + html_escape(y_label) + "\">";
  out += time_axis(axis, top, bottom);
  out += "<g class=\"axis\">";
  for (double v : {0.0, ymax / 2, ymax}) {
    out += "<line class=\"grid\" x1=\"" + svg_number(kLeft - 4) + "\" x2=\"" + svg_number(kLeft + kPlot) + "\" y1=\"" + svg_number(y(v)) +
           "\" y2=\"" + svg_number(y(v)) + "\"/><text x=\"" + svg_number(kLeft - 8) + "\" y=\"" + svg_number(y(v) + 4) +
           "\" text-anchor=\"end\">" + svg_number(v) + "</text>";
  }
  out += "<text x=\"" + svg_number(kLeft) + "\" y=\"14\">" + html_escape(y_label) + "</text></g>";
  if (!series.empty()) {
    double step = kPlot / static_cast<double>(series.size());
    std::string line = "M" + svg_number(kLeft) + " " + svg_number(y(series[0]));
    for (std::size_t i = 0; i < series.size(); ++i) {
      line += "L" + svg_number(kLeft + step * static_cast<double>(i) + step / 2) + " " + svg_number(y(series[i]));
    }
    line += "L" + svg_number(kLeft + kPlot) + " " + svg_number(y(series.back()));
    out += "<path class=\"area\" d=\"" + line + "L" + svg_number(kLeft + kPlot) + " " + svg_number(bottom) + "L" + svg_number(kLeft) + " " +
           svg_number(bottom) + "z\"/><path class=\"line\" d=\"" + line + "\"/>";
  }
  out += "<line class=\"ref\" x1=\"" + svg_number(kLeft) + "\" x2=\"" + svg_number(kLeft + kPlot) + "\" y1=\"" + svg_number(y(reference)) +
         "\" y2=\"" + svg_number(y(reference)) + "\"/><text class=\"ref-label\" x=\"" + svg_number(kLeft + kPlot - 4) + "\" y=\"" +
         svg_number(y(reference) - 5) + "\" text-anchor=\"end\">" + html_escape(reference_label) + "</text>";
  out += epochs_overlay(f, axis, top, bottom, false);
  return out + "</svg>";
}

}  // namespace jr
