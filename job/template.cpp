#include "job/template.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

#include "base/plural.h"

namespace jr {
namespace {

constexpr std::string_view kArgs = ":::";
constexpr std::string_view kFiles = "::::";
constexpr std::string_view kLinkedArgs = ":::+";
constexpr std::string_view kLinkedFiles = "::::+";

bool is_separator(std::string_view word) {
  return word == kArgs || word == kFiles || word == kLinkedArgs || word == kLinkedFiles;
}

std::vector<SourceGroup> group_sources(const std::vector<std::vector<std::string>>& sources,
                                       const Linking& linking) {
  std::vector<SourceGroup> groups;
  for (std::size_t k = 0; k < sources.size(); ++k) {
    const std::uint64_t size = sources[k].size();
    const bool joins = k > 0 && (linking.link_all || (k < linking.linked.size() && linking.linked[k]));
    if (!joins) {
      groups.push_back({k, 1, size});
      continue;
    }
    SourceGroup& group = groups.back();
    ++group.count;
    // --link wraps the shorter sources around, unless one is empty; :::+ stops at the shortest.
    const bool empty = group.length == 0 || size == 0;
    group.length = empty ? 0 : linking.link_all ? std::max(group.length, size) : std::min(group.length, size);
  }
  return groups;
}

std::optional<std::uint64_t> combination_count(const std::vector<SourceGroup>& groups) {
  std::uint64_t count = 1;
  for (const SourceGroup& group : groups) {
    if (__builtin_mul_overflow(count, group.length, &count)) return std::nullopt;
  }
  return count;
}

// What the text between a pair of braces is: not a replacement string at all (literal text),
// one jr supports, or one GNU parallel has and jr refuses (`why` says so).
struct Replacement {
  enum class Kind : std::uint8_t { None, Value, Sequence, Slot, Refused } kind = Kind::None;
  PathTransform transform = PathTransform::Whole;
  std::size_t source = 0;
  std::string why;
};

constexpr const char* kSupported = "{} {.} {/} {//} {/.} {#} {%} {N} {N.} {N/} {N//} {N/.}";

std::optional<PathTransform> path_transform(std::string_view suffix) {
  if (suffix.empty()) return PathTransform::Whole;
  if (suffix == ".") return PathTransform::NoExtension;
  if (suffix == "/") return PathTransform::Basename;
  if (suffix == "//") return PathTransform::Dirname;
  if (suffix == "/.") return PathTransform::BasenameNoExtension;
  return std::nullopt;
}

std::string only_sources(std::size_t source_count) {
  return std::string(source_count == 1 ? "there is only " : "there are only ") +
         counted(static_cast<std::int64_t>(source_count), "input source");
}

// GNU parallel's shape: an optional position (N, or -N counting from the last source), then
// only characters of # % . / +. Anything else ({print $1}, {a,b}, {1..5}) is not one.
Replacement classify(std::string_view name, std::size_t source_count) {
  Replacement r;
  const std::size_t digits_at = !name.empty() && name[0] == '-' ? 1 : 0;
  std::size_t rest = digits_at;
  while (rest < name.size() && name[rest] >= '0' && name[rest] <= '9') ++rest;
  const bool positional = rest > digits_at;
  if (digits_at == 1 && !positional) return r;
  const std::string_view suffix = name.substr(rest);
  if (suffix.find_first_not_of("#%./+") != std::string_view::npos) return r;

  const std::string text = "{" + std::string(name) + "}";
  const auto transform = path_transform(suffix);
  r.kind = Replacement::Kind::Refused;
  if (!positional && suffix == "#") {
    r.kind = Replacement::Kind::Sequence;
  } else if (!positional && suffix == "%") {
    r.kind = Replacement::Kind::Slot;
  } else if (!transform) {
    r.why = text + " is not a replacement string jr supports; jr has " + kSupported;
  } else if (!positional) {
    r.kind = Replacement::Kind::Value;
    r.transform = *transform;
  } else {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(name.data() + digits_at, name.data() + rest, n);
    if (ec == std::errc{} && n == 0) {
      r.why = text + ": input sources are numbered from 1";
    } else if (ec != std::errc{} || n > source_count) {
      r.why = text + ": " + only_sources(source_count);
    } else {
      r.kind = Replacement::Kind::Value;
      r.transform = *transform;
      r.source = digits_at == 1 ? source_count + 1 - n : n;
    }
  }
  return r;
}

// The end of a perl expression {= … =} or {N= … =} starting at `open`, if one starts there.
std::optional<std::size_t> perl_expression_end(std::string_view word, std::size_t open) {
  std::size_t at = open + 1;
  if (at < word.size() && word[at] == '-') ++at;
  while (at < word.size() && word[at] >= '0' && word[at] <= '9') ++at;
  if (at >= word.size() || word[at] != '=') return std::nullopt;
  const std::size_t close = word.find("=}", at + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return close + 2;
}

// Plain open/read rather than ifstream, so that the error names the real cause: ifstream opens a
// directory without complaint and loses errno on the way.
Result<std::vector<std::string>> read_input_file(const std::string& path) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int error = fd < 0 ? errno : 0;
  std::string text;
  char buffer[64 * 1024];
  while (error == 0) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      error = errno;
    }
  }
  if (fd >= 0 && !is_stdin) ::close(fd);
  if (error != 0) {
    return make_error(ErrorCode::Usage,
                      "cannot read input file " + path + ": " + std::strerror(error));
  }
  return split_input_lines(text);
}

