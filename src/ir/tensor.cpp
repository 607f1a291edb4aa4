#include "hwprune/ir/tensor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/util/error.hpp"

namespace hwprune {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

Tensor::Tensor(Shape s, float fill)
    : shape(std::move(s)), data(static_cast<size_t>(shape_numel(shape)), fill) {}

Tensor::Tensor(Shape s, std::vector<float> values) : shape(std::move(s)), data(std::move(values)) {
  if (static_cast<int64_t>(data.size()) != shape_numel(shape))
    throw Error(fmt::format("tensor of shape {} needs {} values, got {}", shape_str(shape),
                            shape_numel(shape), data.size()));
}

}  // namespace hwprune
