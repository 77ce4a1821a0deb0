#include "json_reader.h"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace attend::cli::serve {

namespace {

constexpr int kMaxDepth = 64;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Scanning 8 bytes at a time: a word's bytes in text order from its low end.
static_assert(std::endian::native == std::endian::little);
constexpr uint64_t kOnes = 0x0101010101010101;

uint64_t word_at(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, sizeof(x));
  return x;
}

// The first byte of a word's nonzero bytes (bits set only there), as an offset.
size_t first_set(uint64_t bytes) {
  return static_cast<size_t>(std::countr_zero(bytes)) / 8;
}

// The first of [q, last) that is not an ASCII digit. A byte b is a digit when the high nibbles
// of b and of b + 6 are both 3 (a carry out of a byte >= 0xFA reaches only bytes after it).
const char* skip_digits(const char* q, const char* last) {
  for (; last - q >= 8; q += 8) {
    const uint64_t x = word_at(q), high = 0xF0 * kOnes, three = 0x30 * kOnes;
    const uint64_t other = ((x & high) ^ three) | (((x + 6 * kOnes) & high) ^ three);
    if (other) return q + first_set(other);
  }
  while (q != last && is_digit(*q)) ++q;
  return q;
}

// The first of [q, last) that a string's plain run stops at: '"', '\\', a control character or
// a byte >= 0x80 (UTF-8, checked by the slow path). A zero byte of v is found by
// (v - 1) & ~v & 0x80 per byte, exact at the first one (a borrow only starts at a zero byte);
// bytes below 0x20 alike.
const char* skip_plain(const char* q, const char* last) {
  for (; last - q >= 8; q += 8) {
    const uint64_t x = word_at(q), quote = x ^ (0x22 * kOnes), backslash = x ^ (0x5C * kOnes);
    const uint64_t stop = (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                           ((x - 0x20 * kOnes) & ~x) | x) &
                          (0x80 * kOnes);
    if (stop) return q + first_set(stop);
  }
  for (; q != last; ++q) {
    const auto c = static_cast<unsigned char>(*q);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
  }
  return q;
}

class Parser {
 public:
  Parser(std::span<char> text, std::vector<JsonDocument::Node>& nodes) : s_(text), nodes_(nodes) {}

  void document() {
    value(0);
    whitespace();
    if (p_ != s_.size()) fail("unexpected text after the JSON value");
  }

 private:
  using Node = JsonDocument::Node;

  [[noreturn]] void fail(const std::string& what) const {
    throw JsonError(fmt::format("line {}, column {}: {}", line_, p_ - line_start_ + 1, what));
  }

  // Only whitespace holds a raw newline in valid JSON, so lines are counted here.
  void whitespace() {
    while (p_ < s_.size()) {
      const char c = s_[p_];
      if (c == '\n') {
        ++line_;
        line_start_ = p_ + 1;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++p_;
    }
  }

  void expect(char c, const char* what) {
    whitespace();
    if (p_ >= s_.size() || s_[p_] != c) fail(what);
    ++p_;
  }

  void value(int depth) {
    whitespace();
    if (p_ >= s_.size()) fail("unexpected end of the body (cut short?)");
    const auto i = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    const char c = s_[p_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) fail(fmt::format("nesting deeper than {}", kMaxDepth));
      c == '{' ? object(i, depth + 1) : array(i, depth + 1);
    } else if (c == '"') {
      nodes_[i].type = JsonType::String;
      nodes_[i].text = string();
    } else if (is_digit(c) || (c == '-' && (is_digit(next()) || !at("-Infinity")))) {
      number(i);
    } else if (word("true") || word("false")) {
      nodes_[i].type = JsonType::Bool;
      nodes_[i].boolean = c == 't';
    } else if (word("null")) {
      nodes_[i].type = JsonType::Null;
    } else if (at("-Infinity") || at("NaN") || at("Infinity")) {
      fail("NaN and Infinity are not JSON numbers (null marks a missing value)");
    } else {
      fail(fmt::format("unexpected character '{}', expected a value", c));
    }
    nodes_[i].end = static_cast<uint32_t>(nodes_.size());
  }

