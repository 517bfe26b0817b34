#include "tensor/json.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "tensor/error.h"

namespace retort {
namespace json {

// ---------------------------------------------------------------- Value

const char* type_name(Value::Type t) {
  switch (t) {
    case Value::Type::Null: return "null";
    case Value::Type::Bool: return "bool";
    case Value::Type::Int:
    case Value::Type::UInt: return "integer";
    case Value::Type::Double: return "number";
    case Value::Type::String: return "string";
    case Value::Type::Array: return "array";
    case Value::Type::Object: return "object";
  }
  return "?";
}

void Value::set_uint(uint64_t v) {
  // One representation per integer: UInt only above the int64 range.
  if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    set_int(static_cast<int64_t>(v));
  } else {
    type_ = Type::UInt;
    uint_ = v;
  }
}

void Value::expect(Type wanted, const char* what) const {
  RETORT_CHECK(type_ == wanted, "json: " << what << " expected " << type_name(wanted) << ", found "
                                         << type_name(type_));
}

bool Value::as_bool() const {
  expect(Type::Bool, "as_bool:");
  return bool_;
}

int64_t Value::as_int64() const {
  RETORT_CHECK(type_ != Type::UInt, "json: as_int64: expected an integer in int64 range, found " << uint_);
  RETORT_CHECK(type_ == Type::Int, "json: as_int64: expected integer, found "
                                       << type_name(type_)
                                       << (type_ == Type::Double ? " (with fraction or exponent)" : ""));
  return int_;
}

uint64_t Value::as_uint64() const {
  if (type_ == Type::UInt) return uint_;
  RETORT_CHECK(type_ == Type::Int, "json: as_uint64: expected integer, found "
                                       << type_name(type_)
                                       << (type_ == Type::Double ? " (with fraction or exponent)" : ""));
  RETORT_CHECK(int_ >= 0, "json: as_uint64: expected a non-negative integer, found " << int_);
  return static_cast<uint64_t>(int_);
}

double Value::as_double() const {
  if (type_ == Type::Int) return static_cast<double>(int_);
  if (type_ == Type::UInt) return static_cast<double>(uint_);
  expect(Type::Double, "as_double:");
  return double_;
}

const std::string& Value::as_string() const {
  expect(Type::String, "as_string:");
  return string_;
}

const std::vector<Value>& Value::items() const {
  expect(Type::Array, "items:");
  return items_;
}

const std::vector<Value::Member>& Value::members() const {
  expect(Type::Object, "members:");
  return members_;
}

size_t Value::size() const {
  if (type_ == Type::Object) return members_.size();
  RETORT_CHECK(type_ == Type::Array, "json: size: expected array or object, found " << type_name(type_));
  return items_.size();
}

const Value& Value::operator[](size_t index) const {
  expect(Type::Array, "operator[]:");
  RETORT_CHECK(index < items_.size(),
               "json: index " << index << " is out of range for an array of " << items_.size() << " elements");
  return items_[index];
}

const Value* Value::find(const std::string& key) const {
  expect(Type::Object, "find:");
  for (const Member& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

const Value& Value::at(const std::string& key) const {
  const Value* v = find(key);
  RETORT_CHECK(v != nullptr, "json: expected key '" << key << "' in object, found none");
  return *v;
}

Value& Value::set(const std::string& key, Value value) {
  expect(Type::Object, "set:");
  for (Member& m : members_) {
    if (m.first == key) {
      m.second = std::move(value);
      return *this;
    }
  }
  members_.emplace_back(key, std::move(value));
  return *this;
}

Value& Value::push_back(Value value) {
  expect(Type::Array, "push_back:");
  items_.push_back(std::move(value));
  return *this;
}

bool Value::operator==(const Value& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return bool_ == o.bool_;
    case Type::Int: return int_ == o.int_;
    case Type::UInt: return uint_ == o.uint_;
    case Type::Double: return double_ == o.double_;
    case Type::String: return string_ == o.string_;
    case Type::Array: return items_ == o.items_;
    case Type::Object: return members_ == o.members_;
  }
  return false;
}

// ---------------------------------------------------------------- UTF-8

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid
// (truncated, overlong, a surrogate, or above U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) n = 3, lo = 0xA0;
  else if (b0 == 0xED) n = 3, hi = 0x9F;
  else if (b0 >= 0xE1 && b0 <= 0xEF) n = 3;
  else if (b0 == 0xF0) n = 4, lo = 0x90;
  else if (b0 == 0xF4) n = 4, hi = 0x8F;
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else return 0;
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

// ---------------------------------------------------------------- parser

// Not in the anonymous namespace: Value names it as a friend.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Value parse_document() {
    skip_whitespace();
    Value v = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) fail("end of input after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& expected) const {
    RETORT_FAIL("json: at byte " << pos_ << ": expected " << expected << ", found " << describe_here());
  }

