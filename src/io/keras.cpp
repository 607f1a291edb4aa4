// Keras 2 / QKeras import, the entry point: finds the architecture JSON and the weights file,
// then strings together the architecture reader, the weights reader and the "hwprune" block.
#include "hwprune/io/keras.hpp"

#include <filesystem>

#include "hwprune/util/fs.hpp"
#include "keras_detail.hpp"

namespace hwprune::io {

using namespace keras_detail;

namespace {

// The architecture JSON in `path`: a full-model .h5's `model_config` attribute (the file is
// left open in `full`, for its weights) or the file's text.
json read_architecture_json(const std::string& path, std::optional<WeightsFile>& full) {
  if (h5::is_hdf5_file(path)) {
    full.emplace(path);
    if (!h5::has_attr(full->file, "model_config"))
      fail(path,
           "no 'model_config' attribute: this is a weights-only file; load the "
           "architecture .json and pass this file as its weights");
    const std::string text = h5::read_string(full->file, "model_config");
    try {
      return json::parse(text);
    } catch (const json::exception& e) {
      fail(path, fmt::format("model_config is not valid JSON: {}", e.what()));
    }
  }
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(path, fmt::format("invalid JSON: {}", e.what()));
  }
}

}  // namespace

Model load_keras(const std::string& path, const std::string& weights_h5) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such file");

  // 1. The architecture, from the .json or the full-model .h5.
  std::optional<WeightsFile> wf;
  const json root = read_architecture_json(path, wf);
  std::string weights = weights_h5;
  if (wf && weights.empty())
    weights = path;  // a full-model .h5 holds its own weights
  else
    wf.reset();
  Architecture arch;
  try {
    arch = parse_architecture(path, root);
  } catch (const json::exception& e) {  // a safety net: the parser checks types itself
    fail(path, fmt::format("malformed Keras JSON: {}", e.what()));
  }
  Model m;
  m.name = arch.name;
  m.input_shape = arch.input_shape;
  m.layers = std::move(arch.layers);
  m.task = Task::Classification;

  // 2. The weights, from the file given, the full-model .h5 or the .h5 beside the .json.
  bool needs = false;
  for (const auto& l : m.layers) needs = needs || layer_needs_weights(l);
  if (needs || !weights.empty()) {
    if (weights.empty()) weights = weights_beside(path);
    if (!wf) {
      if (!std::filesystem::exists(weights, ec)) fail(weights, "weights file does not exist");
      wf.emplace(weights);
    }
    load_weights(m, arch.extra, *wf, path);
  }

  // 3. The exact precisions save_keras recorded beside the QKeras quantizers.
  try {
    apply_extension(m, root, path);
  } catch (const json::exception& e) {
    fail(path, fmt::format("malformed \"{}\" block: {}", kExtensionKey, e.what()));
  }

  // 4. Shapes, checked once more on the whole model, and where the model came from.
  try {
    m.infer_shapes();
  } catch (const Error& e) {
    fail(path, e.what());
  }
  m.metadata["source"] = path;
  m.metadata["keras.input_layer"] = arch.input_name;
  m.metadata["keras.class_name"] = arch.class_name;
  if (!weights.empty()) m.metadata["keras.weights"] = weights;
  return m;
}

}  // namespace hwprune::io
