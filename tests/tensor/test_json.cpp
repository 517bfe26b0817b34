#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "tensor/error.h"
#include "tensor/json.h"

namespace retort {
namespace {

using json::Value;

// Runs `f`, expecting a retort::Error whose message contains every part.
template <class F>
::testing::AssertionResult throws_error_with(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    for (const std::string& p : parts)
      if (e.message().find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << e.message() << "\" does not contain \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-retort exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// The parse error for `text` names the byte offset and each part.
::testing::AssertionResult rejects(const std::string& text, size_t offset, const std::vector<std::string>& parts) {
  std::vector<std::string> all = parts;
  all.push_back("at byte " + std::to_string(offset) + ":");
  return throws_error_with([&] { json::parse(text); }, all);
}

TEST(Json, Literals) {
  EXPECT_TRUE(json::parse("null").is_null());
  EXPECT_TRUE(json::parse("true").as_bool());
  EXPECT_FALSE(json::parse(" \t\r\nfalse \n").as_bool());
  EXPECT_EQ(json::parse("\"\"").as_string(), "");
}

TEST(Json, IntegersStayExact) {
  EXPECT_EQ(json::parse("0").as_int64(), 0);
  EXPECT_EQ(json::parse("-0").as_int64(), 0);
  EXPECT_EQ(json::parse("42").as_int64(), 42);
  EXPECT_EQ(json::parse("-42").as_int64(), -42);
  // 2^53 + 1: a double would round it to 2^53.
  EXPECT_EQ(json::parse("9007199254740993").as_int64(), int64_t{9007199254740993});
  EXPECT_EQ(json::parse("9223372036854775807").as_int64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(json::parse("-9223372036854775808").as_int64(), std::numeric_limits<int64_t>::min());

  const Value above = json::parse("9223372036854775808");
  EXPECT_EQ(above.type(), Value::Type::UInt);
  EXPECT_EQ(above.as_uint64(), uint64_t{9223372036854775808u});
  EXPECT_EQ(json::parse("18446744073709551615").as_uint64(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(throws_error_with([&] { above.as_int64(); }, {"int64 range", "9223372036854775808"}));

  // Beyond 64 bits an integer literal becomes a double, which as_int64 refuses.
  const Value huge = json::parse("18446744073709551616");
  EXPECT_EQ(huge.type(), Value::Type::Double);
  EXPECT_DOUBLE_EQ(huge.as_double(), 18446744073709551616.0);
  EXPECT_TRUE(throws_error_with([&] { huge.as_int64(); }, {"expected integer", "found number"}));
  const Value below = json::parse("-9223372036854775809");
  EXPECT_EQ(below.type(), Value::Type::Double);

  EXPECT_EQ(json::parse("7").as_uint64(), 7u);
  EXPECT_TRUE(throws_error_with([] { json::parse("-1").as_uint64(); }, {"non-negative", "-1"}));
  EXPECT_DOUBLE_EQ(json::parse("-3").as_double(), -3.0);
}

TEST(Json, NumbersWithFractionOrExponentAreDoubles) {
  EXPECT_EQ(json::parse("1.5").as_double(), 1.5);
  EXPECT_EQ(json::parse("-0.25").as_double(), -0.25);
  EXPECT_EQ(json::parse("1e2").as_double(), 100.0);
  EXPECT_EQ(json::parse("1E+2").as_double(), 100.0);
  EXPECT_EQ(json::parse("25e-2").as_double(), 0.25);
  EXPECT_EQ(json::parse("0.1").as_double(), 0.1);
  EXPECT_EQ(json::parse("1.0").type(), Value::Type::Double);
  EXPECT_EQ(json::parse("1e0").type(), Value::Type::Double);
  EXPECT_TRUE(throws_error_with([] { json::parse("1.0").as_int64(); }, {"expected integer", "found number"}));
  EXPECT_EQ(json::parse("4.9e-324").as_double(), std::numeric_limits<double>::denorm_min());
}

TEST(Json, StringEscapesAndUnicode) {
  EXPECT_EQ(json::parse(R"("\"\\\/\b\f\n\r\t")").as_string(), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(json::parse(R"("\u0041\u00e9\u20AC")").as_string(), "A\xC3\xA9\xE2\x82\xAC");
  // U+1F600 as a surrogate pair becomes one 4-byte UTF-8 sequence.
  EXPECT_EQ(json::parse(R"("\uD83D\uDE00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(json::parse(R"("\uDBFF\uDFFF")").as_string(), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  const std::string nul = json::parse(R"("a\u0000b")").as_string();
  EXPECT_EQ(nul.size(), 3u);
  EXPECT_EQ(nul[1], '\0');
  // Raw UTF-8 passes through unchanged.
  EXPECT_EQ(json::parse("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").as_string(), "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(Json, NestedStructuresKeepOrder) {
  const Value v = json::parse(R"({"z": [1, {"b": null, "a": [true, 2.5]}], "y": {}, "x": []})");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.members()[0].first, "z");
  EXPECT_EQ(v.members()[1].first, "y");
  EXPECT_EQ(v.members()[2].first, "x");
  const Value& z = v.at("z");
  ASSERT_EQ(z.size(), 2u);
  EXPECT_EQ(z[0].as_int64(), 1);
  EXPECT_EQ(z[1].members()[0].first, "b");
  EXPECT_TRUE(z[1].at("b").is_null());
  EXPECT_TRUE(z[1].at("a")[0].as_bool());
  EXPECT_EQ(z[1].at("a")[1].as_double(), 2.5);
  EXPECT_EQ(v.at("y").size(), 0u);
  EXPECT_TRUE(v.at("x").is_array());
  EXPECT_EQ(v.find("w"), nullptr);
  ASSERT_NE(v.find("y"), nullptr);
  EXPECT_TRUE(v.find("y")->is_object());
}

TEST(Json, AccessorsNameExpectedAndFoundKinds) {
  const Value v = json::parse(R"({"n": 3, "s": "x", "a": [1]})");
  EXPECT_TRUE(throws_error_with([&] { v.at("n").as_string(); }, {"expected string", "found integer"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("s").as_int64(); }, {"expected integer", "found string"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("s").as_double(); }, {"expected number", "found string"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("a").as_bool(); }, {"expected bool", "found array"}));
  EXPECT_TRUE(throws_error_with([&] { v.as_string(); }, {"expected string", "found object"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("missing"); }, {"'missing'"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("a")[1]; }, {"index 1", "array of 1"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("n").size(); }, {"array or object", "found integer"}));
  EXPECT_TRUE(throws_error_with([&] { v.at("a").find("k"); }, {"expected object", "found array"}));
  EXPECT_TRUE(throws_error_with([&] { v[0]; }, {"expected array", "found object"}));
}

TEST(Json, BuildersSetReplacesInPlace) {
  Value o = Value::object();
  o.set("a", 1).set("b", "two").set("a", 3);
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o.members()[0].first, "a");
  EXPECT_EQ(o.at("a").as_int64(), 3);
  EXPECT_EQ(o.at("b").as_string(), "two");
  Value a = Value::array();
  a.push_back(1).push_back(Value()).push_back(Value::object());
  EXPECT_EQ(a.size(), 3u);
  EXPECT_TRUE(a[1].is_null());
  EXPECT_TRUE(throws_error_with([&] { a.set("k", 1); }, {"expected object", "found array"}));
  EXPECT_TRUE(throws_error_with([&] { o.push_back(1); }, {"expected array", "found object"}));
  // Unsigned values within int64 take the one canonical integer representation.
  EXPECT_EQ(Value(uint64_t{5}).type(), Value::Type::Int);
  EXPECT_EQ(Value(uint64_t{5}), Value(5));
  EXPECT_EQ(Value(std::numeric_limits<uint64_t>::max()).type(), Value::Type::UInt);
}

TEST(Json, RejectsMalformedInputWithOffset) {
  EXPECT_TRUE(rejects("", 0, {"expected a value", "end of input"}));
  EXPECT_TRUE(rejects("   ", 3, {"expected a value"}));
  EXPECT_TRUE(rejects("[1,]", 3, {"expected a value", "found ']'"}));          // trailing comma
  EXPECT_TRUE(rejects("{\"a\":1,}", 7, {"string key", "found '}'"}));         // trailing comma
  EXPECT_TRUE(rejects("[1 2]", 3, {"',' or ']'", "found '2'"}));
  EXPECT_TRUE(rejects("{\"a\" 1}", 5, {"':'"}));
  EXPECT_TRUE(rejects("{1:2}", 1, {"string key"}));
  EXPECT_TRUE(rejects("{'a':1}", 1, {"string key", "found '''"}));
  EXPECT_TRUE(rejects("[1", 2, {"',' or ']'", "end of input"}));
  EXPECT_TRUE(rejects("{\"a\":1", 6, {"',' or '}'", "end of input"}));
  EXPECT_TRUE(rejects("// c\n1", 0, {"expected a value", "found '/'"}));      // comments
  EXPECT_TRUE(rejects("[1 /* c */]", 3, {"',' or ']'"}));
  EXPECT_TRUE(rejects("1 2", 2, {"end of input after the value", "found '2'"}));  // trailing garbage
  EXPECT_TRUE(rejects("{}x", 2, {"end of input after the value"}));
  EXPECT_TRUE(rejects(std::string("1\0", 2), 1, {"end of input after the value", "byte 0x00"}));
  EXPECT_TRUE(rejects("tru", 0, {"'true'"}));
  EXPECT_TRUE(rejects("True", 0, {"expected a value"}));
  EXPECT_TRUE(rejects("nul", 0, {"'null'"}));
  EXPECT_TRUE(rejects("\xEF\xBB\xBF{}", 0, {"expected a value", "byte 0xef"}));  // byte-order mark
  EXPECT_TRUE(rejects("\v1", 0, {"expected a value", "byte 0x0b"}));
}

TEST(Json, RejectsMalformedNumbers) {
  EXPECT_TRUE(rejects("01", 1, {"no leading zeros"}));
  EXPECT_TRUE(rejects("-01", 2, {"no leading zeros"}));
  EXPECT_TRUE(rejects("00.5", 1, {"no leading zeros"}));
  EXPECT_TRUE(rejects("+1", 0, {"expected a value"}));
  EXPECT_TRUE(rejects("-", 1, {"a digit in number"}));
  EXPECT_TRUE(rejects("-a", 1, {"a digit in number"}));
  EXPECT_TRUE(rejects(".5", 0, {"expected a value"}));
  EXPECT_TRUE(rejects("1.", 2, {"a digit after the decimal point"}));
  EXPECT_TRUE(rejects("1.e3", 2, {"a digit after the decimal point"}));
  EXPECT_TRUE(rejects("1e", 2, {"a digit in the exponent"}));
  EXPECT_TRUE(rejects("1e+", 3, {"a digit in the exponent"}));
  EXPECT_TRUE(rejects("0x10", 1, {"end of input after the value"}));
  EXPECT_TRUE(rejects("NaN", 0, {"expected a value"}));
  EXPECT_TRUE(rejects("Infinity", 0, {"expected a value"}));
  EXPECT_TRUE(rejects("-Infinity", 1, {"a digit in number"}));
  EXPECT_TRUE(rejects("[1e400]", 1, {"within double range"}));
  EXPECT_TRUE(rejects("-1e400", 0, {"within double range"}));
  EXPECT_TRUE(rejects("1e-400", 0, {"within double range"}));
}

TEST(Json, RejectsMalformedStrings) {
  EXPECT_TRUE(rejects("\"abc", 4, {"'\"' to close the string", "end of input"}));
  EXPECT_TRUE(rejects("\"a\x01\"", 2, {"escaped control character", "byte 0x01"}));
  EXPECT_TRUE(rejects("\"a\nb\"", 2, {"escaped control character"}));
  EXPECT_TRUE(rejects("\"a\tb\"", 2, {"escaped control character"}));
  EXPECT_TRUE(rejects(R"("\x")", 2, {"an escape", "found 'x'"}));
  EXPECT_TRUE(rejects(R"("\u12G4")", 5, {"four hex digits", "found 'G'"}));
  EXPECT_TRUE(rejects(R"("\u12")", 5, {"four hex digits"}));
  EXPECT_TRUE(rejects(R"("\uD800")", 7, {"low surrogate"}));            // lone high surrogate
  EXPECT_TRUE(rejects(R"("\uD800\u0041")", 9, {"low surrogate"}));      // high + non-surrogate
  EXPECT_TRUE(rejects(R"("\uD800\uD800")", 9, {"low surrogate"}));      // high + high
  EXPECT_TRUE(rejects(R"("\uDC00")", 1, {"high surrogate before a low one"}));  // lone low surrogate
  // Invalid UTF-8: truncated, overlong, encoded surrogate, beyond U+10FFFF, stray bytes.
  EXPECT_TRUE(rejects("\"\xC3\"", 1, {"valid UTF-8", "byte 0xc3"}));
  EXPECT_TRUE(rejects("\"\xC0\xAF\"", 1, {"valid UTF-8"}));
  EXPECT_TRUE(rejects("\"\xE0\x80\xAF\"", 1, {"valid UTF-8"}));
  EXPECT_TRUE(rejects("\"\xED\xA0\x80\"", 1, {"valid UTF-8"}));
  EXPECT_TRUE(rejects("\"\xF4\x90\x80\x80\"", 1, {"valid UTF-8"}));
  EXPECT_TRUE(rejects("\"ab\xFF\"", 3, {"valid UTF-8", "byte 0xff"}));
  EXPECT_TRUE(rejects("\"\x80\"", 1, {"valid UTF-8"}));
}

TEST(Json, RejectsDuplicateKeys) {
  EXPECT_TRUE(rejects(R"({"a": 1, "b": 2, "a": 3})", 17, {"duplicate key 'a'"}));
  // The same key in different objects is fine.
  EXPECT_NO_THROW(json::parse(R"({"a": {"a": 1}, "b": {"a": 2}})"));
}

TEST(Json, NestingDepthIsLimited) {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_EQ(json::parse(nested(json::kMaxDepth)).size(), 1u);
  EXPECT_TRUE(rejects(nested(json::kMaxDepth + 1), json::kMaxDepth, {"nesting deeper than 256"}));
  std::string objects;
  for (int i = 0; i <= json::kMaxDepth; ++i) objects += "{\"k\":";
  EXPECT_TRUE(throws_error_with([&] { json::parse(objects); }, {"nesting deeper than 256"}));
  // Far deeper input fails cleanly instead of exhausting the stack.
  EXPECT_TRUE(throws_error_with([&] { json::parse(std::string(1000000, '[')); }, {"nesting deeper"}));
}

TEST(Json, DumpCompact) {
  Value list = Value::array();
  list.push_back(1).push_back(2.5).push_back(true).push_back(Value()).push_back(-7);
  Value v = Value::object();
  v.set("name", "x").set("n", 3).set("list", list).set("s", "a\"b\\c\n\x01/").set("empty", Value::object());
  EXPECT_EQ(json::dump(v), R"({"name":"x","n":3,"list":[1,2.5,true,null,-7],"s":"a\"b\\c\n\u0001/","empty":{}})");
  EXPECT_EQ(json::dump(Value("\b\f\r\t\x1f\x7f")), R"("\b\f\r\t\u001f)" "\x7f\"");
  EXPECT_EQ(json::dump(Value("caf\xC3\xA9")), "\"caf\xC3\xA9\"");
  EXPECT_EQ(json::dump(Value(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(json::dump(Value(std::numeric_limits<uint64_t>::max())), "18446744073709551615");
}

TEST(Json, DumpIndented) {
  Value inner = Value::array();
  inner.push_back(1).push_back(2);
  Value v = Value::object();
  v.set("a", inner).set("b", Value::object().set("c", Value())).set("d", Value::array());
  EXPECT_EQ(json::dump(v, 2),
            "{\n"
            "  \"a\": [\n"
            "    1,\n"
            "    2\n"
            "  ],\n"
            "  \"b\": {\n"
            "    \"c\": null\n"
            "  },\n"
            "  \"d\": []\n"
            "}");
  EXPECT_EQ(json::dump(Value::object(), 4), "{}");
}

TEST(Json, DumpDoublesRoundTripAndKeepTheirKind) {
  EXPECT_EQ(json::dump(Value(0.1)), "0.1");
  EXPECT_EQ(json::dump(Value(2.0)), "2.0");
  EXPECT_EQ(json::dump(Value(-0.0)), "-0.0");
  EXPECT_EQ(json::dump(Value(1e300)), "1e+300");
  for (double d : {0.1, 1.0 / 3.0, -2.0, 1e-7, 123456789.125, std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                   std::numeric_limits<double>::min(), 9007199254740993.0}) {
    const Value back = json::parse(json::dump(Value(d)));
    ASSERT_EQ(back.type(), Value::Type::Double) << d;
    const double got = back.as_double();
    EXPECT_EQ(std::memcmp(&got, &d, sizeof(d)), 0) << json::dump(Value(d));
  }
}

TEST(Json, DumpRefusesNonFiniteNumbersAndInvalidUtf8) {
  EXPECT_TRUE(throws_error_with([] { json::dump(Value(std::nan(""))); }, {"finite", "nan"}));
  EXPECT_TRUE(throws_error_with([] { json::dump(Value(std::numeric_limits<double>::infinity())); }, {"finite", "inf"}));
  Value v = Value::array();
  v.push_back(-std::numeric_limits<double>::infinity());
  EXPECT_TRUE(throws_error_with([&] { json::dump(v); }, {"finite"}));
  EXPECT_TRUE(throws_error_with([] { json::dump(Value("ok\xFF")); }, {"UTF-8", "offset 2"}));
}

TEST(Json, RoundTripThroughText) {
  const std::string text =
      R"({"int": 9007199254740993, "min": -9223372036854775808, "big": 18446744073709551615,)"
      R"( "pi": 3.141592653589793, "tiny": 5e-324, "s": "\u00e9\ud83d\ude00\n\"", "nested": [[[]], {"k": [false, null]}]})";
  const Value v = json::parse(text);
  EXPECT_EQ(json::parse(json::dump(v)), v);
  EXPECT_EQ(json::parse(json::dump(v, 2)), v);
  EXPECT_EQ(json::parse(json::dump(v, 0)), v);
  EXPECT_EQ(json::dump(json::parse(json::dump(v))), json::dump(v));
  EXPECT_EQ(json::parse(json::dump(v)).at("int").as_int64(), int64_t{9007199254740993});
  // Equality is sensitive to every part.
  Value changed = json::parse(text);
  changed.set("pi", 3.14);
  EXPECT_NE(changed, v);
  EXPECT_NE(json::parse("1"), json::parse("1.0"));
}

}  // namespace
}  // namespace retort