  std::string describe_here() const {
    if (pos_ >= text_.size()) return "end of input";
    const unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  void expect_char(char c, const char* expected) {
    if (peek() != c) fail(expected);
    ++pos_;
  }

  void expect_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("'" + std::string(word) + "'");
    pos_ += word.size();
  }

  Value parse_value(int depth) {
    switch (peek()) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value(parse_string());
      case 't': expect_word("true"); return Value(true);
      case 'f': expect_word("false"); return Value(false);
      case 'n': expect_word("null"); return Value();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
        fail("a value (object, array, string, number, true, false or null)");
    }
  }

  void check_depth(int depth) const {
    RETORT_CHECK(depth <= kMaxDepth,
                 "json: at byte " << pos_ << ": nesting deeper than " << kMaxDepth << " levels");
  }

  Value parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Value out = Value::array();
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      return out;
    }
    for (;;) {
      skip_whitespace();
      out.push_back(parse_value(depth));
      skip_whitespace();
      if (peek() == ']') {
        ++pos_;
        return out;
      }
      expect_char(',', "',' or ']' in array");
    }
  }

  Value parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Value out = Value::object();
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      return out;
    }
    std::unordered_set<std::string> keys;  // Value::find is linear; headers can hold many keys
    for (;;) {
      skip_whitespace();
      if (peek() != '"') fail("a string key in object");
      const size_t key_pos = pos_;
      std::string key = parse_string();
      RETORT_CHECK(keys.insert(key).second, "json: at byte " << key_pos << ": duplicate key '" << key << "'");
      skip_whitespace();
      expect_char(':', "':' after object key");
      skip_whitespace();
      out.members_.emplace_back(std::move(key), parse_value(depth));
      skip_whitespace();
      if (peek() == '}') {
        ++pos_;
        return out;
      }
      expect_char(',', "',' or '}' in object");
    }
  }

  uint32_t parse_hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = peek();
      uint32_t d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else fail("four hex digits after \\u");
      v = v * 16 + d;
      ++pos_;
    }
    return v;
  }

  // After "\u": one code point, combining a surrogate pair into one.
  uint32_t parse_unicode_escape() {
    const uint32_t first = parse_hex4();
    if (first >= 0xDC00 && first <= 0xDFFF) {
      pos_ -= 6;
      fail("a high surrogate before a low one in \\u escape");
    }
    if (first < 0xD800 || first > 0xDBFF) return first;
    if (text_.substr(pos_, 2) != "\\u") fail("a \\u low surrogate after the high surrogate");
    pos_ += 2;
    const uint32_t second = parse_hex4();
    if (second < 0xDC00 || second > 0xDFFF) {
      pos_ -= 4;
      fail("a low surrogate (DC00-DFFF) after the high surrogate");
    }
    return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("'\"' to close the string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("an escaped control character in string");
      if (c == '\\') {
        ++pos_;
        const char e = peek();
        ++pos_;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': append_utf8(out, parse_unicode_escape()); break;
          default: --pos_, fail("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
        continue;
      }
      const size_t n = utf8_sequence_length(text_, pos_);
      if (n == 0) fail("valid UTF-8 in string");
      out.append(text_.substr(pos_, n));
      pos_ += n;
    }
  }

  void skip_digits() {
    while (peek() >= '0' && peek() <= '9') ++pos_;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Value parse_number() {
    const size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
      if (peek() >= '0' && peek() <= '9') fail("no leading zeros in number");
    } else if (peek() >= '1' && peek() <= '9') {
      skip_digits();
    } else {
      fail("a digit in number");
    }
    bool integral = true;
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("a digit after the decimal point");
      skip_digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("a digit in the exponent");
      skip_digits();
    }
    const std::string_view literal = text_.substr(start, pos_ - start);
    if (integral) {
      const bool negative = literal[0] == '-';
      const char* first = literal.data() + (negative ? 1 : 0);
      uint64_t magnitude = 0;
      const auto r = std::from_chars(first, literal.data() + literal.size(), magnitude);
      if (r.ec == std::errc()) {
        if (!negative) return Value(magnitude);
        if (magnitude <= uint64_t{1} << 63) return Value(static_cast<int64_t>(0 - magnitude));
      }
      // Integers beyond 64 bits fall through to a double; as_int64() rejects them.
    }
    // from_chars, unlike strtod, ignores the C locale's decimal point. It
    // reports overflow and underflow to zero alike; both are refused.
    double d = 0;
    const auto r = std::from_chars(literal.data(), literal.data() + literal.size(), d);
    if (r.ec != std::errc()) {
      pos_ = start;
      fail("a number within double range (magnitude 5e-324 to 1.8e308, or 0)");
    }
    return Value(d);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------- serialiser

namespace {

void dump_string(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          const size_t n = utf8_sequence_length(s, i);
          RETORT_CHECK(n > 0, "json: dump: expected a valid UTF-8 string, found an invalid byte at offset " << i);
          out.append(s, i, n);
          i += n;
          continue;
        }
    }
    ++i;
  }
  out += '"';
}

