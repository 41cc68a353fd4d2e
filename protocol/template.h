// Command templates in the style of GNU parallel: `CMD ARGS… ::: A B ::: X Y :::: FILE`.
//
// parse_command_line splits the words after `jr run [options] --` into a template and its input
// sources; every malformed line is a Usage error, never an exception. TaskExpander builds the
// i-th task of the cartesian product of the sources on demand (the first source varies slowest),
// so a job of a billion combinations never holds them in memory. Replacement strings follow GNU
// parallel ({} {.} {/} {//} {/.} {#} {N} {N.} {N/} {N//} {N/.}); any other brace group stays
// literal. A const TaskExpander may be used from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace jr {

// The words after `jr run [options] --`: a command template, then input sources.
struct CommandLine {
  std::vector<std::string> command;               // template words, before the first ::: / ::::
  std::vector<std::vector<std::string>> sources;  // one per ::: group and one per :::: file
};

// `::: A B` is one source; `:::: F G` makes one source of each file, one input per line ("-" is
// stdin; a trailing '\r' is stripped, empty lines are kept as empty inputs). No ::: at all is
// valid: sources is empty and the command runs once, as written. Guarantees the product of the
// source sizes fits in 64 bits.
Result<CommandLine> parse_command_line(const std::vector<std::string>& words);

class TaskExpander {
 public:
  // REQUIRES: the product of the source sizes fits in 64 bits (parse_command_line checks it).
  TaskExpander(std::vector<std::string> command, std::vector<std::vector<std::string>> sources,
               bool shell);

  // The product of the source sizes: 1 with no sources, 0 if any source is empty.
  std::uint64_t size() const { return size_; }

  // The argv of task i (0-based; {#} is i+1). Argv mode: one word per template word, values
  // inserted raw. Shell mode: {"/bin/sh", "-c", LINE}, LINE being the template words joined by
  // spaces, unquoted (so pipes work), with every substituted value shell_quote'd.
  // With no sources the command is returned as written. When the template holds no replacement
  // string ({out} counts as one), the inputs are appended, one word per source. REQUIRES: i < size().
  std::vector<std::string> expand(std::uint64_t i) const;
  // The inputs of task i joined by spaces, as GNU parallel's --tag prints them. REQUIRES: i < size().
  std::string arguments(std::uint64_t i) const;

 private:
  enum class Transform : std::uint8_t {
    Whole, NoExtension, Basename, Dirname, BasenameNoExtension
  };
  // A run of literal text, {#}, or a transform of one source's value.
  struct Piece {
    enum class Kind : std::uint8_t { Literal, Sequence, Value } kind = Kind::Literal;
    Transform transform = Transform::Whole;
    std::size_t source = 0;  // 1-based; 0 is {} and friends: every source, joined by spaces
    std::string text;        // Literal only
  };

  // Task i's value of each source: mixed-radix digits of i, the last source varying fastest.
  std::vector<const std::string*> values_of(std::uint64_t i) const;
  static std::vector<Piece> parse_word(std::string_view word, std::size_t source_count);
  void append_value(std::string& out, const Piece& piece,
                    const std::vector<const std::string*>& values) const;

  std::vector<std::vector<Piece>> words_;
  std::vector<std::vector<std::string>> sources_;
  bool shell_;
  bool has_replacement_ = false;
  std::uint64_t size_ = 1;
};

// Quotes s for POSIX sh so that it is one word: a word of safe characters stays as is,
// anything else is single-quoted with ' written as '\''.
std::string shell_quote(std::string_view s);

}  // namespace jr
