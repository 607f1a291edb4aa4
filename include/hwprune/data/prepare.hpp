// The model and the data of a run, as every command and the pruning pipeline prepare them:
// a model file of any format or a builtin built for the data, the train/validation/test
// parts of a --data spec (seeded splits), and the input standardisation (fitted on the
// training rows, stored in the model, applied to every part). Errors name the file or spec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hwprune/data/dataset.hpp"
#include "hwprune/data/loaders.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::data {

// Where a model comes from: a file of any format (.hwp, .onnx, Keras .json/.h5, an hls4ml
// .yml naming a model) or a builtin name (kBuiltinNames, mlp:...); Keras weights for a .json;
// an hls4ml config whose precisions, RFs, strategies and IOType are applied.
struct ModelSource {
  std::string model, weights, hls_config;
};

// Reads a model file (a .hwp keeps its optimizer state) and applies the hls4ml config. Error
// naming the path when it is a builtin (no trained weights) or no such file.
io::ModelFile load_model_source(const ModelSource& source);

// A builtin (kBuiltinNames, mlp:<sizes>) for samples of `input` shape (empty: the builtin's
// default) and `outputs` outputs, for `task` (a regression drops the final Softmax and the
// class names), every
// precision `precision` ("": ap_fixed<16,6>), then source.hls_config applied. Errors as
// make_builtin_model, parse_precision and the config.
Model build_builtin(const ModelSource& source, const std::string& precision, int outputs,
                    const Shape& input, Task task, uint64_t seed);

// How a model's labels map: its task and class names (numbered "0".."K-1" when it has none),
// so string labels map onto its classes and labels may use only some of them.
LoadOptions load_options_for(const Model& model);

// The train/test parts of a --data spec: the source's own test part if it has one, else
// --test-data if given, else a seeded hold-out of test_split (0: none).
struct Parts {
  Dataset train;
  std::optional<Dataset> test;
  std::string test_origin;  // e.g. "the source's test split", "20% held out (seed 1)"
};
Parts load_parts(const std::string& spec, const std::string& test_spec, double test_split,
                 uint64_t seed, const LoadOptions& load);

// What a training run (train, prune) starts from.
struct TrainingSpec {
  ModelSource source;
  std::string data, test_data;
  std::string precision;     // every precision of the model ("" = its own; builtins 16,6)
  std::optional<Task> task;  // default: from the data (or the model file)
  double test_split = 0.2;   // without a test part of the data's own
  double val_split = 0.1;    // validation rows taken from the training part
  uint64_t seed = 1;         // of the splits (and a builtin's initialisation)
};

struct TrainingInputs {
  io::ModelFile file;  // the model: loaded, or the builtin built for the data
  bool builtin = false;
  Dataset train;                // standardised
  std::optional<Dataset> val;   // standardised; when val_split > 0
  std::optional<Dataset> test;  // standardised
  std::string test_origin;
};

// The model and its data, standardised with the model's standardisation (fitted on the
// training part when the model has none). A builtin takes its input shape and class count
// from the data. Records the data provenance in the model's metadata (train.data,
// train.seed, train.test_split, train.val_split).
TrainingInputs prepare_training(const TrainingSpec& spec);

// Which rows of a --data spec a trained model is judged on (evaluate, predict, synth).
enum class Split { Auto, Test, Train, All };
inline constexpr NameTable<Split, 4> kSplitNames{
    "split",
    {{{"auto", Split::Auto, "the test part if there is one, else all rows"},
      {"test", Split::Test, "the test part (the source's own, --test-data or a held-out share)"},
      {"train", Split::Train, "the rows left after taking the test part"},
      {"all", Split::All, "every row of --data"}}}};

struct EvalSpec {
  std::string data, test_data;
  std::string split = "auto";
  // Held-out test share and its seed when the data has no test part. Default: as the model
  // was trained (its train.* metadata) when `data` is its training data, else no hold-out.
  std::optional<double> test_split;
  std::optional<uint64_t> seed;
  bool labels_required = true;  // false: unlabelled rows are fine (predict)
};

struct EvalData {
  Dataset rows;      // standardised with the model's standardisation
  std::string what;  // e.g. "test (the source's test split)", "all rows"
};
EvalData prepare_eval(const Model& model, const EvalSpec& spec);

}  // namespace hwprune::data
