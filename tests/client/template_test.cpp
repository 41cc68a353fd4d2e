#include "job/template.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace jr {
namespace {

using Words = std::vector<std::string>;
using Sources = std::vector<std::vector<std::string>>;

// A file in a fresh directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char pattern[] = "/tmp/jr_template_test.XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ + "/input.txt";
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

Words all_tasks(const TaskExpander& expander) {
  Words lines;
  for (std::uint64_t i = 0; i < expander.size(); ++i) {
    std::string line;
    for (const std::string& word : expander.expand(i)) line += "[" + word + "]";
    lines.push_back(line);
  }
  return lines;
}

Words expand_one(Words command, Sources sources, bool shell = false) {
  return TaskExpander(std::move(command), std::move(sources), shell).expand(0);
}

void expect_usage_error(const Words& words, const std::string& message) {
  auto line = parse_command_line(words);
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.error().code, ErrorCode::Usage);
  EXPECT_EQ(line.error().message, message);
}

TEST(ParseCommandLine, CommandAloneHasNoSources) {
  auto line = parse_command_line({"echo", "{}", "hi"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->command, (Words{"echo", "{}", "hi"}));
  EXPECT_TRUE(line->sources.empty());
}

TEST(ParseCommandLine, EachSeparatorStartsASource) {
  auto line = parse_command_line({"cmd", "-x", ":::", "a", "b", "c", ":::", "", "y"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->command, (Words{"cmd", "-x"}));
  EXPECT_EQ(line->sources, (Sources{{"a", "b", "c"}, {"", "y"}}));
}

TEST(ParseCommandLine, FileSourceHasOneInputPerLine) {
  TempFile file("one\r\n\ntwo words\nlast");
  auto line = parse_command_line({"cmd", ":::", "a", "::::", file.path()});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->sources, (Sources{{"a"}, {"one", "", "two words", "last"}}));
}

TEST(ParseCommandLine, EachFileIsItsOwnSource) {
  TempFile first("1\n2\n");
  TempFile second("x\n\n");
  auto line = parse_command_line({"cmd", "::::", first.path(), second.path()});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->sources, (Sources{{"1", "2"}, {"x", ""}}));
}

TEST(ParseCommandLine, EmptyFileIsAnEmptySource) {
  TempFile file("");
  auto line = parse_command_line({"cmd", "::::", file.path()});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->sources, (Sources{{}}));
}

TEST(ParseCommandLine, DashReadsStandardInput) {
  TempFile file("from\nstdin\n");
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(file.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, STDIN_FILENO);
  ::close(fd);
  auto line = parse_command_line({"cmd", "::::", "-"});
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->sources, (Sources{{"from", "stdin"}}));
}

TEST(ParseCommandLine, RejectsMissingCommand) {
  expect_usage_error({}, "no command given");
  expect_usage_error({":::", "a"}, "no command given");
  expect_usage_error({"::::", "f"}, "no command given");
}

TEST(ParseCommandLine, RejectsArgsSeparatorWithoutArguments) {
  expect_usage_error({"cmd", ":::"}, "':::' needs at least one argument");
  expect_usage_error({"cmd", ":::", ":::", "a"}, "':::' needs at least one argument");
}

TEST(ParseCommandLine, RejectsFilesSeparatorWithoutFile) {
  expect_usage_error({"cmd", "::::"}, "'::::' needs a file name");
  expect_usage_error({"cmd", "::::", ":::", "a"}, "'::::' needs a file name");
}

TEST(ParseCommandLine, RejectsUnreadableFiles) {
  TempFile file("");
  const std::string missing = file.dir() + "/missing";
  expect_usage_error({"cmd", "::::", missing},
                     "cannot read input file " + missing + ": " + std::strerror(ENOENT));
  expect_usage_error({"cmd", "::::", file.dir()},
                     "cannot read input file " + file.dir() + ": " + std::strerror(EISDIR));
}

