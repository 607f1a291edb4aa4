// Private to the Keras importer/exporter (keras*.cpp, qkeras.cpp): the pieces the entry point
// load_keras strings together, and the QKeras argument mappings import and export share.
#pragma once

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "hdf5.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::io::keras_detail {

using nlohmann::json;

// Top-level key of the architecture JSON where save_keras records the exact precisions that
// QKeras cannot express (Keras ignores keys besides class_name/config).
inline constexpr const char* kExtensionKey = "hwprune";

// ---- scalar helpers shared by quantizer and layer configs ------------------------------

[[noreturn]] inline void fail(const std::string& file, const std::string& msg) {
  throw Error(fmt::format("{}: {}", file, msg));
}

// A JSON value for a message, cut to 60 characters.
inline std::string short_dump(const json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// An integer, also written as a float with no fraction (2.0).
inline bool as_int(const json& v, int64_t& out) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

// true/false, also written as 0/1.
inline bool as_bool(const json& v, bool& out) {
  if (v.is_boolean()) {
    out = v.get<bool>();
    return true;
  }
  int64_t i = 0;
  if (as_int(v, i) && (i == 0 || i == 1)) {
    out = i == 1;
    return true;
  }
  return false;
}

// ---- QKeras quantizers (qkeras.cpp) ------------------------------------------------------

// An activation as it appears in a layer config: its kind, parameters (Layer::alpha/beta),
// result precision and the suffix hls4ml uses to name the separate activation layer ("relu",
// "quantized_relu", ...).
struct ActivationSpec {
  ActivationKind kind = ActivationKind::Linear;
  Precision result;
  std::string suffix = "linear";
  double alpha = 0.0, beta = 0.0;
};

// A layer config's "activation": a Keras name, or (when allow_quantizers, for QKeras layers)
// a quantizer string or object. Error (message without location) when unsupported. The
// parameters are those of the Keras activation function: `leaky_relu` has slope 0.2 (the
// LeakyReLU layer's 0.3 is the layer's own default), `hard_sigmoid` is clip(0.2 x + 0.5, 0, 1)
// in Keras 2 and clip(x / 6 + 0.5, 0, 1) in Keras 3 (keras3).
ActivationSpec activation_spec(const json& a, bool allow_quantizers, bool keras3 = false);
// A Layer of kind Activation computing `a` (its name is left empty).
Layer activation_layer(const ActivationSpec& a);
// The precision of the quantizer cfg[key], nullopt if absent or null. Errors name the key.
Precision optional_quantizer(const json& cfg, const char* key);

// The quantized_bits arguments that compute qkeras_equivalent(t): what save_keras writes and
// qkeras_quantizer_str prints. `integer` excludes the sign bit.
struct BitsArgs {
  int bits = 0;
  int integer = 0;
  bool symmetric = false;
  bool keep_negative = true;
};
BitsArgs bits_args(const FixedType& t);

// The quantized_relu arguments whose output grid is the non-negative part of the ReLU result
// type `t` (a signed type loses its sign bit); nullopt for a 1-bit signed type, which keeps no
// value above 0.
struct ReluArgs {
  int bits = 0;
  int integer = 0;
};
std::optional<ReluArgs> relu_args(const FixedType& t);

// ---- what save_keras writes (keras_export.cpp) ---------------------------------------------

// The QKeras quantizer save_keras writes for a precision slot ("weight", "bias", "accum",
// "result") of a layer: quantized_bits for a kernel's weight and bias and for a linear
// activation's result, quantized_relu for a ReLU's result, none for any other slot. The
// importer reads the "hwprune" block by the same rule.
enum class SlotQuantizer { None, Bits, Relu };
SlotQuantizer slot_quantizer(const Layer& l, std::string_view slot);

// ---- architecture (keras_arch.cpp) -------------------------------------------------------

// What the weights reader needs beyond the IR layer.
struct LayerExtra {
  bool bn_center = true;
  bool bn_scale = true;
  int64_t bn_axis = -1;
};

struct Architecture {
  std::string class_name;
  std::string name;
  Shape input_shape;
  std::string input_name;
  std::vector<Layer> layers;
  std::map<std::string, LayerExtra> extra;
};

// The IR layers of a Sequential or single-chain Functional model JSON (`file` for messages).
Architecture parse_architecture(const std::string& file, const json& root);

// Restores the exact precisions save_keras recorded in the "hwprune" block of `root`, where
// they agree with the quantizers in the architecture (a quantizer changed since, e.g. by
// hand, wins).
void apply_extension(Model& m, const json& root, const std::string& file);

// ---- weights (keras_weights.cpp) -----------------------------------------------------------

// A weights .h5, open: the weights-only layout of save_weights, or a full-model file.
struct WeightsFile {
  std::string path;
  h5::Handle file;
  h5::Handle root;  // model_weights/ in a full-model file, else the file's root group

  explicit WeightsFile(const std::string& p);

  [[noreturn]] void fail_layer(const std::string& layer, const std::string& msg) const;
  // The file's first layer groups, for messages.
  std::string available() const;
  // Reads the weights of one layer in Keras order: `keys` are the IR names expected.
  std::vector<Tensor> read(const std::string& layer, const std::vector<std::string>& keys) const;
};

bool layer_needs_weights(const Layer& l);

// Fills every layer's weights from `wf`, checking shapes against the architecture as it goes.
void load_weights(Model& m, const std::map<std::string, LayerExtra>& extra, const WeightsFile& wf,
                  const std::string& arch_file);

// "<stem>_weights.h5" or "<stem>.h5" beside an architecture .json; Error if neither exists.
std::string weights_beside(const std::string& json_path);

}  // namespace hwprune::io::keras_detail
