#include "hwprune/util/utf8.hpp"

#include <cstdint>

namespace hwprune {

size_t utf8_length(std::string_view text, size_t at) {
  const auto b = static_cast<uint8_t>(text[at]);
  if (b < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if ((b & 0xE0) == 0xC0) {
    n = 1, cp = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    n = 2, cp = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    n = 3, cp = b & 0x07, min = 0x10000;
  } else {
    return 0;  // a continuation byte first, or 0xF8..0xFF
  }
  if (text.size() - at <= n) return 0;  // truncated sequence
  for (size_t k = 1; k <= n; ++k) {
    const auto c = static_cast<uint8_t>(text[at + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

bool is_utf8(std::string_view text) {
  for (size_t i = 0, n = 0; i < text.size(); i += n)
    if ((n = utf8_length(text, i)) == 0) return false;
  return true;
}

}  // namespace hwprune
