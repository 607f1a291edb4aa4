// hls4ml YAML configurations: reading one (the model it names, IOType, ClockPeriod, Part,
// and HLSConfig Model/LayerType/LayerName precisions, reuse factors, strategies and
// parallelization factors) into the IR, and writing one for an exported model.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hwprune/ir/model.hpp"

namespace hwprune::io {

// What one HLSConfig entry (Model, a LayerType or a LayerName) sets.
struct HlsLayerSettings {
  Precision weight, bias, accum, result;  // each set only if the entry names it
  bool has_weight = false, has_bias = false, has_accum = false, has_result = false;
  std::optional<int64_t> reuse_factor;
  std::optional<Strategy> strategy;
  std::optional<int64_t> parallelization_factor;
};

struct HlsConfig {
  std::string path;  // the YAML file
  // Model files named by the config, resolved against the YAML's folder ("" if absent).
  std::string keras_json, keras_h5, onnx_model;
  std::optional<IoType> io_type;
  std::optional<double> clock_period;
  std::string part, backend, project_name, output_dir;
  HlsLayerSettings model;                          // HLSConfig: Model:
  std::map<std::string, HlsLayerSettings> types;   // HLSConfig: LayerType: (Keras class names)
  std::map<std::string, HlsLayerSettings> layers;  // HLSConfig: LayerName:
  std::vector<std::string> ignored;  // keys read but without meaning here (Trace, tables, ...)
};

// Parses an hls4ml YAML file. Error naming the file and the key for malformed YAML, a bad
// precision/strategy/reuse factor, or an unknown top-level section.
HlsConfig load_hls_config(const std::string& path);

// Applies a config to a model: IOType to every Dense/Conv layer; Model-level settings fill
// what the model leaves unset (float precisions, absent hardware attributes); LayerType and
// then LayerName settings override. A LayerName entry for the input layer (the model's
// metadata "keras.input_layer" / "onnx.input", or "<first layer>_input") sets the input
// precision from its result precision. Error naming a LayerName the model does not have.
// Records Part, ClockPeriod, IOType and the config path in the model's metadata
// ("hls4ml.part", "hls4ml.clock_period", "hls4ml.io_type", "hls4ml.config").
void apply_hls_config(Model& model, const HlsConfig& config);

// The model a config names: KerasJson (+ KerasH5) or OnnxModel, with the config applied.
Model load_model_from_hls_config(const std::string& path);

struct HlsExportOptions {
  // Model file entries: "KerasJson"/"KerasH5" or "OnnxModel" (paths as they should appear).
  std::string keras_json, keras_h5, onnx_model;
  std::string output_dir = "hls4ml_prj";
  std::string project_name = "myproject";
  std::string part;                    // default: the model's "hls4ml.part", else xcvu9p
  std::optional<double> clock_period;  // default: the model's "hls4ml.clock_period", else 5
  std::optional<IoType> io_type;       // default: the model's layers / "hls4ml.io_type"
  int64_t default_reuse_factor = 1;    // for layers without their own
};

// The IOType an exported config gets: options.io_type, else the last one set on a layer of
// `model`, else its "hls4ml.io_type" metadata, else io_parallel.
IoType hls_io_type(const Model& model, const HlsExportOptions& options);

// An hls4ml YAML config for `model` as the exporters write it (a quantized model with its
// BatchNorms folded into the Dense/Conv before them): per layer Precision (weight/bias/accum/result
// as they apply), ReuseFactor and Strategy (a Resource layer with pruned lanes is written as
// resource_unrolled so hls4ml drops its zero multipliers), plus the pass-through keys.
std::string hls_config_yaml(const Model& model, const HlsExportOptions& options);

}  // namespace hwprune::io
