// Whether text is valid UTF-8: names read from input files end up in JSON (model files,
// results), which holds only UTF-8, so they are checked when a model is built.
#pragma once

#include <string_view>

namespace hwprune {

// True for well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_utf8(std::string_view text);

}  // namespace hwprune
