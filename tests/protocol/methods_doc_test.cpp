// docs/protocol.md states the methods and parameters of protocol/methods.h's table, and no
// others: the overview table's method names and parameter lists, and each method section's
// parameter table (name, type, required), compared with the table jrd checks requests against.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/methods.h"
#include "protocol/protocol.h"

namespace jr {
namespace {

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

// The cells of a Markdown table row "| a | b |".
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line.substr(1));
  std::string cell;
  while (std::getline(in, cell, '|')) out.push_back(trim(cell));
  return out;
}

// The `code spans` of a text, in order.
std::vector<std::string> code_spans(const std::string& text) {
  std::vector<std::string> out;
  for (auto open = text.find('`'); open != std::string::npos; open = text.find('`', open)) {
    auto close = text.find('`', open + 1);
    if (close == std::string::npos) break;
    out.push_back(text.substr(open + 1, close - open - 1));
    open = close + 1;
  }
  return out;
}

// One parameter row: "`name`|type|required".
using Rows = std::vector<std::string>;

struct Doc {
  std::map<std::string, Rows> overview;  // method -> its params column's names
  std::vector<std::string> overview_order;
  std::map<std::string, Rows> params;    // method -> its section's parameter rows
  std::map<std::string, int> sections;   // method -> how many sections name it
};

Doc read_doc() {
  std::ifstream in(JR_SOURCE_DIR "/docs/protocol.md");
  EXPECT_TRUE(in.good()) << "cannot read docs/protocol.md";
  Doc doc;
  std::vector<std::string> section_methods;
  enum class Table { None, Overview, Params } table = Table::None;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0) {
      // "### pause and resume" documents two methods.
      section_methods.clear();
      std::stringstream words(line.substr(line.find(' ') + 1));
      for (std::string w; words >> w;) {
        if (line.rfind("### ", 0) == 0 && find_method(w)) {
          section_methods.push_back(w);
          ++doc.sections[w];
          doc.params[w];
        }
      }
      continue;
    }
    if (line.rfind("|", 0) != 0) {
      table = Table::None;
      continue;
    }
    auto row = cells(line);
    if (line == "| method | params | result |") {
      table = Table::Overview;
      continue;
    }
    if (line == "| param | type | required | meaning |") {
      table = Table::Params;
      continue;
    }
    if (row.empty() || row[0].rfind("---", 0) == 0) continue;
    if (table == Table::Overview && row.size() == 3) {
      auto names = code_spans(row[0]);
      std::string method = names.empty() ? row[0] : names[0];
      doc.overview_order.push_back(method);
      doc.overview[method] = row[1] == "—" ? Rows() : code_spans(row[1]);
    } else if (table == Table::Params && row.size() == 4) {
      for (const auto& method : section_methods) doc.params[method].push_back(row[0] + "|" + row[1] + "|" + row[2]);
    }
  }
  return doc;
}

std::string required_cell(const MethodSpec& method, const ParamSpec& param) {
  if (param.required) return "yes";
  std::string pair;
  for (std::string_view name : method.one_of) {
    if (name == param.name) {
      for (std::string_view n : method.one_of) pair += (pair.empty() ? "`" : " or `") + std::string(n) + "`";
      return pair;
    }
  }
  return "no";
}

TEST(ProtocolDocTest, OverviewListsEveryMethodAndItsParams) {
  Doc doc = read_doc();
  std::vector<std::string> names;
  for (const MethodSpec& m : protocol_methods()) {
    names.emplace_back(m.name);
    Rows params;
    for (const ParamSpec& p : m.params) params.emplace_back(p.name);
    EXPECT_EQ(doc.overview[std::string(m.name)], params) << "the overview's params of " << m.name;
  }
  EXPECT_EQ(doc.overview_order, names) << "the overview's methods";
}

TEST(ProtocolDocTest, EachMethodSectionTablesItsParams) {
  Doc doc = read_doc();
  for (const MethodSpec& m : protocol_methods()) {
    std::string name(m.name);
    EXPECT_EQ(doc.sections[name], 1) << "sections headed " << name;
    Rows expected;
    for (const ParamSpec& p : m.params) {
      expected.push_back("`" + std::string(p.name) + "`|" + describe_type(p) + "|" + required_cell(m, p));
    }
    EXPECT_EQ(doc.params[name], expected) << "the parameter table of " << name;
  }
}

TEST(ProtocolDocTest, StatesTheVersionRange) {
  std::ifstream in(JR_SOURCE_DIR "/docs/protocol.md");
  std::stringstream text;
  text << in.rdbuf();
  std::string range =
      "This jrd speaks versions " + std::to_string(kMinProtocol) + " to " + std::to_string(kMaxProtocol) + ".";
  EXPECT_NE(text.str().find(range), std::string::npos) << "docs/protocol.md does not say: " << range;
}

}  // namespace
}  // namespace jr
