#pragma once
// Standard base64 (RFC 4648, section 4: A-Z a-z 0-9 + /, '=' padding to a multiple of 4
// characters), table-driven: `attend serve`'s compact numbers (docs/serving.md, "Base64"), a
// table of float32 as its little-endian bytes.
#include <cstddef>
#include <string>
#include <string_view>

namespace attend::cli::serve {

// Characters of the base64 text of n bytes.
constexpr size_t base64_length(size_t bytes) {
  return (bytes + 2) / 3 * 4;
}

// Writes the base64 text of data[0, n) at `out` (base64_length(n) characters); returns its end.
char* write_base64(char* out, const unsigned char* data, size_t n);

// Decodes `text` into `out` (resized to the bytes it holds): an empty string when it is base64,
// else what is wrong with it ("character 17 ('*') is not one of A-Z a-z 0-9 + /"). Bits that
// padding leaves unused are ignored.
std::string decode_base64(std::string_view text, std::string& out);

}  // namespace attend::cli::serve