// GNU parallel's {.}: s:\.[^/.]*$:: — only a dot in the last path component starts an extension.
std::string_view remove_extension(std::string_view s) {
  const std::size_t dot = s.rfind('.');
  const std::size_t slash = s.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && slash > dot)) return s;
  return s.substr(0, dot);
}

std::string_view basename(std::string_view s) {
  const std::size_t slash = s.rfind('/');
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}

// GNU parallel's {//} is Perl's File::Basename::dirname, which differs from POSIX dirname(1) on
// trailing slashes: dirname("/a/b/") is "/a" and dirname("a/b/") is "a".
std::string_view dirname(std::string_view s) {
  const auto split = [](std::string_view path) -> std::pair<std::string_view, std::string_view> {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return {"./", path};
    return {path.substr(0, slash + 1), path.substr(slash + 1)};
  };
  const auto strip_trailing_slashes = [](std::string_view dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
    return dir;
  };
  auto [dir, base] = split(s);
  dir = strip_trailing_slashes(dir);
  if (base.empty()) {
    std::tie(dir, base) = split(dir);
    dir = strip_trailing_slashes(dir);
  }
  return dir;
}

bool is_shell_safe(char c) {
  // '=' and '~' are left out: `a=b` as the first word is an assignment, `~x` a home directory.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_@%+:,./-").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<std::string> split_input_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    start = end + 1;
  }
  return lines;
}

Result<CommandLine> parse_command_line(const std::vector<std::string>& words) {
  CommandLine line;
  std::size_t i = 0;
  for (; i < words.size() && !is_separator(words[i]); ++i) line.command.push_back(words[i]);
  if (line.command.empty()) return make_error(ErrorCode::Usage, "no command given");

  while (i < words.size()) {
    const std::string& separator = words[i++];
    const bool linked = separator == kLinkedArgs || separator == kLinkedFiles;
    if (linked && line.sources.empty()) {
      return make_error(ErrorCode::Usage, "'" + separator + "' links to the source before it, and there is none");
    }
    const std::size_t first = i;
    while (i < words.size() && !is_separator(words[i])) ++i;
    if (separator == kArgs || separator == kLinkedArgs) {
      if (first == i) return make_error(ErrorCode::Usage, "'" + separator + "' needs at least one argument");
      line.sources.emplace_back(words.begin() + first, words.begin() + i);
      line.linked.push_back(linked);
      continue;
    }
    if (first == i) return make_error(ErrorCode::Usage, "'" + separator + "' needs a file name");
    for (std::size_t f = first; f < i; ++f) {
      auto lines = read_input_file(words[f]);
      if (!lines) return lines.error();
      line.sources.push_back(std::move(lines).value());
      line.linked.push_back(linked);
    }
  }
  // --link never makes more combinations than the product of :::+'s groups.
  if (!combination_count(group_sources(line.sources, Linking{line.linked, false}))) {
    return make_error(ErrorCode::Usage, "the input sources have 2^64 or more combinations");
  }
  return line;
}

