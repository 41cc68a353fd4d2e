// Command templates in the style of GNU parallel: `CMD ARGS… ::: A B :::+ 1 2 ::: X Y :::: FILE`.
//
// parse_command_line splits the words after `jr run [options] --` into a template and its input
// sources; every malformed line is a Usage error, never an exception. TaskExpander builds the
// i-th task of the cartesian product of the sources on demand (the first source varies slowest),
// so a job of a billion combinations never holds them in memory. Linked sources (`:::+`, or
// every source with --link) advance together instead of multiplying. Replacement strings follow
// GNU parallel ({} {.} {/} {//} {/.} {#} {%} {N} {N.} {N/} {N//} {N/.}, N negative counting from
// the last source); check_template refuses any other brace group shaped like one ({= perl =},
// {3} with two sources, {0#}, --plus strings), other brace groups ({print $1}) stay literal.
// A const TaskExpander may be used from several threads at once.
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
  std::vector<bool> linked;  // linked[k]: source k pairs with source k-1 (:::+, ::::+); [0] false
};

// `::: A B` is one source; `:::: F G` makes one source of each file, one input per line ("-" is
// stdin; a trailing '\r' is stripped, empty lines are kept as empty inputs). `:::+` and `::::+`
// link their sources to the one before. No ::: at all is valid: sources is empty and the command
// runs once, as written. Guarantees the number of combinations fits in 64 bits.
Result<CommandLine> parse_command_line(const std::vector<std::string>& words);

// Splits text into inputs, one per line (a trailing '\r' stripped, empty lines kept).
std::vector<std::string> split_input_lines(std::string_view text);

// Usage error, one line, for a brace group of `command` that GNU parallel would read as a
// replacement string and jr does not support: {= perl =}, {N} beyond the sources, {0#}, {##},
// {+/} and the other --plus strings. With no sources the command runs as written: nothing to check.
Status check_template(const std::vector<std::string>& command, std::size_t source_count);

// How sources combine: `linked` as in CommandLine (empty: none linked); `link_all` (--link) pairs
// every source, the shorter ones wrapping around to the length of the longest, where `:::+` stops
// at the shortest of its sources, as in GNU parallel.
struct Linking {
  std::vector<bool> linked;
  bool link_all = false;
};

// What a path-like replacement string does to a value: {} {.} {/} {//} {/.}.
enum class PathTransform : std::uint8_t { Whole, NoExtension, Basename, Dirname, BasenameNoExtension };

// Sources [first, first + count) that advance together, `length` combinations (TaskExpander's).
struct SourceGroup {
  std::size_t first = 0;
  std::size_t count = 0;
  std::uint64_t length = 0;
};

class TaskExpander {
 public:
  // REQUIRES: the number of combinations fits in 64 bits (parse_command_line checks it), and
  // check_template accepted the command (a brace group it would refuse stays literal here).
  TaskExpander(std::vector<std::string> command, std::vector<std::vector<std::string>> sources,
               bool shell, Linking linking = {});

  // The number of combinations: 1 with no sources, 0 if any source is empty.
  std::uint64_t size() const { return size_; }
  // Whether the tasks' argv hold {%}, which the engine replaces by the slot at each start
  // (with_slot): the slot is not known before, and is not part of what a task is.
  bool uses_slot() const { return uses_slot_; }

  // The argv of task i (0-based; {#} is i+1). Argv mode: one word per template word, values
  // inserted raw; {} with several sources is one word per value, as the shell splits GNU
  // parallel's line. Shell mode: {"/bin/sh", "-c", LINE}, LINE being the template words joined
  // by spaces, unquoted (so pipes work), with every substituted value shell_quote'd. {%} stays
  // as written. With no sources the command is returned as written. When the template holds no
  // replacement string ({out} counts as one), the inputs are appended, one word per source.
  // {out} becomes `out` (quoted like a value in shell mode) in the same pass, so that an input
  // holding the text {out} stays what it is; with no `out` it stays as written.
  // REQUIRES: i < size().
  std::vector<std::string> expand(std::uint64_t i, const std::string* out = nullptr) const;
  // The inputs of task i joined by spaces, as GNU parallel's --tag prints them. REQUIRES: i < size().
  std::string arguments(std::uint64_t i) const;

 private:
  // A run of literal text, {#}, {%}, {out}, or a transform of one source's value.
  struct Piece {
    enum class Kind : std::uint8_t { Literal, Sequence, Slot, Out, Value } kind = Kind::Literal;
    PathTransform transform = PathTransform::Whole;
    std::size_t source = 0;  // 1-based; 0 is {} and friends: every source
    std::string text;        // Literal only
  };

  // Task i's value of each source: mixed-radix digits of i, the last source varying fastest.
  std::vector<const std::string*> values_of(std::uint64_t i) const;
  static std::vector<Piece> parse_word(std::string_view word, std::size_t source_count);
  // Appends the piece's value(s) to the last word; with several values in argv mode, each
  // value after the first starts a word of its own.
  void append_value(std::vector<std::string>& words, const Piece& piece,
                    const std::vector<const std::string*>& values) const;

  std::vector<std::vector<Piece>> words_;
  std::vector<std::vector<std::string>> sources_;
  std::vector<SourceGroup> groups_;
  bool shell_;
  bool has_replacement_ = false;
  bool uses_slot_ = false;
  std::uint64_t size_ = 1;
};

// argv with every {%} replaced by the slot, 1-based, as the engine starts a task.
std::vector<std::string> with_slot(std::vector<std::string> argv, int slot);

// Quotes s for POSIX sh so that it is one word: a word of safe characters stays as is,
// anything else is single-quoted with ' written as '\''.
std::string shell_quote(std::string_view s);

}  // namespace jr
