// The model and the data of a run (see prepare.hpp).
#include "hwprune/data/prepare.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "hwprune/io/hls_config.hpp"
#include "hwprune/io/import.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::data {

namespace {

void apply_hls_config(Model& model, const ModelSource& source) {
  if (!source.hls_config.empty())
    io::apply_hls_config(model, io::load_hls_config(source.hls_config));
}

std::string metadata(const Model& m, const char* key) {
  auto it = m.metadata.find(key);
  return it == m.metadata.end() ? std::string() : it->second;
}

void require_labels(const Dataset& d, const char* why) {
  if (!d.labelled())
    throw Error(fmt::format("{}: no {} ({} needs them)", d.source,
                            d.task == Task::Classification ? "labels" : "targets", why));
}

}  // namespace

Model build_builtin(const ModelSource& source, const std::string& precision, int outputs,
                    const Shape& input, Task task, uint64_t seed) {
  Model m = make_builtin_model(source.model, outputs, seed, input);
  m.task = task;
  if (task == Task::Regression) {
    if (m.ends_in_softmax()) m.layers.pop_back();
    m.class_names.clear();
  }
  m.set_precision(parse_precision(precision.empty() ? "ap_fixed<16,6>" : precision));
  apply_hls_config(m, source);
  return m;
}

io::ModelFile load_model_source(const ModelSource& s) {
  if (is_builtin_model(s.model) && !std::filesystem::exists(s.model))
    throw Error(fmt::format(
        "--model {}: a builtin has no trained weights here; give a model file (e.g. from "
        "hwprune train --model {} --out m.hwp)",
        s.model, s.model));
  if (!std::filesystem::exists(s.model))
    throw Error(fmt::format("--model {}: not a builtin model ({}, mlp:<sizes>) and no such file",
                            s.model, kBuiltinNames.list()));
  io::ModelFile file;
  if (io::model_format(s.model) == io::ModelFormat::Native)
    file = io::load_model_file(s.model);
  else
    file.model = io::import_model(s.model, s.weights);
  apply_hls_config(file.model, s);
  return file;
}

LoadOptions load_options_for(const Model& model) {
  LoadOptions load;
  load.task = model.task;
  load.class_names = model.class_names;
  if (model.task == Task::Classification && load.class_names.empty())
    for (int64_t c = 0; c < model.output_size(); ++c) load.class_names.push_back(std::to_string(c));
  return load;
}

Parts load_parts(const std::string& spec, const std::string& test_spec, double test_split,
                 uint64_t seed, const LoadOptions& load) {
  DataSplit ds = load_data(spec, load);
  Parts out;
  if (!test_spec.empty()) {
    LoadOptions test_load = load;
    if (test_load.class_names.empty() && ds.train.task == Task::Classification)
      test_load.class_names = ds.train.class_names;
    DataSplit t = load_data(test_spec, test_load);
    out.train = std::move(ds.train);
    out.test = std::move(t.train);
    out.test_origin = fmt::format("--test-data {}", test_spec);
  } else if (ds.test) {
    out.train = std::move(ds.train);
    out.test = std::move(ds.test);
    out.test_origin = "the source's test split";
  } else if (test_split > 0) {
    if (!(test_split < 1))
      throw Error(fmt::format("--test-split must be in [0, 1), got {}", test_split));
    auto [rest, held] = split_holdout(ds.train, test_split, seed);
    out.train = std::move(rest);
    out.test = std::move(held);
    out.test_origin = fmt::format("{:g}% held out (seed {})", 100 * test_split, seed);
  } else {
    out.train = std::move(ds.train);
  }
  return out;
}

