// The model and the weight values the exporters write (export_form.hpp).
#include "export_form.hpp"

#include "hwprune/ir/fixed_point.hpp"

#include <string>

namespace hwprune::io::export_detail {

namespace {

void quantize_values(std::vector<float>& values, const Precision& p) {
  if (!p) return;
  const FixedType q = saturating(*p);
  for (float& v : values) v = static_cast<float>(q.quantize(static_cast<double>(v)));
}

}  // namespace

Model export_form(const Model& model) {
  if (model.is_quantized()) return fold_batchnorm(model);  // also infers shapes
  Model m = model;
  m.infer_shapes();
  return m;
}

std::string onnx_input_name(const Model& model) {
  auto it = model.metadata.find("onnx.input");
  if (it != model.metadata.end() && !it->second.empty() && it->second != "input") return it->second;
  return model.layers.empty() ? std::string("model_input") : model.layers.front().name + "_input";
}

Tensor exported_kernel(const Layer& l, bool quantize) {
  Tensor k = l.weight("kernel");
  if (!l.mask.empty())
    for (size_t i = 0; i < k.data.size(); ++i)
      if (l.mask.data[i] == 0.0f) k.data[i] = 0.0f;
  if (quantize) quantize_values(k.data, l.precision.weight);
  return k;
}

Tensor exported_bias(const Layer& l, bool quantize) {
  Tensor b = l.weight("bias");
  if (quantize) quantize_values(b.data, l.precision.bias);
  return b;
}

}  // namespace hwprune::io::export_detail