TEST(ParseCommandLine, RejectsTooManyCombinations) {
  Words words{"cmd"};
  for (int k = 0; k < 63; ++k) words.insert(words.end(), {":::", "0", "1"});
  EXPECT_TRUE(parse_command_line(words).ok());
  words.insert(words.end(), {":::", "0", "1"});
  expect_usage_error(words, "the input sources have 2^64 or more combinations");
}

TEST(TaskExpander, OutIsPutInInTheSamePassAsTheValues) {
  std::string out = "/d/.a b.res.jr-partial";
  TaskExpander argv({"cp", "{}", "{out}"}, {{"x{out}"}}, false);
  EXPECT_EQ(argv.expand(0, &out), (Words{"cp", "x{out}", out}));
  TaskExpander shell({"cp", "{}", "{out}"}, {{"x{out}$(y)"}}, true);
  EXPECT_EQ(shell.expand(0, &out), (Words{"/bin/sh", "-c", "cp 'x{out}$(y)' '/d/.a b.res.jr-partial'"}));
  EXPECT_EQ(argv.expand(0), (Words{"cp", "x{out}", "{out}"})) << "with no output declared, {out} stays as written";
  TaskExpander no_sources({"touch", "{out}"}, {}, false);
  EXPECT_EQ(no_sources.expand(0, &out), (Words{"touch", out}));
}

TEST(TaskExpander, NoSourcesRunsTheCommandOnceAsWritten) {
  TaskExpander expander({"find", ".", "-exec", "rm", "{}", "{#}", ";"}, {}, false);
  EXPECT_EQ(expander.size(), 1u);
  EXPECT_EQ(expander.expand(0), (Words{"find", ".", "-exec", "rm", "{}", "{#}", ";"}));
  EXPECT_EQ(expand_one({"echo", "{} | wc"}, {}, true), (Words{"/bin/sh", "-c", "echo {} | wc"}));
}

TEST(TaskExpander, EachReplacementString) {
  EXPECT_EQ(expand_one({"{}", "{.}", "{/}", "{//}", "{/.}", "{#}"}, {{"dir/sub/file.tar.gz"}}),
            (Words{"dir/sub/file.tar.gz", "dir/sub/file.tar", "file.tar.gz", "dir/sub",
                   "file.tar", "1"}));
}

// Expected values are what GNU parallel 20221122 prints for {.} {/} {//} {/.}.
TEST(TaskExpander, PathTransformsMatchGnuParallel) {
  const std::vector<std::pair<std::string, Words>> cases = {
      {"a.txt", {"a", "a.txt", ".", "a"}},
      {"dir.x/file", {"dir.x/file", "file", "dir.x", "file"}},
      {"a.tar.gz", {"a.tar", "a.tar.gz", ".", "a.tar"}},
      {"/a", {"/a", "a", "/", "a"}},
      {"/a/b/", {"/a/b/", "", "/a", ""}},
      {"a/b/", {"a/b/", "", "a", ""}},
      {".bashrc", {"", ".bashrc", ".", ""}},
      {"dir/.bashrc", {"dir/", ".bashrc", "dir", ""}},
      {"a.", {"a", "a.", ".", "a"}},
      {"", {"", "", ".", ""}},
      {"/", {"/", "", "/", ""}},
      {"a/b.c/d.e", {"a/b.c/d", "d.e", "a/b.c", "d"}},
      {"//x", {"//x", "x", "/", "x"}},
      {"a//b", {"a//b", "b", "a", "b"}},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(expand_one({"{.}", "{/}", "{//}", "{/.}"}, {{input}}), expected) << input;
  }
}

TEST(TaskExpander, SequenceNumberIsOneBased) {
  TaskExpander expander({"echo", "{#}:{}"}, {{"a", "b", "c"}}, false);
  EXPECT_EQ(all_tasks(expander), (Words{"[echo][1:a]", "[echo][2:b]", "[echo][3:c]"}));
}

