// The model the exporters write (export_form.hpp).
#include "export_form.hpp"

#include <string>

namespace hwprune::io::export_detail {

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

}  // namespace hwprune::io::export_detail
