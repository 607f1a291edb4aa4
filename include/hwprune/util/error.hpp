// The one exception type hwprune throws for bad input or unsupported requests.
// Its message is a single line naming the file/layer/value at fault (names read from input
// may hold line breaks or other control characters: the constructor escapes them); the CLI
// prints it and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace hwprune {

// `text` on one line: line breaks, tabs and other control characters written as \n, \r, \t,
// \xNN, and so are bytes that are not UTF-8; trailing white space dropped.
std::string one_line(std::string_view text);

class Error : public std::runtime_error {
 public:
  explicit Error(std::string_view message) : std::runtime_error(one_line(message)) {}
};

}  // namespace hwprune
