// Datasets in memory (float32 features, integer class labels or float regression targets),
// seeded splits, and input standardisation fitted on a training split.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hwprune/ir/tensor.hpp"

namespace hwprune::data {

enum class Task { Classification, Regression };

struct Dataset {
  Tensor x;  // (n, sample dims...) float32; images are (n, H, W, C), tables (n, features)
  Task task = Task::Classification;
  std::vector<int32_t> labels;           // classification: class index per row, in [0, K)
  std::vector<std::string> class_names;  // classification: K names (string labels, or "0".."K-1")
  Tensor targets;                        // regression: (n, outputs)
  std::string source;                    // where it came from, for messages

  int64_t size() const { return x.shape.empty() ? 0 : x.shape[0]; }
  Shape sample_shape() const;   // x.shape without the first dimension
  int64_t sample_size() const;  // product of sample_shape
  int num_classes() const { return static_cast<int>(class_names.size()); }
  int num_outputs() const;  // classes, or regression target width
  Dataset subset(const std::vector<int64_t>& rows) const;
  // Error naming the source if any feature or target is NaN/Inf.
  void check_finite() const;
};

// Seeded random split: returns (rest, held_out) with held_out having round(fraction * n) rows.
// fraction must be in [0, 1).
std::pair<Dataset, Dataset> split_holdout(const Dataset& d, double fraction, uint64_t seed);

// Per-feature (elementwise over one flattened sample) or global (one mean/scale for all
// values, used for images) standardisation: x' = (x - mean) / scale.
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

}  // namespace hwprune::data
