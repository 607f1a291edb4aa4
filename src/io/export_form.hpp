// Private to the exporters (keras_export.cpp, onnx_export.cpp, hls_config.cpp): the model and
// the layers every export writes (with effective_kernel/effective_bias values), so that a Keras
// file, an ONNX file and the hls4ml configuration written beside either describe the same layers
// and the same numbers.
#pragma once

#include "hwprune/ir/model.hpp"

namespace hwprune::io::export_detail {

// The model as exported: validated (infer_shapes) and, when it is quantized, with every
// BatchNorm that follows a Dense/Conv folded into it (fold_batchnorm), as hwprune's quantized
// model and its integer model compute it. hls4ml keeps a BatchNorm after a layer with a
// result type separate, which gives other integers (docs/interop.md). A layer with per-weight
// widths (Layer::widths) has the weight precision of its widest live weight (the same values;
// hls4ml's granularity is the layer).
Model export_form(const Model& model);

// The ONNX graph input's name: the one the model was imported with (metadata "onnx.input"),
// else "<first layer>_input" as Keras and hls4ml name an input. Never "input", a name
// hls4ml's ModelGraph reserves. The hls4ml config's input entry uses it too.
std::string onnx_input_name(const Model& model);

}  // namespace hwprune::io::export_detail