TrainingInputs prepare_training(const TrainingSpec& spec) {
  if (!(spec.val_split >= 0 && spec.val_split < 1))
    throw Error(fmt::format("--val-split must be in [0, 1), got {}", spec.val_split));
  // The model first when it is a file: its class names decide how string labels map.
  TrainingInputs in;
  in.builtin = is_builtin_model(spec.source.model);
  LoadOptions load;
  load.task = spec.task;
  if (!in.builtin) {
    in.file = load_model_source(spec.source);
    load.class_names = in.file.model.class_names;  // none: derived from the data
    if (!load.task) load.task = in.file.model.task;
  }
  Parts parts = load_parts(spec.data, spec.test_data, spec.test_split, spec.seed, load);
  require_labels(parts.train, "training");
  Model& model = in.file.model;
  if (in.builtin) {
    const Dataset& t = parts.train;
    model = build_builtin(spec.source, spec.precision, t.num_outputs(), t.sample_shape(), t.task,
                          spec.seed);
    if (t.task == Task::Classification) model.class_names = t.class_names;
  } else if (!spec.precision.empty()) {
    model.set_precision(parse_precision(spec.precision));
  }
  model.check_data(parts.train.sample_shape(), parts.train.num_outputs(), parts.train.source);

  in.train = std::move(parts.train);
  if (spec.val_split > 0) {
    auto [rest, held] = split_holdout(in.train, spec.val_split, spec.seed + 1);
    in.train = std::move(rest);
    in.val = std::move(held);
  }
  if (model.standardisation.empty())
    model.standardisation =
        fit_standardisation(in.train.x, default_standardise_mode(in.train.x.shape));
  model.standardisation.apply(in.train.x);
  if (in.val) model.standardisation.apply(in.val->x);
  if (parts.test) {
    require_labels(*parts.test, "a test evaluation");
    model.standardisation.apply(parts.test->x);
  }
  in.test = std::move(parts.test);
  in.test_origin = std::move(parts.test_origin);

  model.metadata["train.data"] = spec.data;
  model.metadata["train.seed"] = std::to_string(spec.seed);
  model.metadata["train.test_split"] =
      spec.test_data.empty() ? fmt::format("{}", spec.test_split) : "";
  model.metadata["train.val_split"] = fmt::format("{}", spec.val_split);
  return in;
}

EvalData prepare_eval(const Model& model, const EvalSpec& spec) {
  const Split split = kSplitNames.parse(spec.split);
  // Without a test part of its own, the data the model was trained on is split exactly as
  // training split it, so "test" means the same held-out rows.
  double test_split = 0.0;
  uint64_t seed = 1;
  if (metadata(model, "train.data") == spec.data && !metadata(model, "train.test_split").empty()) {
    try {
      test_split = std::stod(metadata(model, "train.test_split"));
      seed = std::stoull(metadata(model, "train.seed"));
    } catch (const std::exception&) {
      throw Error(
          fmt::format("model '{}': malformed train.test_split/train.seed metadata", model.name));
    }
  }
  if (spec.test_split) test_split = *spec.test_split;
  if (spec.seed) seed = *spec.seed;
  if (split == Split::All) test_split = 0.0;
  Parts parts = load_parts(spec.data, spec.test_data, test_split, seed, load_options_for(model));

  EvalData out;
  if (split == Split::Test && !parts.test)
    throw Error(fmt::format("{}: has no test part (use --test-split or --test-data)", spec.data));
  if (split == Split::All && parts.test) {
    // Every row: the training part and the source's own test part together.
    out.rows = parts.train;
    Dataset& t = *parts.test;
    out.rows.x.data.insert(out.rows.x.data.end(), t.x.data.begin(), t.x.data.end());
    out.rows.x.shape[0] += t.size();
    out.rows.labels.insert(out.rows.labels.end(), t.labels.begin(), t.labels.end());
    out.rows.targets.data.insert(out.rows.targets.data.end(), t.targets.data.begin(),
                                 t.targets.data.end());
    if (!out.rows.targets.shape.empty()) out.rows.targets.shape[0] += t.size();
    out.what = "all rows";
  } else if (split != Split::Test && (split != Split::Auto || !parts.test)) {
    out.rows = std::move(parts.train);
    out.what = split == Split::Train ? "train" : "all rows";
  } else {
    out.rows = std::move(*parts.test);
    out.what = fmt::format("test ({})", parts.test_origin);
  }
  if (spec.labels_required) require_labels(out.rows, "an evaluation");
  model.check_data(out.rows.sample_shape(),
                   out.rows.labelled() ? out.rows.num_outputs() : model.output_size(),
                   out.rows.source);
  model.standardisation.apply(out.rows.x);
  return out;
}

}  // namespace hwprune::data
