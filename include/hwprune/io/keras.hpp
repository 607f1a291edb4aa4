// Keras 2 / QKeras interop: reads a model's architecture JSON and HDF5 weights into the IR,
// and writes a model back as Keras JSON + weights .h5 or as one full-model .h5.
// docs/keras.md lists what is supported and how QKeras quantizers map to precisions.
#pragma once

#include <string>
#include <string_view>

#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::io {

// Keras 2 / QKeras model: `path` is an architecture .json (weights from `weights_h5`, or if
// empty from "<stem>_weights.h5" or "<stem>.h5" beside it) or a full-model .h5 whose
// `model_config` attribute holds the architecture (weights under model_weights/, or from
// `weights_h5` if given). Files are recognised by content, not by extension.
// Sets metadata "source" (= path), "keras.input_layer", "keras.weights" (the weights file)
// and "keras.class_name" (Sequential/Model/Functional). Every problem is an Error naming the
// file and, where there is one, the layer.
Model load_keras(const std::string& path, const std::string& weights_h5 = "");

// Which Keras layers a quantized model is written as. Plain: Dense/Conv1D/Conv2D/Activation/...
// with the precisions only in the hls4ml configuration written beside (hls4ml reads these
// without TensorFlow or QKeras). QKeras: QDense/QConv1D/QConv2D/QActivation with quantizers
// (needs the qkeras package to read). A float model is plain Keras either way.
enum class KerasFlavour { Plain, QKeras };
inline constexpr NameTable<KerasFlavour, 2> kKerasFlavours{
    "Keras flavour",
    {{{"plain", KerasFlavour::Plain,
       "Dense/Conv/Activation layers, precisions in the hls4ml config (no TensorFlow needed)"},
      {"qkeras", KerasFlavour::QKeras,
       "QDense/QConv/QActivation with QKeras quantizers (reading it needs QKeras)"}}},
    true};

struct KerasExportOptions {
  KerasFlavour flavour = KerasFlavour::Plain;
};

// Writes architecture JSON + weights .h5 (weights-only layout Keras' load_weights and hls4ml
// read). A quantized model is written in its exported form: BatchNorms after a Dense/Conv
// folded, weights and biases on their precision's grid exactly as hwprune's integer model
// quantizes them (masked weights 0), so re-quantizing them is the identity. Layer classes
// follow options.flavour. Both files are written atomically; nothing is written if the model
// is invalid or has a layer Keras cannot express (Error naming it).
void save_keras(const Model& model, const std::string& json_path, const std::string& h5_path,
                const KerasExportOptions& options = {});
// One full-model .h5: `model_config` (and `keras_version`, `backend`) attributes + model_weights/.
void save_keras_h5(const Model& model, const std::string& h5_path,
                   const KerasExportOptions& options = {});

// The precision a QKeras quantizer given in its string form computes, e.g.
// "quantized_bits(6,0,alpha=1)" -> ap_fixed<6,1,AP_RND_CONV,AP_SAT>,
// "quantized_relu(6,0)" -> ap_ufixed<6,0,AP_RND_CONV,AP_SAT>. Error for a quantizer that no
// fixed-point type represents exactly (alpha != 1, stochastic rounding, po2, ...).
FixedType parse_qkeras_quantizer(std::string_view text);

// The QKeras quantizer closest to a type, as a string: quantized_bits(W,I-1,...) for a signed
// type, quantized_bits(W,I,keep_negative=0,...) for an unsigned one, always with alpha=1.
// QKeras always rounds to nearest-even and saturates, so it computes exactly `t` only when
// `t` is AP_RND_CONV with AP_SAT (or AP_SAT_SYM); see qkeras_exact().
std::string qkeras_quantizer_str(const FixedType& t);
// Whether QKeras' quantized_bits computes exactly this type.
bool qkeras_exact(const FixedType& t);
// The type QKeras computes in place of `t`: same width, integer bits and sign, AP_RND_CONV,
// AP_SAT (AP_SAT_SYM kept for signed types).
FixedType qkeras_equivalent(const FixedType& t);

}  // namespace hwprune::io