Status check_template(const std::vector<std::string>& command, std::size_t source_count) {
  if (source_count == 0) return {};
  for (const std::string& word : command) {
    for (std::size_t open = word.find('{'); open != std::string::npos; open = word.find('{', open + 1)) {
      if (auto end = perl_expression_end(word, open)) {
        return make_error(ErrorCode::Usage, word.substr(open, *end - open) +
                                                ": perl expressions are not supported by jr; compute the "
                                                "value in a shell command (--shell) or in the inputs");
      }
      const std::size_t close = word.find('}', open + 1);
      if (close == std::string::npos) break;
      Replacement r = classify(std::string_view(word).substr(open + 1, close - open - 1), source_count);
      if (r.kind == Replacement::Kind::Refused) return make_error(ErrorCode::Usage, r.why);
    }
  }
  return {};
}

TaskExpander::TaskExpander(std::vector<std::string> command,
                           std::vector<std::vector<std::string>> sources, bool shell, Linking linking)
    : sources_(std::move(sources)), groups_(group_sources(sources_, linking)), shell_(shell) {
  const auto count = combination_count(groups_);
  assert(count.has_value());
  size_ = count.value_or(0);
  for (const std::string& word : command) {
    // {out} (a declared output) counts as a replacement string: a command that writes {out}
    // does not get its inputs appended.
    words_.push_back(parse_word(word, sources_.size()));
    for (const Piece& piece : words_.back()) {
      has_replacement_ = has_replacement_ || piece.kind != Piece::Kind::Literal;
      uses_slot_ = uses_slot_ || piece.kind == Piece::Kind::Slot;
    }
  }
}

std::vector<TaskExpander::Piece> TaskExpander::parse_word(std::string_view word,
                                                          std::size_t source_count) {
  const auto literal_piece = [](std::string text) {
    return Piece{Piece::Kind::Literal, PathTransform::Whole, 0, std::move(text)};
  };
  std::vector<Piece> pieces;
  std::string literal;
  const auto flush_literal = [&] {
    if (!literal.empty()) pieces.push_back(literal_piece(std::move(literal)));
    literal.clear();
  };
  std::size_t pos = 0;
  while (pos < word.size()) {
    if (word.compare(pos, 5, "{out}") == 0) {
      flush_literal();
      pieces.push_back(Piece{Piece::Kind::Out, PathTransform::Whole, 0, {}});
      pos += 5;
      continue;
    }
    // Without sources the command runs as written: `find . -exec rm {} ;` keeps its braces.
    if (word[pos] == '{' && source_count > 0) {
      const std::size_t close = word.find('}', pos + 1);
      if (close != std::string_view::npos) {
        const Replacement r = classify(word.substr(pos + 1, close - pos - 1), source_count);
        std::optional<Piece> piece;
        switch (r.kind) {
          case Replacement::Kind::Value: piece = Piece{Piece::Kind::Value, r.transform, r.source, {}}; break;
          case Replacement::Kind::Sequence: piece = Piece{Piece::Kind::Sequence, PathTransform::Whole, 0, {}}; break;
          case Replacement::Kind::Slot: piece = Piece{Piece::Kind::Slot, PathTransform::Whole, 0, {}}; break;
          case Replacement::Kind::None:
          case Replacement::Kind::Refused: break;
        }
        if (piece) {
          flush_literal();
          pieces.push_back(std::move(*piece));
          pos = close + 1;
          continue;
        }
      }
    }
    literal += word[pos++];
  }
  flush_literal();
  return pieces;
}

