// The model the exporters write (export_form.hpp).
#include "export_form.hpp"

#include <algorithm>
#include <string>

namespace hwprune::io::export_detail {

namespace {

// A layer with per-weight widths (joint pruning and precision) at the width of its widest
// live weight: every weight lies on that type's grid (at_width keeps the integer bits), so no
// value changes, and hls4ml builds the layer's multipliers at the width it needs (one width
// per layer is what hls4ml can express).
void narrow_to_widths(Layer& l) {
  if (l.widths.empty() || !l.precision.weight) return;
  const Tensor k = effective_kernel(l, true);
  int widest = 0;
  for (size_t i = 0; i < k.data.size(); ++i)
    if (k.data[i] != 0.0f) widest = std::max(widest, kernel_weight_bits(l, i));
  if (widest > 0 && widest < l.precision.weight->width)
    l.precision.weight = at_width(*l.precision.weight, widest);
}

}  // namespace

Model export_form(const Model& model) {
  Model m = model.is_quantized() ? fold_batchnorm(model) : model;  // fold also infers shapes
  if (!model.is_quantized()) m.infer_shapes();
  for (Layer& l : m.layers)
    if (l.has_kernel()) narrow_to_widths(l);
  return m;
}

std::string onnx_input_name(const Model& model) {
  auto it = model.metadata.find("onnx.input");
  if (it != model.metadata.end() && !it->second.empty() && it->second != "input") return it->second;
  return model.layers.empty() ? std::string("model_input") : model.layers.front().name + "_input";
}

}  // namespace hwprune::io::export_detail
