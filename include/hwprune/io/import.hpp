// Every model format hwprune reads and writes, chosen by file extension: the native .hwp,
// ONNX, Keras 2 / QKeras (.json + .h5, or a full-model .h5) and hls4ml YAML configurations
// that name a model.
#pragma once

#include <string>
#include <vector>

#include "hwprune/io/hls_config.hpp"
#include "hwprune/io/keras.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::io {

enum class ModelFormat { Native, Onnx, KerasJson, KerasH5, HlsConfig };
// By extension (case-insensitive): the one list model_format, help and errors use.
inline constexpr NameTable<ModelFormat, 7> kModelFormats{
    "model format",
    {{{".hwp", ModelFormat::Native, "hwprune's model file (zip of model.json and .npy arrays)"},
      {".onnx", ModelFormat::Onnx, "ONNX / QONNX"},
      {".json", ModelFormat::KerasJson, "Keras/QKeras architecture (+ <stem>_weights.h5)"},
      {".h5", ModelFormat::KerasH5, "Keras/QKeras full model (or weights beside a .json)"},
      {".yml", ModelFormat::HlsConfig, "an hls4ml YAML config naming a model"},
      {".hdf5", ModelFormat::KerasH5, {}, true},
      {".yaml", ModelFormat::HlsConfig, {}, true}}},
    true};
// By extension (.hwp, .onnx, .json, .h5/.hdf5, .yml/.yaml); Error listing them otherwise.
ModelFormat model_format(const std::string& path);

// Reads a model in any format. `keras_weights` only applies to a Keras .json (default: the
// .h5 beside it, see load_keras). A YAML is an hls4ml config: the model it names, with the
// config applied.
Model import_model(const std::string& path, const std::string& keras_weights = "");

struct ExportOptions {
  bool quant_nodes = true;           // ONNX: QONNX Quant nodes for fixed-point precisions
  bool hls_config = true;            // write "<stem>_<ext>_hls4ml.yml" beside an ONNX/Keras export
  int64_t default_reuse_factor = 1;  // in that config, for layers without their own RF
  KerasFlavour keras_flavour = KerasFlavour::Plain;  // .json/.h5: plain Keras or QKeras layers
};

// Writes `model` in the format of `path`'s extension: .hwp; .onnx; .json (+ "<stem>_weights.h5");
// .h5 (one full-model file). Returns the files written. Each file is written atomically.
// Beside an ONNX/Keras export goes its hls4ml config (unless options.hls_config is false),
// named after the export's stem and lower-case extension so that exports of one model in
// several formats into one folder keep separate configs: m.onnx -> m_onnx_hls4ml.yml,
// m.json -> m_json_hls4ml.yml, m.h5 -> m_h5_hls4ml.yml. Its OutputDir is named the same way
// (m_onnx_hls4ml_prj, ...). The config is the last file returned.
std::vector<std::string> export_model(const Model& model, const std::string& path,
                                      const ExportOptions& options = {});
// The files export_model writes for `path`, in the order it returns them (Error for a path
// no export is written to), so that a caller can check and declare them before any work.
std::vector<std::string> export_files(const std::string& path, const ExportOptions& options = {});

// What hls4ml (the version docs/interop.md names) cannot read in the export of `model` to
// `path`, one sentence per problem naming the layer and the way around it; empty if none.
// ONNX: Conv and pooling layers (hls4ml wants QONNX's channels-last form) and HardSigmoid
// (no handler); QKeras: needs the qkeras package; io_stream: pooling with "same" padding or
// strides other than the pool size (hls4ml's streaming pooling asserts).
std::vector<std::string> hls4ml_handoff_notes(const Model& model, const std::string& path,
                                              const ExportOptions& options = {});

}  // namespace hwprune::io
