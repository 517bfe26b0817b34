#include "distill/config.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "tensor/error.h"
#include "tensor/text.h"

namespace retort {
namespace distill {

// ------------------------------------------------------------------ YAML subset

namespace {

struct Line {
  int number;
  int indent;
  std::string text;  // without indentation and comment
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Drops a comment: '#' at the start or after whitespace, outside quotes.
std::string strip_comment(const std::string& s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == '\\' && quote == '"') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

[[noreturn]] void fail(const std::string& source, int line, const std::string& what) {
  RETORT_FAIL(source << ":" << line << ": " << what);
}

std::vector<Line> split_lines(const std::string& text, const std::string& source) {
  std::vector<Line> lines;
  std::istringstream in(text);
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    const std::string body = strip_comment(raw);
    if (trim(body).empty()) continue;
    size_t indent = 0;
    while (indent < body.size() && body[indent] == ' ') ++indent;
    if (indent < body.size() && body[indent] == '\t') fail(source, number, "tabs are not allowed for indentation");
    const std::string t = trim(body);
    if (t == "---" && lines.empty()) continue;  // an optional document start
    lines.push_back({number, static_cast<int>(indent), t});
  }
  return lines;
}

// A scalar: plain (trimmed), "double quoted" (\" \\ \n \t escapes) or 'single quoted' ('' escape).
std::string scalar(const std::string& s, const std::string& source, int line) {
  if (s.empty()) return s;
  const char q = s[0];
  if (q == '"' || q == '\'') {
    std::string out;
    size_t i = 1;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (q == '\'' && c == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          out += '\'';
          ++i;
          continue;
        }
        break;
      }
      if (q == '"' && c == '"') break;
      if (q == '"' && c == '\\') {
        if (++i >= s.size()) fail(source, line, "unfinished escape in a quoted string");
        const char e = s[i];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        if (e != 'n' && e != 't' && e != '"' && e != '\\') fail(source, line, std::string("unknown escape \\") + e);
        continue;
      }
      out += c;
    }
    if (i >= s.size()) fail(source, line, "unterminated quoted string");
    if (!trim(s.substr(i + 1)).empty()) fail(source, line, "unexpected text after a quoted string");
    return out;
  }
  if (std::string("&*!|>{%@`").find(q) != std::string::npos)
    fail(source, line, std::string("'") + q + "' (anchors, tags, block scalars, flow mappings) is not supported");
  return s;
}

// A value: a scalar or a flow list [a, b, c] (joined with ',').
std::string value(const std::string& s, const std::string& source, int line) {
  if (s.empty() || s[0] != '[') return scalar(s, source, line);
  if (s.back() != ']') fail(source, line, "a flow list must end with ']' on the same line");
  const std::string inner = trim(s.substr(1, s.size() - 2));
  if (inner.empty()) return "";
  std::string out;
  std::string item;
  char quote = 0;
  bool first = true;  // not out.empty(): a quoted "" item is empty too
  auto flush = [&] {
    const std::string v = scalar(trim(item), source, line);
    if (v.find(',') != std::string::npos) fail(source, line, "list items cannot contain ','");
    if (trim(item).empty()) fail(source, line, "empty item in a flow list");
    out += (first ? "" : ",") + v;
    first = false;
    item.clear();
  };
  for (size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (quote) {
      if (quote == '"' && c == '\\' && i + 1 < inner.size()) {  // an escaped character never ends the quote
        item += c;
        item += inner[++i];
        continue;
      }
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ',') {
      flush();
      continue;
    } else if (c == '[' || c == ']' || c == '{') {
      fail(source, line, "nested lists or mappings are not supported");
    }
    item += c;
  }
  flush();
  return out;
}

bool valid_key(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_yaml(const std::string& text, const std::string& source) {
  const std::vector<Line> lines = split_lines(text, source);
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, int> seen;
  auto emit = [&](const std::string& key, const std::string& v, int line) {
    if (!seen.emplace(key, line).second)
      fail(source, line, "key '" + key + "' appears twice (first on line " + std::to_string(seen[key]) + ")");
    out.emplace_back(key, v);
  };

  struct Frame {
    int indent;          // indentation of the frame's children
    std::string prefix;  // dotted prefix for mapping children
  };
  std::vector<Frame> stack{{0, ""}};
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    while (stack.size() > 1 && l.indent < stack.back().indent) stack.pop_back();
    if (l.indent != stack.back().indent)
      fail(source, l.number, "unexpected indentation (" + std::to_string(l.indent) + " spaces, expected " +
                                 std::to_string(stack.back().indent) + ")");
    if (l.text.rfind("- ", 0) == 0 || l.text == "-") fail(source, l.number, "a list item outside a list");
    const size_t colon = l.text.find(':');
    if (colon == std::string::npos || (colon + 1 < l.text.size() && l.text[colon + 1] != ' '))
      fail(source, l.number, "expected 'key: value' or 'key:', found '" + l.text + "'");
    const std::string key = trim(l.text.substr(0, colon));
    if (!valid_key(key)) fail(source, l.number, "invalid key '" + key + "' (letters, digits, _ - . only)");
    const std::string full = stack.back().prefix + key;
    const std::string rest = trim(l.text.substr(colon + 1));
    if (!rest.empty()) {
      emit(full, value(rest, source, l.number), l.number);
      continue;
    }
    // "key:" opens a nested mapping, a block list, or stands for an empty value.
    const bool has_child = i + 1 < lines.size() && lines[i + 1].indent > l.indent;
    const bool list_child = i + 1 < lines.size() && lines[i + 1].indent >= l.indent &&
                            (lines[i + 1].text.rfind("- ", 0) == 0 || lines[i + 1].text == "-");
    if (list_child) {
      const int item_indent = lines[i + 1].indent;
      std::string joined;
      while (i + 1 < lines.size() && lines[i + 1].indent == item_indent &&
             (lines[i + 1].text.rfind("- ", 0) == 0 || lines[i + 1].text == "-")) {
        ++i;
        const std::string item = value(trim(lines[i].text.substr(1)), source, lines[i].number);
        if (item.empty() || item.find(',') != std::string::npos)
          fail(source, lines[i].number, "list items must be non-empty scalars without ','");
        joined += (joined.empty() ? "" : ",") + item;
      }
      if (i + 1 < lines.size() && lines[i + 1].indent > l.indent && lines[i + 1].indent != item_indent)
        fail(source, lines[i + 1].number, "unexpected indentation after a list");
      emit(full, joined, l.number);
    } else if (has_child) {
      stack.push_back({lines[i + 1].indent, full + "."});
    } else {
      emit(full, "", l.number);
    }
  }
  return out;
}

// ------------------------------------------------------------------ Config

Config::Config(const std::vector<ConfigKey>& schema) {
  for (const ConfigKey& k : schema) items_.emplace_back(k.key, k.default_value);
}

bool Config::has(const std::string& key) const {
  for (const auto& kv : items_)
    if (kv.first == key) return true;
  return false;
}

const std::string& Config::get(const std::string& key) const {
  for (const auto& kv : items_)
    if (kv.first == key) return kv.second;
  RETORT_FAIL("config: no key '" << key << "'");
}

double Config::get_double(const std::string& key) const {
  const std::string& v = get(key);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  RETORT_CHECK(!v.empty() && *end == '\0' && errno == 0 && std::isfinite(d),
               "config: " << key << " expects a finite number, found '" << v << "'");
  return d;
}

int64_t Config::get_int(const std::string& key) const {
  const std::string& v = get(key);
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  RETORT_CHECK(!v.empty() && *end == '\0' && errno == 0,
               "config: " << key << " expects an integer, found '" << v << "'");
  return x;
}

bool Config::get_bool(const std::string& key) const {
  const std::string& v = get(key);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  RETORT_FAIL("config: " << key << " expects true or false, found '" << v << "'");
}

std::vector<double> Config::get_list(const std::string& key) const {
  std::vector<double> out;
  std::istringstream in(get(key));
  std::string item;
  while (std::getline(in, item, ',')) {
    const std::string t = trim(item);
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(t.c_str(), &end);
    RETORT_CHECK(!t.empty() && *end == '\0' && errno == 0 && std::isfinite(d),
                 "config: " << key << " expects a list of finite numbers, found '" << get(key) << "'");
    out.push_back(d);
  }
  return out;
}

void Config::set(const std::string& key, const std::string& v) {
  for (auto& kv : items_)
    if (kv.first == key) {
      kv.second = v;
      return;
    }
  for (const std::string& p : open_prefixes_)
    if (key.size() > p.size() && key.compare(0, p.size(), p) == 0) {
      items_.emplace_back(key, v);
      return;
    }
  std::vector<std::string> keys;
  for (const auto& kv : items_) keys.push_back(kv.first);
  RETORT_FAIL("config: unknown key '" << key << "'" << did_you_mean(key, keys));
}

void Config::set_assignment(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  RETORT_CHECK(eq != std::string::npos && eq > 0,
               "config: expected key=value, found '" << assignment << "'");
  set(trim(assignment.substr(0, eq)), trim(assignment.substr(eq + 1)));
}

void Config::merge_yaml(const std::string& text, const std::string& source) {
  for (const auto& kv : parse_yaml(text, source)) {
    try {
      set(kv.first, kv.second);
    } catch (const Error& e) {
      RETORT_FAIL(source << ": " << e.message());
    }
  }
}

namespace {

struct Node {
  std::string value;
  bool leaf = false;
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> children;
  Node& child(const std::string& name) {
    for (auto& c : children)
      if (c.first == name) return *c.second;
    children.emplace_back(name, std::make_unique<Node>());
    return *children.back().second;
  }
};

// Quoted whenever the plain form would read back differently: YAML
// indicators and quotes, a leading '-', whitespace at either end (reading
// trims it), a control character (a newline would end the line), or nothing.
std::string quote_if_needed(const std::string& v) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  bool plain = !v.empty() && v.find_first_of(":#'\"[]{}&*!|>%@`") == std::string::npos && !space(v.front()) &&
               !space(v.back()) && v.front() != '-';
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20) plain = false;
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n' || c == '\t') {
      out += c == '\n' ? "\\n" : "\\t";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// "a,,b," -> {"a", "", "b", ""}: every item of a comma-joined list, empty ones included.
std::vector<std::string> list_items(const std::string& v) {
  std::vector<std::string> items(1);
  for (char c : v) {
    if (c == ',') items.emplace_back();
    else items.back() += c;
  }
  return items;
}

void emit_yaml(const Node& n, int indent, std::string& out) {
  for (const auto& c : n.children) {
    out += std::string(indent, ' ') + c.first + ":";
    if (c.second->leaf) {
      const std::string& v = c.second->value;
      if (v.find(',') != std::string::npos) {
        const std::vector<std::string> items = list_items(v);
        out += " [";
        for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quote_if_needed(items[i]);
        out += "]\n";
      } else {
        out += " " + quote_if_needed(v) + "\n";
      }
    } else {
      out += "\n";
      emit_yaml(*c.second, indent + 2, out);
    }
  }
}

}  // namespace

std::string Config::to_yaml() const {
  Node root;
  for (const auto& kv : items_) {
    Node* n = &root;
    std::istringstream in(kv.first);
    std::string part;
    while (std::getline(in, part, '.')) n = &n->child(part);
    n->leaf = true;
    n->value = kv.second;
  }
  std::string out;
  emit_yaml(root, 0, out);
  return out;
}

}  // namespace distill
}  // namespace retort