void dump_double(std::string& out, double d) {
  RETORT_CHECK(std::isfinite(d), "json: dump: expected a finite number, found " << d);
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), d);  // shortest text that round-trips
  std::string_view text(buf, r.ptr - buf);
  out.append(text);
  // Keep the kind across a round trip: "2" would read back as an integer.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void newline(std::string& out, int indent, int level) {
  if (indent < 0) return;
  out += '\n';
  out.append(static_cast<size_t>(indent) * level, ' ');
}

void dump_value(std::string& out, const Value& v, int indent, int level) {
  switch (v.type()) {
    case Value::Type::Null: out += "null"; return;
    case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Type::Int: out += std::to_string(v.as_int64()); return;
    case Value::Type::UInt: out += std::to_string(v.as_uint64()); return;
    case Value::Type::Double: dump_double(out, v.as_double()); return;
    case Value::Type::String: dump_string(out, v.as_string()); return;
    case Value::Type::Array: {
      out += '[';
      const auto& items = v.items();
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        newline(out, indent, level + 1);
        dump_value(out, items[i], indent, level + 1);
      }
      if (!items.empty()) newline(out, indent, level);
      out += ']';
      return;
    }
    case Value::Type::Object: {
      out += '{';
      const auto& members = v.members();
      for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        newline(out, indent, level + 1);
        dump_string(out, members[i].first);
        out += indent < 0 ? ":" : ": ";
        dump_value(out, members[i].second, indent, level + 1);
      }
      if (!members.empty()) newline(out, indent, level);
      out += '}';
      return;
    }
  }
}

}  // namespace

Value parse(std::string_view text) { return Parser(text).parse_document(); }

std::string dump(const Value& value, int indent) {
  std::string out;
  dump_value(out, value, indent, 0);
  return out;
}

}  // namespace json
}  // namespace retort
