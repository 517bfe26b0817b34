// A small JSON value type with a strict RFC 8259 parser and a serialiser, for
// safetensors headers, metrics lines and run reports.
//
// Objects keep insertion order (a vector of members; lookup is linear, fine for
// the few dozen keys we handle). Integers without fraction or exponent stay
// exact: int64, or uint64 above the int64 range; other numbers are doubles.
// Every misuse or malformed input throws retort::Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace retort {
namespace json {

class Value {
 public:
  // Int holds every integer in int64 range; UInt only integers above it.
  enum class Type : uint8_t { Null, Bool, Int, UInt, Double, String, Array, Object };
  using Member = std::pair<std::string, Value>;

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::Bool), bool_(b) {}
  Value(double d) : type_(Type::Double), double_(d) {}
  Value(const char* s) : type_(Type::String), string_(s) {}
  Value(std::string s) : type_(Type::String), string_(std::move(s)) {}
  Value(std::string_view s) : type_(Type::String), string_(s) {}
  // Any integer type except bool (which takes the overload above).
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T v) {
    if constexpr (std::is_signed_v<T>) set_int(static_cast<int64_t>(v));
    else set_uint(static_cast<uint64_t>(v));
  }

  static Value array() { return Value(Type::Array); }
  static Value object() { return Value(Type::Object); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_integer() const { return type_ == Type::Int || type_ == Type::UInt; }
  bool is_number() const { return is_integer() || type_ == Type::Double; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed access; each throws an Error naming the expected and the found kind.
  bool as_bool() const;
  int64_t as_int64() const;    // an integer in int64 range
  uint64_t as_uint64() const;  // a non-negative integer
  double as_double() const;    // any number (large integers round to nearest)
  const std::string& as_string() const;
  const std::vector<Value>& items() const;     // array elements
  const std::vector<Member>& members() const;  // object members in order

  size_t size() const;                          // array or object
  const Value& operator[](size_t index) const;  // array; throws when out of range
  const Value& at(const std::string& key) const;  // object; throws when absent
  const Value* find(const std::string& key) const;  // object; nullptr when absent

  // Builders. set() replaces the value of an existing key, else appends.
  Value& set(const std::string& key, Value value);
  Value& push_back(Value value);

  // Same type and same contents (object members compared in order).
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  friend class Parser;  // appends members directly, having checked keys itself
  explicit Value(Type t) : type_(t) {}
  void set_int(int64_t v) { type_ = Type::Int, int_ = v; }
  void set_uint(uint64_t v);
  void expect(Type wanted, const char* what) const;

  Type type_ = Type::Null;
  bool bool_ = false;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  double double_ = 0.0;
  std::string string_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

// "null", "bool", "integer", "number", "string", "array" or "object".
const char* type_name(Value::Type t);

// Strict RFC 8259: one value, optional surrounding whitespace, valid UTF-8,
// nesting at most kMaxDepth. Errors name the byte offset and what was expected.
constexpr int kMaxDepth = 256;
Value parse(std::string_view text);

// Compact when indent < 0, else one member per line indented by `indent`
// spaces per level. Doubles use the shortest text that reads back to the same
// value; NaN and infinities throw, as do strings that are not valid UTF-8.
std::string dump(const Value& value, int indent = -1);

}  // namespace json
}  // namespace retort