TEST(TaskExpander, FirstSourceVariesSlowest) {
  TaskExpander expander({"echo", "{1}", "{2}"}, {{"a", "b"}, {"1", "2", "3"}}, false);
  EXPECT_EQ(expander.size(), 6u);
  EXPECT_EQ(all_tasks(expander), (Words{"[echo][a][1]", "[echo][a][2]", "[echo][a][3]",
                                        "[echo][b][1]", "[echo][b][2]", "[echo][b][3]"}));
}

TEST(TaskExpander, PositionalReplacementsPickTheirSource) {
  EXPECT_EQ(expand_one({"{2}", "{1}", "{2.}", "{1/}", "{1//}", "{2/.}"}, {{"d/x.c"}, {"e/y.o"}}),
            (Words{"e/y.o", "d/x.c", "e/y", "x.c", "d", "y"}));
}

// As the shell splits GNU parallel's line: one word per value, the word's text around them
// going to the first and the last.
TEST(TaskExpander, BracesWithSeveralSourcesAreAWordPerValue) {
  EXPECT_EQ(expand_one({"{}", "{.}", "{/}", "pre{}post"}, {{"d/a.x"}, {"e/b.y"}}),
            (Words{"d/a.x", "e/b.y", "d/a", "e/b", "a.x", "b.y", "pred/a.x", "e/b.ypost"}));
  EXPECT_EQ(expand_one({"x{}y"}, {{"a b"}, {""}, {"c"}}), (Words{"xa b", "", "cy"}));
}

TEST(TaskExpander, ReplacesInsideAWord) {
  EXPECT_EQ(expand_one({"convert", "{}", "out/{/.}.png", "--n={#}{#}"}, {{"in/cat.jpg"}}),
            (Words{"convert", "in/cat.jpg", "out/cat.png", "--n=11"}));
}

TEST(TaskExpander, AppendsOneWordPerSourceWithoutReplacementStrings) {
  TaskExpander expander({"echo", "x"}, {{"a b", "c"}, {"1"}}, false);
  EXPECT_EQ(all_tasks(expander), (Words{"[echo][x][a b][1]", "[echo][x][c][1]"}));
}

TEST(TaskExpander, SequenceNumberAloneStopsAppending) {
  EXPECT_EQ(expand_one({"echo", "{#}"}, {{"a"}}), (Words{"echo", "1"}));
}

TEST(TaskExpander, OtherBracesStayLiteral) {
  EXPECT_EQ(expand_one({"{foo}", "{", "}{", "{1x}", "{ }", "{1..3}", "{a,b}", "{-}"}, {{"a"}, {"b"}}),
            (Words{"{foo}", "{", "}{", "{1x}", "{ }", "{1..3}", "{a,b}", "{-}", "a", "b"}));
  EXPECT_EQ(expand_one({"awk", "{print}"}, {{"f"}}), (Words{"awk", "{print}", "f"}));
}

TEST(TaskExpander, NegativePositionsCountFromTheLastSource) {
  EXPECT_EQ(expand_one({"{-1}", "{-2/}", "{-3.}"}, {{"a.x"}, {"d/b"}, {"c"}}), (Words{"c", "b", "a"}));
}

TEST(TaskExpander, SlotStaysForTheEngineAndStopsAppending) {
  TaskExpander expander({"echo", "{%}", "s{%}"}, {{"a"}}, false);
  EXPECT_TRUE(expander.uses_slot());
  EXPECT_EQ(expander.expand(0), (Words{"echo", "{%}", "s{%}"}));
  EXPECT_EQ(with_slot(expander.expand(0), 12), (Words{"echo", "12", "s12"}));
  EXPECT_FALSE(TaskExpander({"echo", "{}"}, {{"a"}}, false).uses_slot());
  EXPECT_EQ(with_slot({"{%}{%}", "%{}"}, 3), (Words{"33", "%{}"}));
}

