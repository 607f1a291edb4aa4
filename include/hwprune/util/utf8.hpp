// Whether text is valid UTF-8: names read from input files end up in JSON (model files,
// results), which holds only UTF-8, so they are checked when a model is built.
#pragma once

#include <cstddef>
#include <string_view>

namespace hwprune {

// The length (1..4) of the well-formed UTF-8 character at text[at], or 0 if none starts there
// (no overlong forms, surrogates or code points above U+10FFFF).
size_t utf8_length(std::string_view text, size_t at);

// True for well-formed UTF-8: every character has a utf8_length.
bool is_utf8(std::string_view text);

}  // namespace hwprune
