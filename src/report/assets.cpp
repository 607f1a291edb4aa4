#include "assets.hpp"

#include <cstddef>

// The files (absolute paths, from CMake) are assembled into read-only data.
#define HWPRUNE_INCBIN(name, file)                                                                 \
  __asm__(".section .rodata\n.balign 16\n.global " #name "_begin\n.hidden " #name "_begin\n" #name \
          "_begin:\n.incbin \"" file "\"\n.global " #name                                          \
          "_end\n"                                                                                 \
          ".hidden " #name "_end\n" #name "_end:\n.byte 0\n.previous\n");                          \
  extern "C" const char name##_begin[];                                                            \
  extern "C" const char name##_end[];

HWPRUNE_INCBIN(hwprune_vega_js, HWPRUNE_VEGA_JS)
HWPRUNE_INCBIN(hwprune_vega_lite_js, HWPRUNE_VEGA_LITE_JS)
HWPRUNE_INCBIN(hwprune_vega_embed_js, HWPRUNE_VEGA_EMBED_JS)

namespace hwprune::report::assets {

const std::string_view kVegaVersion = HWPRUNE_VEGA_VERSION;
const std::string_view kVegaLiteVersion = HWPRUNE_VEGA_LITE_VERSION;
const std::string_view kVegaEmbedVersion = HWPRUNE_VEGA_EMBED_VERSION;

std::string script(Library library) {
  const char* begin = library == Library::Vega       ? hwprune_vega_js_begin
                      : library == Library::VegaLite ? hwprune_vega_lite_js_begin
                                                     : hwprune_vega_embed_js_begin;
  const char* end = library == Library::Vega       ? hwprune_vega_js_end
                    : library == Library::VegaLite ? hwprune_vega_lite_js_end
                                                   : hwprune_vega_embed_js_end;
  const std::string_view text(begin, static_cast<size_t>(end - begin));
  // "</script" would end the element early; "<\/script" means the same in JavaScript
  // strings and regular expressions.
  std::string out;
  out.reserve(text.size());
  for (size_t k = 0; k < text.size(); ++k) {
    if (text[k] == '<' && text.compare(k, 8, "</script") == 0) {
      out += "<\\/";
      ++k;
      continue;
    }
    out += text[k];
  }
  return out;
}

}  // namespace hwprune::report::assets
