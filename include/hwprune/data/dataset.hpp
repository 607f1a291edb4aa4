// Datasets in memory (float32 features, integer class labels or float regression targets)
// and seeded splits.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hwprune/ir/standardisation.hpp"
#include "hwprune/ir/task.hpp"
#include "hwprune/ir/tensor.hpp"

namespace hwprune::data {

struct Dataset {
  Tensor x;  // (n, sample dims...) float32; images are (n, H, W, C), tables (n, features)
  Task task = Task::Classification;
  std::vector<int32_t> labels;           // classification: class index per row, in [0, K)
  std::vector<std::string> class_names;  // classification: K names (string labels, or "0".."K-1")
  Tensor targets;                        // regression: (n, outputs)
  // Optional (n, outputs): a teacher network's outputs for each row (its logits, for a
  // classifier), which training with distillation follows besides the labels.
  Tensor teacher;
  std::string source;  // where it came from, for messages

  int64_t size() const { return x.shape.empty() ? 0 : x.shape[0]; }
  Shape sample_shape() const;   // x.shape without the first dimension
  int64_t sample_size() const;  // product of sample_shape
  int num_classes() const { return static_cast<int>(class_names.size()); }
  int num_outputs() const;  // classes, or regression target width
  // Labels (classification) or targets (regression) present; false for features only.
  bool labelled() const {
    return task == Task::Classification ? !labels.empty() : targets.numel() > 0;
  }
  Dataset subset(const std::vector<int64_t>& rows) const;
  // Error naming the source if any feature or target is NaN/Inf.
  void check_finite() const;
};

// Seeded random split: returns (rest, held_out) with held_out having round(fraction * n) rows.
// fraction must be in [0, 1). A labelled classification set is split stratified: each class
// is held out in proportion to its rows (largest-remainder rounding), so a rare class keeps
// its share of the held-out part.
std::pair<Dataset, Dataset> split_holdout(const Dataset& d, double fraction, uint64_t seed);

}  // namespace hwprune::data
