// Every model format hwprune reads and writes, chosen by file extension: the native .hwp,
// ONNX, Keras 2 / QKeras (.json + .h5, or a full-model .h5) and hls4ml YAML configurations
// that name a model.
#pragma once

#include <string>
#include <vector>

#include "hwprune/io/hls_config.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::io {

enum class ModelFormat { Native, Onnx, KerasJson, KerasH5, HlsConfig };
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

}  // namespace hwprune::io
