// A model's outputs and metrics on data without the training engine (no LibTorch): the float
// QAT model (reference_forward: every precision applied as at inference) or the bit-exact
// integer model (ir/int_model.hpp: what the generated Verilog computes). What `predict`,
// `evaluate`, `synth` and the test figures of `train`/`prune` report. Inputs are
// standardised already (Standardisation::apply, or prepare.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/data/dataset.hpp"
#include "hwprune/data/metrics.hpp"
#include "hwprune/hw/map_model.hpp"
#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::data {

struct Predictions {
  int64_t rows = 0, outputs = 0;
  // (n, outputs): the logits of a classifier (the input of its final Softmax) or the
  // regression outputs, as real values.
  Tensor scores;
  // (n, outputs): softmax of the scores (computed in double) when the model ends in a
  // Softmax; empty otherwise.
  Tensor probabilities;
  std::vector<int32_t> predicted;  // argmax of the scores (the first largest); classifiers
  // The integer model only: the raw integers of `scores` (n * outputs, row-major) and their
  // fixed-point type (scores = raw * 2^-F).
  std::vector<int64_t> raw;
  std::optional<FixedType> raw_type;
  std::vector<Overflow> overflows;  // float QAT model: values that wrapped, per layer
};

// The float QAT model on x (n, sample...). Error if x does not fit the model.
Predictions predict(const Model& model, const Tensor& x);

// The integer model on x, with each layer's reuse factor from `spec` (it fixes the order of
// the accumulator's additions, which matters for saturating accumulators). Error naming the
// layer for anything but a Dense/ReLU network with fixed-point precisions.
Predictions predict_integer(const Model& model, const Tensor& x, const hw::HardwareSpec& spec);

// Metrics of the float QAT model on d (labels may use only some of the model's classes).
Metrics evaluate(const Model& model, const Dataset& d);

// Files of predictions, by extension (docs/model-semantics.md, "Predictions"):
//   .csv  one row per sample: row, label (when `rows` has labels), predicted, predicted_class,
//         score_<j>, probability_<j> (classifier with a final Softmax), raw_<j> (integer model)
//   .npy  the model's outputs as Keras predict gives them: probabilities of a classifier with
//         a final Softmax, else the scores (float32, (n, outputs)); the raw integers (int64)
//         for the integer model
//   .npz  every array: scores, probabilities, predicted, raw, labels (those that exist)
enum class PredictionFormat { Csv, Npy, Npz };
inline constexpr NameTable<PredictionFormat, 3> kPredictionFormats{
    "predictions file type",
    {{{".csv", PredictionFormat::Csv, "a row per sample with every figure"},
      {".npy", PredictionFormat::Npy, "the outputs as one array"},
      {".npz", PredictionFormat::Npz, "every array"}}},
    true};
// The CSV text (the .csv format). `rows` (optional): the data predicted on, for its labels.
std::string predictions_csv(const Predictions& p, const Model& model,
                            const Dataset* rows = nullptr);
// Writes `path` atomically in the format of its extension; Error listing the known ones.
void write_predictions(const std::string& path, const Predictions& p, const Model& model,
                       const Dataset* rows = nullptr);
// As JSON: outputs, class_names, and per row predicted, scores, probabilities, raw, label.
nlohmann::json to_json(const Predictions& p, const Model& model, const Dataset* rows = nullptr);

}  // namespace hwprune::data
