#include "base64.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace attend::cli::serve {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xFF;

// character -> its 6 bits, kInvalid for every other byte ('=' included)
constexpr std::array<uint8_t, 256> kSextets = [] {
  std::array<uint8_t, 256> t{};
  t.fill(kInvalid);
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}();

// 12 bits -> their two characters, the first in the low byte
constexpr std::array<uint16_t, 4096> kPairs = [] {
  std::array<uint16_t, 4096> t{};
  for (uint32_t v = 0; v < 4096; ++v)
    t[v] = static_cast<uint16_t>(static_cast<unsigned char>(kAlphabet[v >> 6]) |
                                 static_cast<unsigned char>(kAlphabet[v & 63]) << 8);
  return t;
}();

std::string bad_character(std::string_view text, size_t at) {
  const auto c = static_cast<unsigned char>(text[at]);
  const std::string shown =
      c >= 0x20 && c < 0x7F ? fmt::format("'{}'", static_cast<char>(c)) : fmt::format("{:#04x}", c);
  return fmt::format("character {} ({}) is not one of A-Z a-z 0-9 + /", at, shown);
}

}  // namespace

char* write_base64(char* out, const unsigned char* data, size_t n) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {  // 3 bytes -> 4 characters of 6 bits
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    std::memcpy(out, &kPairs[v >> 12], 2);
    std::memcpy(out + 2, &kPairs[v & 4095], 2);
    out += 4;
  }
  if (i < n) {  // 1 or 2 bytes left: 2 or 3 characters and '=' padding
    const bool two = i + 1 < n;
    const uint32_t v = (uint32_t{data[i]} << 16) | (two ? uint32_t{data[i + 1]} << 8 : 0);
    out[0] = kAlphabet[v >> 18];
    out[1] = kAlphabet[(v >> 12) & 63];
    out[2] = two ? kAlphabet[(v >> 6) & 63] : '=';
    out[3] = '=';
    out += 4;
  }
  return out;
}

std::string decode_base64(std::string_view text, std::string& out) {
  const size_t n = text.size();
  if (n % 4 != 0)
    return fmt::format("{} characters, not a multiple of 4 (base64 is padded with '=')", n);
  const size_t padding = n == 0 ? 0 : text[n - 1] != '=' ? 0 : text[n - 2] != '=' ? 1 : 2;
  out.resize(n / 4 * 3 - padding);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t whole = padding ? n - 4 : n;  // characters in groups of 4 without padding
  for (size_t i = 0; i < whole; i += 4, o += 3) {
    const uint32_t a = kSextets[s[i]], b = kSextets[s[i + 1]], c = kSextets[s[i + 2]],
                   d = kSextets[s[i + 3]];
    if ((a | b | c | d) > 63)
      for (size_t k = i;; ++k)
        if (kSextets[s[k]] == kInvalid) return bad_character(text, k);
    const uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<unsigned char>(v >> 16);
    o[1] = static_cast<unsigned char>(v >> 8);
    o[2] = static_cast<unsigned char>(v);
  }
  if (padding) {  // "xx==" -> 1 byte, "xxx=" -> 2
    const size_t i = n - 4;
    for (size_t k = i; k < n - padding; ++k)
      if (kSextets[s[k]] == kInvalid) return bad_character(text, k);
    const uint32_t v = (uint32_t{kSextets[s[i]]} << 18) | (uint32_t{kSextets[s[i + 1]]} << 12) |
                       (padding == 1 ? uint32_t{kSextets[s[i + 2]]} << 6 : 0);
    o[0] = static_cast<unsigned char>(v >> 16);
    if (padding == 1) o[1] = static_cast<unsigned char>(v >> 8);
  }
  return {};
}

}  // namespace attend::cli::serve
