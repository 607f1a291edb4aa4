// One table per list of names (objectives, strategies, schedulers, data formats, ...): the
// parser, the printed name, the help text and the "unknown ..." error all come from it, so a
// name added to the table is known everywhere at once. Header-only (no link dependency).
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune {

template <typename T>
struct NameEntry {
  std::string_view name;
  T value;
  std::string_view help = {};  // one line for --help; empty for an alias
  bool alias = false;          // accepted by parse(), never listed nor printed
};

template <typename T, std::size_t N>
struct NameTable {
  std::string_view what;  // "scheduler" -> `unknown scheduler "x" (known: a, b, c)`
  std::array<NameEntry<T>, N> entries;
  bool ignore_case = false;

  // The printed name of a value (its first non-alias entry).
  constexpr std::string_view name(T value) const {
    for (const auto& e : entries)
      if (!e.alias && e.value == value) return e.name;
    return "?";
  }
  // Error `unknown <what> "<s>" (known: ...)` when `s` is not in the table.
  T parse(std::string_view s) const {
    for (const auto& e : entries)
      if (equal(e.name, s)) return e.value;
    throw Error(fmt::format("unknown {} \"{}\" (known: {})", what, s, list()));
  }
  bool contains(std::string_view s) const {
    for (const auto& e : entries)
      if (equal(e.name, s)) return true;
    return false;
  }
  // "a, b, c" (aliases left out).
  std::string list(std::string_view separator = ", ") const {
    std::string out;
    for (const auto& e : entries) {
      if (e.alias) continue;
      if (!out.empty()) out += separator;
      out += e.name;
    }
    return out;
  }
  // One line per name with its help, for a command's --help: "  name  help".
  std::string help_lines(std::string_view indent = "  ") const {
    std::size_t width = 0;
    for (const auto& e : entries)
      if (!e.alias) width = std::max(width, e.name.size());
    std::string out;
    for (const auto& e : entries)
      if (!e.alias) out += fmt::format("{}{:<{}}  {}\n", indent, e.name, width, e.help);
    return out;
  }

 private:
  bool equal(std::string_view a, std::string_view b) const {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
      if (ignore_case ? std::tolower(x) != std::tolower(y) : x != y) return false;
    }
    return true;
  }
};

}  // namespace hwprune