TEST(TaskExpander, LinkedSourcesStopAtTheShortest) {
  auto line = parse_command_line({"e", ":::", "a", "b", "c", ":::+", "1", "2", ":::", "x", "y"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->linked, (std::vector<bool>{false, true, false}));
  TaskExpander expander(line->command, line->sources, false, Linking{line->linked, false});
  EXPECT_EQ(all_tasks(expander), (Words{"[e][a][1][x]", "[e][a][1][y]", "[e][b][2][x]", "[e][b][2][y]"}));
}

TEST(TaskExpander, LinkAllWrapsTheShorterSources) {
  TaskExpander expander({"e"}, {{"a", "b", "c"}, {"1", "2"}, {"x"}}, false, Linking{{}, true});
  EXPECT_EQ(all_tasks(expander), (Words{"[e][a][1][x]", "[e][b][2][x]", "[e][c][1][x]"}));
  EXPECT_EQ(TaskExpander({"e"}, {{"a"}, {}}, false, Linking{{}, true}).size(), 0u);
}

TEST(ParseCommandLine, LinkedFileSource) {
  TempFile file("p\nq\n");
  auto line = parse_command_line({"cmd", ":::", "a", "b", "::::+", file.path()});
  ASSERT_TRUE(line.ok());
  TaskExpander expander(line->command, line->sources, false, Linking{line->linked, false});
  EXPECT_EQ(all_tasks(expander), (Words{"[cmd][a][p]", "[cmd][b][q]"}));
}

TEST(ParseCommandLine, RejectsALinkToNothing) {
  expect_usage_error({"cmd", ":::+", "a"}, "':::+' links to the source before it, and there is none");
}

void expect_refused(const Words& command, std::size_t sources, const std::string& message) {
  auto st = check_template(command, sources);
  ASSERT_FALSE(st.ok()) << command.back();
  EXPECT_EQ(st.error().code, ErrorCode::Usage);
  EXPECT_EQ(st.error().message, message);
}

TEST(CheckTemplate, RefusesWhatJrDoesNotSupport) {
  expect_refused({"echo", "{3}"}, 2, "{3}: there are only 2 input sources");
  expect_refused({"echo", "x{-2}"}, 1, "{-2}: there is only 1 input source");
  expect_refused({"echo", "{0}"}, 1, "{0}: input sources are numbered from 1");
  expect_refused({"echo", "{= s/a/b/ =}"}, 1,
                 "{= s/a/b/ =}: perl expressions are not supported by jr; compute the value in a shell "
                 "command (--shell) or in the inputs");
  expect_refused({"echo", "a{2= $_ =}b"}, 2,
                 "{2= $_ =}: perl expressions are not supported by jr; compute the value in a shell "
                 "command (--shell) or in the inputs");
  for (const std::string s : {"{##}", "{0#}", "{0%}", "{..}", "{+/}", "{1#}", "{...}", "{/..}"}) {
    expect_refused({"echo", s}, 1,
                   s + " is not a replacement string jr supports; jr has {} {.} {/} {//} {/.} {#} {%} {N} {N.} "
                       "{N/} {N//} {N/.}");
  }
}

TEST(CheckTemplate, AcceptsWhatJrSupportsAndLiteralBraces) {
  EXPECT_TRUE(check_template({"c", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{2}", "{-1/.}", "{1//}"}, 2).ok());
  EXPECT_TRUE(check_template({"awk", "{print $1}", "{a,b}", "{1..5}", "${#x}", "{=}"}, 1).ok());
  // Without sources the command runs as written.
  EXPECT_TRUE(check_template({"find", ".", "-exec", "{3}", "{= x =}", ";"}, 0).ok());
}

TEST(SplitInputLines, OneInputPerLine) {
  EXPECT_EQ(split_input_lines("a\r\n\nb"), (Words{"a", "", "b"}));
  EXPECT_EQ(split_input_lines(""), Words{});
}

TEST(TaskExpander, EmptyValueIsAnEmptyWord) {
  EXPECT_EQ(expand_one({"echo", "{}", "<{}>"}, {{""}}), (Words{"echo", "", "<>"}));
  EXPECT_EQ(expand_one({"echo"}, {{""}}), (Words{"echo", ""}));
  EXPECT_EQ(expand_one({"echo", "{}"}, {{""}}, true), (Words{"/bin/sh", "-c", "echo ''"}));
}

TEST(TaskExpander, EmptySourceMeansNoTasks) {
  EXPECT_EQ(TaskExpander({"echo"}, {{"a", "b"}, {}}, false).size(), 0u);
  EXPECT_EQ(TaskExpander({"echo"}, {{}}, true).size(), 0u);
}

TEST(TaskExpander, BuildsAnyTaskOfAHugeProductDirectly) {
  std::vector<std::string> thousand;
  for (int k = 0; k < 1000; ++k) thousand.push_back(std::to_string(k));
  TaskExpander expander({"f", "{#}", "{1}", "{2}", "{3}"}, {thousand, thousand, thousand}, false);
  EXPECT_EQ(expander.size(), 1'000'000'000u);
  EXPECT_EQ(expander.expand(123'456'789), (Words{"f", "123456790", "123", "456", "789"}));
  EXPECT_EQ(expander.expand(999'999'999), (Words{"f", "1000000000", "999", "999", "999"}));
}

TEST(TaskExpander, ShellModeQuotesValuesButNotTheTemplate) {
  TaskExpander expander({"echo {} | wc -c", ">", "out/{/.}.{#}"},
                        {{"a b/it's.txt", "$HOME", "plain.txt"}}, true);
  EXPECT_EQ(all_tasks(expander),
            (Words{"[/bin/sh][-c][echo 'a b/it'\\''s.txt' | wc -c > out/'it'\\''s'.1]",
                   "[/bin/sh][-c][echo '$HOME' | wc -c > out/'$HOME'.2]",
                   "[/bin/sh][-c][echo plain.txt | wc -c > out/plain.3]"}));
}

TEST(TaskExpander, ShellModeQuotesEachJoinedValue) {
  EXPECT_EQ(expand_one({"echo", "pre{}post"}, {{"a b"}, {"c"}}, true),
            (Words{"/bin/sh", "-c", "echo pre'a b' cpost"}));
}

TEST(TaskExpander, ShellModeQuotesAppendedInputs) {
  EXPECT_EQ(expand_one({"grep", "-c"}, {{"x y"}, {"`rm`"}}, true),
            (Words{"/bin/sh", "-c", "grep -c 'x y' '`rm`'"}));
}

// The real test of quoting: sh must hand the value back byte for byte.
TEST(TaskExpander, ShellModeValuesSurviveTheShell) {
  const Words values = {"a b", "it's", "$HOME", "\"q\"", "`id`", "*", "a\\b", "x\ny", "~", "a=b",
                        "-n", "'", "''", "$(echo no)", "!;&|<>", "tab\there", "ü"};
  for (const std::string& value : values) {
    const Words argv = expand_one({"printf", "%s", "{}"}, {{value}}, true);
    ASSERT_EQ(argv.size(), 3u);
    FILE* shell = ::popen(argv[2].c_str(), "r");
    ASSERT_NE(shell, nullptr);
    std::string output;
    char buffer[256];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, shell)) > 0;) {
      output.append(buffer, n);
    }
    EXPECT_EQ(::pclose(shell), 0) << argv[2];
    EXPECT_EQ(output, value) << argv[2];
  }
}

TEST(ShellQuote, LeavesSafeWordsAlone) {
  EXPECT_EQ(shell_quote("plain-1.2/x_y:z,@%+"), "plain-1.2/x_y:z,@%+");
}

TEST(ShellQuote, QuotesEverythingElse) {
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$x"), "'$x'");
  EXPECT_EQ(shell_quote("a=b"), "'a=b'");
  EXPECT_EQ(shell_quote("~"), "'~'");
}

}  // namespace
}  // namespace jr
