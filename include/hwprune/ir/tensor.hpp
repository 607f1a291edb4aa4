// A plain dense float32 tensor: a shape and row-major (C order) contiguous data.
// Used for weights, masks and datasets; it knows nothing about devices or autograd.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hwprune {

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar shape {}).
int64_t shape_numel(const Shape& shape);
// "(16, 64)" style text for messages.
std::string shape_str(const Shape& shape);

struct Tensor {
  Shape shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(Shape s, float fill = 0.0f);
  Tensor(Shape s, std::vector<float> values);  // throws Error if sizes disagree

  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape.size()); }
  bool empty() const { return data.empty(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }

  bool operator==(const Tensor& other) const = default;
};

}  // namespace hwprune
