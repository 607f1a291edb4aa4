// The one exception type hwprune throws for bad input or unsupported requests.
// Its message is a single line naming the file/layer/value at fault; the CLI prints it
// and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace hwprune {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hwprune
