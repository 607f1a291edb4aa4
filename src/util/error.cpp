#include "hwprune/util/error.hpp"

#include <fmt/format.h>

#include "hwprune/util/utf8.hpp"

namespace hwprune {

std::string one_line(std::string_view text) {
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
    text.remove_suffix(1);
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  if (is_utf8(out)) return out;
  // Bytes that are no UTF-8 character (from a binary or mis-encoded input) are escaped too.
  const std::string escaped = std::move(out);
  out.clear();
  for (size_t i = 0; i < escaped.size();) {
    const auto u = static_cast<unsigned char>(escaped[i]);
    const size_t n = u < 0x80 ? 1 : (u & 0xE0) == 0xC0 ? 2 : (u & 0xF0) == 0xE0 ? 3 : 4;
    if (u >= 0x80 && i + n <= escaped.size() && is_utf8(std::string_view(escaped).substr(i, n))) {
      out.append(escaped, i, n);
      i += n;
    } else if (u >= 0x80) {
      out += fmt::format("\\x{:02x}", u);
      ++i;
    } else {
      out += escaped[i++];
    }
  }
  return out;
}

}  // namespace hwprune
