// The native model file (.hwp): architecture, precisions, weights, masks, input
// standardisation, class names, provenance and, optionally, the optimizer state.
// The format is documented in docs/model-format.md: a zip archive holding model.json and
// one .npy array per tensor, so numpy (np.load) can read every weight.
#pragma once

#include <optional>
#include <string>

#include "hwprune/ir/model.hpp"

namespace hwprune::io {

inline constexpr int kModelFormatVersion = 1;

struct ModelFile {
  Model model;
  // Opaque optimizer state written by the training engine (LibTorch archive bytes) and the
  // optimizer it belongs to ("adam"/"sgd"); absent unless saved.
  std::optional<std::string> optimizer_state;
  std::string optimizer_kind;
};

// Writes atomically (temporary file, then rename). Calls model.infer_shapes() first, so an
// inconsistent model is refused before anything is written.
void save_model_file(const std::string& path, const ModelFile& file);
inline void save_model(const std::string& path, const Model& model) {
  save_model_file(path, ModelFile{model, std::nullopt, {}});
}

// Reads and validates; every problem is an Error naming the file (and layer/member).
ModelFile load_model_file(const std::string& path);
inline Model load_model(const std::string& path) {
  return load_model_file(path).model;
}

}  // namespace hwprune::io
