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
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {  // a UTF-8 character is kept; a byte that starts none is escaped
      const size_t n = utf8_length(text, i);
      if (n > 0)
        out.append(text.substr(i, n));
      else
        out += fmt::format("\\x{:02x}", u);
      i += n > 0 ? n : 1;
      continue;
    }
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
    ++i;
  }
  return out;
}

}  // namespace hwprune
