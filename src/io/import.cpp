// Format dispatch for reading and writing models.
#include "hwprune/io/import.hpp"

#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "hwprune/io/keras.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/io/onnx.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::io {

namespace fs = std::filesystem;

namespace {

// ".H5" -> ".h5".
std::string lower_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

ModelFormat model_format(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (!kModelFormats.contains(ext))
    throw Error(fmt::format("{}: unknown model format \"{}\" (known: {})", path, ext,
                            kModelFormats.list()));
  return kModelFormats.parse(ext);
}

Model load_model_from_hls_config(const std::string& path) {
  const HlsConfig cfg = load_hls_config(path);
  // A model file the YAML names but that is not there: said with the YAML and the key.
  for (const auto& [key, file] :
       {std::pair{"OnnxModel", &cfg.onnx_model}, std::pair{"KerasJson", &cfg.keras_json},
        std::pair{"KerasH5", &cfg.keras_h5}}) {
    std::error_code ec;
    if (!file->empty() && !fs::exists(*file, ec))
      throw Error(fmt::format("{}: {}: {}: {}", path, key, *file,
                              ec ? ec.message() : std::string("no such file")));
  }
  Model model;
  if (!cfg.onnx_model.empty()) {
    model = load_onnx(cfg.onnx_model);
  } else if (!cfg.keras_json.empty()) {
    model = load_keras(cfg.keras_json, cfg.keras_h5);
  } else if (!cfg.keras_h5.empty()) {
    model = load_keras(cfg.keras_h5);
  } else {
    throw Error(fmt::format("{}: names no model (KerasJson/KerasH5 or OnnxModel)", path));
  }
  apply_hls_config(model, cfg);
  return model;
}

Model import_model(const std::string& path, const std::string& keras_weights) {
  switch (model_format(path)) {
    case ModelFormat::Native:
      return load_model(path);
    case ModelFormat::Onnx:
      return load_onnx(path);
    case ModelFormat::KerasJson:
      return load_keras(path, keras_weights);
    case ModelFormat::KerasH5:
      return load_keras(path);
    case ModelFormat::HlsConfig:
      return load_model_from_hls_config(path);
  }
  throw Error(fmt::format("{}: unreadable model", path));
}

std::vector<std::string> export_files(const std::string& path, const ExportOptions& options) {
  const fs::path p(path);
  const std::string stem = (p.parent_path() / p.stem()).string();
  const ModelFormat format = model_format(path);
  if (format == ModelFormat::HlsConfig)
    throw Error(fmt::format(
        "{}: an hls4ml config is written beside an exported model; export to .onnx, .json "
        "or .h5",
        path));
  std::vector<std::string> files{path};
  if (format == ModelFormat::KerasJson) files.push_back(stem + "_weights.h5");
  // The config is named after the export's extension as well as its stem, so that exports of
  // one model in several formats into one folder keep their own configs and hls4ml projects.
  if (format != ModelFormat::Native && options.hls_config)
    files.push_back(fmt::format("{}_{}_hls4ml.yml", stem, lower_extension(p).substr(1)));
  return files;
}

std::vector<std::string> export_model(const Model& model, const std::string& path,
                                      const ExportOptions& options) {
  const fs::path p(path);
  const std::vector<std::string> files = export_files(path, options);
  HlsExportOptions hls;
  hls.default_reuse_factor = options.default_reuse_factor;
  switch (model_format(path)) {
    case ModelFormat::Native:
      save_model(path, model);
      return files;
    case ModelFormat::Onnx:
      save_onnx(model, path, OnnxExportOptions{options.quant_nodes});
      hls.onnx_model = p.filename().string();
      break;
    case ModelFormat::KerasJson:
      save_keras(model, path, files[1], {options.keras_flavour});
      hls.keras_json = p.filename().string();
      hls.keras_h5 = fs::path(files[1]).filename().string();
      break;
    case ModelFormat::KerasH5:
      save_keras_h5(model, path, {options.keras_flavour});
      hls.keras_h5 = p.filename().string();
      break;
    case ModelFormat::HlsConfig:
      break;  // refused by export_files
  }
  if (options.hls_config) {
    const std::string& yml = files.back();
    hls.output_dir = fs::path(yml).stem().string() + "_prj";
    write_file_atomic(yml, hls_config_yaml(model, hls));
  }
  return files;
}

std::vector<std::string> hls4ml_handoff_notes(const Model& model, const std::string& path,
                                              const ExportOptions& options) {
  std::vector<std::string> notes;
  const ModelFormat f = model_format(path);
  if (f == ModelFormat::Onnx) {
    for (const Layer& l : model.layers) {
      if (l.is_conv() || l.is_pool())
        notes.push_back(
            fmt::format("hls4ml's ONNX reader takes '{}' ({}) only in QONNX's channels-last form "
                        "(qonnx-to-channels-last); export to .json for hls4ml",
                        l.name, to_string(l.kind)));
      else if (l.kind == LayerKind::Activation && l.activation == ActivationKind::HardSigmoid)
        notes.push_back(fmt::format(
            "hls4ml's ONNX reader has no HardSigmoid ('{}'); export to .json for hls4ml", l.name));
    }
  } else if ((f == ModelFormat::KerasJson || f == ModelFormat::KerasH5) &&
             options.keras_flavour == KerasFlavour::QKeras && model.is_quantized()) {
    notes.push_back(
        "hls4ml reads QKeras layers only with the qkeras package (and TensorFlow) installed; "
        "the plain flavour needs neither");
  }
  if (f != ModelFormat::Native && hls_io_type(model, {}) == IoType::Stream)
    for (const Layer& l : model.layers)
      if (l.is_pool() && (l.padding != Padding::Valid || l.strides != l.pool_size))
        notes.push_back(fmt::format(
            "hls4ml's io_stream pooling takes only valid padding with strides equal to the pool "
            "size ('{}': pool {}, strides {}, {} padding); export it at io_parallel",
            l.name, shape_str(l.pool_size), shape_str(l.strides), to_string(l.padding)));
  return notes;
}

}  // namespace hwprune::io
