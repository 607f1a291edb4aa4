// The metrics of a model's outputs on a dataset (accuracy, per-class accuracy, confusion
// matrix and cross-entropy of a classifier; MSE and MAE of a regression), one definition for
// the training engine's evaluation and for evaluate/predict without it.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/data/dataset.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::data {

struct Metrics {
  int64_t samples = 0;
  double loss = 0;  // mean cross-entropy of the logits, or the MSE
  // classification, over the model's K outputs (labels may use only some of the classes)
  double accuracy = 0;
  std::vector<std::vector<int64_t>> confusion;  // K x K, [true][predicted]
  std::vector<double> per_class_accuracy;       // recall per class (NaN if no samples)
  // regression
  double mse = 0, mae = 0;
  // Values that overflowed a wrapping (AP_WRAP) result type and wrapped around, per
  // quantization point; only points where that happened are listed.
  std::vector<Overflow> overflows;
};

// Metrics of `outputs` (n, K) against d's labels or targets: the logits of a classifier
// (the predicted class is the first largest logit) or a regression's outputs (K = target
// width). Error naming d.source when the row count, a label (>= K) or the width does not fit.
Metrics score_outputs(const Tensor& outputs, const Dataset& d);

// As JSON (docs/json.md): samples, loss, overflows, and accuracy, class_names,
// per_class_accuracy, confusion_matrix (classifier) or mse, mae (regression).
nlohmann::json to_json(const Metrics& m, const Model& model);

}  // namespace hwprune::data
