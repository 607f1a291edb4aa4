// Input standardisation stored with a model: x' = (x - mean) / scale per feature (tables) or
// with one mean/scale for all values (images), fitted on the training rows.
#pragma once

#include <vector>

#include "hwprune/ir/tensor.hpp"

namespace hwprune {

struct Standardisation {
  std::vector<float> mean;   // empty = identity; size 1 = global; else = sample size
  std::vector<float> scale;  // same size as mean; never 0

  bool empty() const { return mean.empty(); }
  void apply(Tensor& x) const;  // x is (n, sample...); Error if sizes disagree
  bool operator==(const Standardisation&) const = default;
};

enum class StandardiseMode { None, PerFeature, Global };
// Fits on x (n, sample...). A feature with zero variance gets scale 1.
Standardisation fit_standardisation(const Tensor& x, StandardiseMode mode);
// PerFeature for tables (rank-2 x), Global for images and sequences.
StandardiseMode default_standardise_mode(const Shape& x_shape);

}  // namespace hwprune
