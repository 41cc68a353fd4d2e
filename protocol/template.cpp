#include "protocol/template.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

namespace jr {
namespace {

constexpr std::string_view kArgs = ":::";
constexpr std::string_view kFiles = "::::";

bool is_separator(std::string_view word) { return word == kArgs || word == kFiles; }

std::optional<std::uint64_t> combination_count(
    const std::vector<std::vector<std::string>>& sources) {
  std::uint64_t count = 1;
  for (const auto& source : sources) {
    if (__builtin_mul_overflow(count, source.size(), &count)) return std::nullopt;
  }
  return count;
}

std::vector<std::string> split_lines(std::string_view text) {
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
  return split_lines(text);
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

Result<CommandLine> parse_command_line(const std::vector<std::string>& words) {
  CommandLine line;
  std::size_t i = 0;
  for (; i < words.size() && !is_separator(words[i]); ++i) line.command.push_back(words[i]);
  if (line.command.empty()) return make_error(ErrorCode::Usage, "no command given");

  while (i < words.size()) {
    const std::string& separator = words[i++];
    const std::size_t first = i;
    while (i < words.size() && !is_separator(words[i])) ++i;
    if (separator == kArgs) {
      if (first == i) return make_error(ErrorCode::Usage, "':::' needs at least one argument");
      line.sources.emplace_back(words.begin() + first, words.begin() + i);
      continue;
    }
    if (first == i) return make_error(ErrorCode::Usage, "'::::' needs a file name");
    for (std::size_t f = first; f < i; ++f) {
      auto lines = read_input_file(words[f]);
      if (!lines) return lines.error();
      line.sources.push_back(std::move(lines).value());
    }
  }
  if (!combination_count(line.sources)) {
    return make_error(ErrorCode::Usage, "the input sources have 2^64 or more combinations");
  }
  return line;
}

TaskExpander::TaskExpander(std::vector<std::string> command,
                           std::vector<std::vector<std::string>> sources, bool shell)
    : sources_(std::move(sources)), shell_(shell) {
  const auto count = combination_count(sources_);
  assert(count.has_value());
  size_ = count.value_or(0);
  for (const std::string& word : command) {
    // {out} (a declared output, substituted by jr run after expansion) counts as a
    // replacement string: a command that writes {out} does not get its inputs appended.
    has_replacement_ = has_replacement_ || word.find("{out}") != std::string::npos;
    words_.push_back(parse_word(word, sources_.size()));
    for (const Piece& piece : words_.back()) {
      has_replacement_ = has_replacement_ || piece.kind != Piece::Kind::Literal;
    }
  }
}

std::vector<TaskExpander::Piece> TaskExpander::parse_word(std::string_view word,
                                                          std::size_t source_count) {
  // Returns the replacement named by the text between braces, if it is one.
  const auto parse_replacement = [source_count](std::string_view name) -> std::optional<Piece> {
    if (name == "#") return Piece{Piece::Kind::Sequence, Transform::Whole, 0, {}};
    std::size_t source = 0;
    const auto [rest, ec] = std::from_chars(name.data(), name.data() + name.size(), source);
    if (rest != name.data() && (ec != std::errc{} || source == 0 || source > source_count)) {
      return std::nullopt;
    }
    const std::string_view suffix(rest, static_cast<std::size_t>(name.data() + name.size() - rest));
    Transform transform;
    if (suffix.empty()) transform = Transform::Whole;
    else if (suffix == ".") transform = Transform::NoExtension;
    else if (suffix == "/") transform = Transform::Basename;
    else if (suffix == "//") transform = Transform::Dirname;
    else if (suffix == "/.") transform = Transform::BasenameNoExtension;
    else return std::nullopt;
    return Piece{Piece::Kind::Value, transform, source, {}};
  };

  const auto literal_piece = [](std::string text) {
    return Piece{Piece::Kind::Literal, Transform::Whole, 0, std::move(text)};
  };
  // Without sources the command runs as written: `find . -exec rm {} ;` keeps its braces.
  if (source_count == 0) return {literal_piece(std::string(word))};

  std::vector<Piece> pieces;
  std::string literal;
  const auto flush_literal = [&] {
    if (!literal.empty()) pieces.push_back(literal_piece(std::move(literal)));
    literal.clear();
  };
  std::size_t pos = 0;
  while (pos < word.size()) {
    if (word[pos] == '{') {
      const std::size_t close = word.find('}', pos + 1);
      if (close != std::string_view::npos) {
        if (auto piece = parse_replacement(word.substr(pos + 1, close - pos - 1))) {
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

void TaskExpander::append_value(std::string& out, const Piece& piece,
                                const std::vector<const std::string*>& values) const {
  const auto append_one = [&](const std::string& value) {
    std::string_view v = value;
    switch (piece.transform) {
      case Transform::Whole: break;
      case Transform::NoExtension: v = remove_extension(v); break;
      case Transform::Basename: v = basename(v); break;
      case Transform::Dirname: v = dirname(v); break;
      case Transform::BasenameNoExtension: v = remove_extension(basename(v)); break;
    }
    if (shell_) out += shell_quote(v);
    else out += v;
  };
  if (piece.source != 0) return append_one(*values[piece.source - 1]);
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (k > 0) out += ' ';
    append_one(*values[k]);
  }
}

std::vector<const std::string*> TaskExpander::values_of(std::uint64_t i) const {
  assert(i < size_);
  std::vector<const std::string*> values(sources_.size());
  std::uint64_t rest = i;
  for (std::size_t k = sources_.size(); k-- > 0;) {
    values[k] = &sources_[k][rest % sources_[k].size()];
    rest /= sources_[k].size();
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

std::vector<std::string> TaskExpander::expand(std::uint64_t i) const {
  std::vector<const std::string*> values = values_of(i);
  std::vector<std::string> words;
  words.reserve(words_.size() + (has_replacement_ ? 0 : values.size()));
  for (const std::vector<Piece>& pieces : words_) {
    std::string& word = words.emplace_back();
    for (const Piece& piece : pieces) {
      switch (piece.kind) {
        case Piece::Kind::Literal: word += piece.text; break;
        case Piece::Kind::Sequence: word += std::to_string(i + 1); break;
        case Piece::Kind::Value: append_value(word, piece, values); break;
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