  bool at(const char* w) const {
    const size_t n = std::strlen(w);
    return s_.size() - p_ >= n && std::memcmp(s_.data() + p_, w, n) == 0;
  }
  char next() const { return p_ + 1 < s_.size() ? s_[p_ + 1] : '\0'; }

  // Moves past `w` when the text is at it.
  bool word(const char* w) {
    if (!at(w)) return false;
    p_ += std::strlen(w);
    return true;
  }

  void object(uint32_t i, int depth) {
    nodes_[i].type = JsonType::Object;
    ++p_;
    whitespace();
    if (p_ < s_.size() && s_[p_] == '}') {
      ++p_;
      return;
    }
    for (uint32_t n = 1;; ++n) {
      whitespace();
      if (p_ >= s_.size() || s_[p_] != '"') fail("expected a member name in double quotes");
      const auto key = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      nodes_[key].type = JsonType::String;
      nodes_[key].text = string();
      nodes_[key].end = key + 1;
      expect(':', "expected ':' after the member name");
      value(depth);
      nodes_[i].size = n;
      whitespace();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      expect('}', "expected ',' or '}' in an object");
      return;
    }
  }

  void array(uint32_t i, int depth) {
    nodes_[i].type = JsonType::Array;
    ++p_;
    whitespace();
    if (p_ < s_.size() && s_[p_] == ']') {
      ++p_;
      return;
    }
    for (uint32_t n = 1;; ++n) {
      value(depth);
      nodes_[i].size = n;
      whitespace();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      expect(']', "expected ',' or ']' in an array");
      return;
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, scanned with local pointers (the hot loop
  // of a forecast request).
  void number(uint32_t i) {
    const char* const first = s_.data() + p_;
    const char* const last = s_.data() + s_.size();
    const char* q = first;
    bool ok = true;
    auto digits = [&] {
      if (q == last || !is_digit(*q)) ok = false;
      q = skip_digits(q, last);
    };
    if (*q == '-') ++q;
    if (q != last && *q == '0')
      ++q;
    else
      digits();
    bool integer = true;
    if (q != last && *q == '.') {
      ++q;
      digits();
      integer = false;
    }
    if (q != last && (*q == 'e' || *q == 'E')) {
      ++q;
      if (q != last && (*q == '+' || *q == '-')) ++q;
      digits();
      integer = false;
    }
    if (!ok) {
      p_ = static_cast<size_t>(q - s_.data());
      fail("expected a digit in a number");
    }
    Node& n = nodes_[i];
    n.type = JsonType::Number;
    if (std::from_chars(first, q, n.number).ec != std::errc())
      fail("number beyond the range of a double");
    n.integer = integer && std::from_chars(first, q, n.int_value).ec == std::errc();
    p_ = static_cast<size_t>(q - s_.data());
  }

  // At the opening quote; unescapes in place (the text written never passes the text read).
  std::string_view string() {
    ++p_;
    const size_t start = p_;
    p_ = static_cast<size_t>(skip_plain(s_.data() + p_, s_.data() + s_.size()) - s_.data());
    size_t w = p_;  // [start, w): the string so far, in place
    for (;;) {
      if (p_ >= s_.size()) fail("unexpected end of the body inside a string");
      const auto c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        ++p_;
        return std::string_view(s_.data() + start, w - start);
      }
      if (c < 0x20) fail("control character in a string (write it as an escape)");
      if (c == '\\') {
        escape(w);
      } else if (c < 0x80) {
        s_[w++] = s_[p_++];
      } else {
        const size_t n = utf8_length();
        for (size_t k = 0; k < n; ++k) s_[w++] = s_[p_++];
      }
    }
  }

  // The bytes of the UTF-8 sequence at p_ (a fail when it is not valid UTF-8).
  size_t utf8_length() const {
    auto byte = [&](size_t k) {
      return p_ + k < s_.size() ? static_cast<unsigned char>(s_[p_ + k]) : 0u;
    };
    const unsigned c0 = byte(0), c1 = byte(1);
    auto cont = [&](size_t k) { return (byte(k) & 0xC0) == 0x80; };
    size_t n = 0;
    if (c0 >= 0xC2 && c0 <= 0xDF)
      n = 2;
    else if (c0 >= 0xE0 && c0 <= 0xEF && !(c0 == 0xE0 && c1 < 0xA0) && !(c0 == 0xED && c1 >= 0xA0))
      n = 3;
    else if (c0 >= 0xF0 && c0 <= 0xF4 && !(c0 == 0xF0 && c1 < 0x90) && !(c0 == 0xF4 && c1 >= 0x90))
      n = 4;
    for (size_t k = 1; k < n; ++k)
      if (!cont(k)) n = 0;
    if (n == 0) fail("invalid UTF-8 in a string");
    return n;
  }

  void escape(size_t& w) {
    if (p_ + 1 >= s_.size()) fail("unexpected end of the body inside a string");
    const char e = s_[p_ + 1];
    p_ += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        s_[w++] = e;
        return;
      case 'b':
        s_[w++] = '\b';
        return;
      case 'f':
        s_[w++] = '\f';
        return;
      case 'n':
        s_[w++] = '\n';
        return;
      case 'r':
        s_[w++] = '\r';
        return;
      case 't':
        s_[w++] = '\t';
        return;
      case 'u':
        break;
      default:
        p_ -= 2;
        fail(fmt::format("unknown escape '\\{}' in a string", e));
    }
    uint32_t code = hex4();
    if (code >= 0xD800 && code <= 0xDBFF) {  // a high surrogate: its low one must follow
      if (p_ + 1 >= s_.size() || s_[p_] != '\\' || s_[p_ + 1] != 'u')
        fail("a \\u escape of a high surrogate without its low one");
      p_ += 2;
      const uint32_t low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("a high surrogate followed by no low surrogate");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      fail("a low surrogate without its high one");
    }
    // UTF-8: never longer than the escape (6 or 12 bytes) it replaces
    if (code < 0x80) {
      s_[w++] = static_cast<char>(code);
    } else if (code < 0x800) {
      s_[w++] = static_cast<char>(0xC0 | (code >> 6));
      s_[w++] = static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      s_[w++] = static_cast<char>(0xE0 | (code >> 12));
      s_[w++] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      s_[w++] = static_cast<char>(0x80 | (code & 0x3F));
    } else {
      s_[w++] = static_cast<char>(0xF0 | (code >> 18));
      s_[w++] = static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      s_[w++] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      s_[w++] = static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  uint32_t hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k, ++p_) {
      const char c = p_ < s_.size() ? s_[p_] : 0;
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        fail("a \\u escape needs four hex digits");
    }
    return v;
  }

  std::span<char> s_;
  std::vector<Node>& nodes_;
  size_t p_ = 0, line_ = 1, line_start_ = 0;
};

}  // namespace

namespace {
// At most 256 KiB kept per thread (a forecast request of 96 x 7 numbers needs ~90 KiB); a larger
// array, of a rare large request, is freed.
constexpr size_t kMaxSpareNodes = (256 << 10) / sizeof(JsonDocument::Node);
thread_local std::vector<JsonDocument::Node> t_spare_nodes;
}  // namespace

JsonDocument::JsonDocument(std::span<char> text) : nodes_(std::move(t_spare_nodes)) {
  nodes_.clear();
  nodes_.reserve(text.size() / 8 + 16);
  Parser(text, nodes_).document();
}

JsonDocument::~JsonDocument() {
  if (nodes_.capacity() > t_spare_nodes.capacity() && nodes_.capacity() <= kMaxSpareNodes)
    t_spare_nodes = std::move(nodes_);
}

JsonDocument::Value JsonDocument::Value::find(std::string_view key) const {
  for (Iterator it = begin(); it != end(); ++it)
    if (it.key() == key) return it.value();
  return Value(nullptr, 0);
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  out += '"';
}

}  // namespace attend::cli::serve