void TaskExpander::append_value(std::vector<std::string>& words, const Piece& piece,
                                const std::vector<const std::string*>& values) const {
  const auto append_one = [&](const std::string& value) {
    std::string_view v = value;
    switch (piece.transform) {
      case PathTransform::Whole: break;
      case PathTransform::NoExtension: v = remove_extension(v); break;
      case PathTransform::Basename: v = basename(v); break;
      case PathTransform::Dirname: v = dirname(v); break;
      case PathTransform::BasenameNoExtension: v = remove_extension(basename(v)); break;
    }
    if (shell_) words.back() += shell_quote(v);
    else words.back() += v;
  };
  if (piece.source != 0) return append_one(*values[piece.source - 1]);
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (k > 0 && shell_) words.back() += ' ';
    if (k > 0 && !shell_) words.emplace_back();
    append_one(*values[k]);
  }
}

std::vector<const std::string*> TaskExpander::values_of(std::uint64_t i) const {
  assert(i < size_);
  // Mixed-radix digits of i over the groups, the last group being the fastest-varying digit.
  std::vector<const std::string*> values(sources_.size());
  std::uint64_t rest = i;
  for (std::size_t g = groups_.size(); g-- > 0;) {
    const SourceGroup& group = groups_[g];
    const std::uint64_t at = rest % group.length;
    rest /= group.length;
    for (std::size_t k = group.first; k < group.first + group.count; ++k) {
      values[k] = &sources_[k][at % sources_[k].size()];
    }
  }
  return values;
}

std::string TaskExpander::arguments(std::uint64_t i) const {
  std::vector<const std::string*> values = values_of(i);
  std::string out;
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (k > 0) out += ' ';
    out += *values[k];
  }
  return out;
}

std::vector<std::string> TaskExpander::expand(std::uint64_t i, const std::string* out) const {
  std::vector<const std::string*> values = values_of(i);
  std::vector<std::string> words;
  words.reserve(words_.size() + (has_replacement_ ? 0 : values.size()));
  for (const std::vector<Piece>& pieces : words_) {
    words.emplace_back();
    for (const Piece& piece : pieces) {
      switch (piece.kind) {
        case Piece::Kind::Literal: words.back() += piece.text; break;
        case Piece::Kind::Sequence: words.back() += std::to_string(i + 1); break;
        case Piece::Kind::Slot: words.back() += "{%}"; break;
        case Piece::Kind::Out: words.back() += !out ? std::string("{out}") : shell_ ? shell_quote(*out) : *out; break;
        case Piece::Kind::Value: append_value(words, piece, values); break;
      }
    }
  }
  if (!has_replacement_) {
    for (const std::string* value : values) words.push_back(shell_ ? shell_quote(*value) : *value);
  }
  if (!shell_) return words;

  std::string line;
  for (std::size_t k = 0; k < words.size(); ++k) {
    if (k > 0) line += ' ';
    line += words[k];
  }
  return {"/bin/sh", "-c", std::move(line)};
}

std::vector<std::string> with_slot(std::vector<std::string> argv, int slot) {
  const std::string number = std::to_string(slot);
  for (std::string& word : argv) {
    for (auto pos = word.find("{%}"); pos != std::string::npos; pos = word.find("{%}", pos + number.size())) {
      word.replace(pos, 3, number);
    }
  }
  return argv;
}

std::string shell_quote(std::string_view s) {
  bool safe = !s.empty();
  for (char c : s) safe = safe && is_shell_safe(c);
  if (safe) return std::string(s);
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\'') quoted += "'\\''";
    else quoted += c;
  }
  quoted += '\'';
  return quoted;
}

}  // namespace jr
