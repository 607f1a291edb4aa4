// Keras 2 / QKeras export: architecture JSON (Sequential) + weights .h5 in the weights-only
// layout, or one full-model .h5. The exact precisions go in a top-level "hwprune" block that
// Keras ignores; load_keras restores them.
#include "export_form.hpp"
#include "hwprune/io/keras.hpp"
#include "hwprune/util/fs.hpp"
#include "keras_detail.hpp"

namespace hwprune::io {

namespace keras_detail {

SlotQuantizer slot_quantizer(const Layer& l, std::string_view slot) {
  if (l.has_kernel() && (slot == "weight" || slot == "bias")) return SlotQuantizer::Bits;
  if (l.kind == LayerKind::Activation && slot == "result") {
    if (l.activation == ActivationKind::Linear) return SlotQuantizer::Bits;
    if (l.activation == ActivationKind::ReLU || l.activation == ActivationKind::QuantizedReLU)
      return SlotQuantizer::Relu;
  }
  return SlotQuantizer::None;
}

}  // namespace keras_detail

namespace {

using namespace keras_detail;
using namespace export_detail;

using ojson = nlohmann::ordered_json;

constexpr const char* kKerasVersion = "2.4.0";
constexpr const char* kBackend = "tensorflow";
constexpr int kExtensionFormat = 1;

[[noreturn]] void fail_layer(const std::string& file, const Layer& l, const std::string& msg) {
  throw Error(fmt::format("{}: layer '{}': {}", file, l.name, msg));
}

ojson ints(const std::vector<int64_t>& v) {
  ojson a = ojson::array();
  for (int64_t x : v) a.push_back(x);
  return a;
}

// quantized_bits computing `t` where QKeras can (see qkeras_equivalent).
ojson bits_quantizer(const std::string& file, const Layer& l, const FixedType& t) {
  if (t.is_signed && t.width < 2)
    fail_layer(file, l,
               fmt::format("{} has no QKeras equivalent (quantized_bits with 1 bit and "
                           "keep_negative is a sign quantizer)",
                           t.str()));
  const BitsArgs a = bits_args(t);
  ojson c;
  c["bits"] = a.bits;
  c["integer"] = a.integer;
  c["symmetric"] = a.symmetric ? 1 : 0;
  c["alpha"] = 1;
  c["keep_negative"] = a.keep_negative;
  c["use_stochastic_rounding"] = false;
  c["qnoise_factor"] = 1.0;
  return ojson{{"class_name", "quantized_bits"}, {"config", c}};
}

// quantized_relu whose output grid is the non-negative part of `t`.
ojson relu_quantizer(const std::string& file, const Layer& l, const FixedType& t) {
  const std::optional<ReluArgs> a = relu_args(t);
  if (!a) fail_layer(file, l, fmt::format("ReLU result {} keeps no value above 0", t.str()));
  ojson c;
  c["bits"] = a->bits;
  c["integer"] = a->integer;
  c["use_sigmoid"] = 0;
  c["negative_slope"] = 0.0;
  c["use_stochastic_rounding"] = false;
  c["relu_upper_bound"] = nullptr;
  c["qnoise_factor"] = 1.0;
  return ojson{{"class_name", "quantized_relu"}, {"config", c}};
}

// The quantizer written for precision `p` in a slot of `l` (slot_quantizer), or null.
ojson slot_quantizer_json(const std::string& file, const Layer& l, const char* slot,
                          const Precision& p) {
  if (!p) return nullptr;
  switch (slot_quantizer(l, slot)) {
    case SlotQuantizer::Bits:
      return bits_quantizer(file, l, *p);
    case SlotQuantizer::Relu:
      return relu_quantizer(file, l, *p);
    case SlotQuantizer::None:
      break;
  }
  return nullptr;
}

ojson entry(const std::string& class_name, ojson config) {
  return ojson{{"class_name", class_name}, {"config", std::move(config)}};
}

ojson base_config(const Layer& l) {
  ojson c;
  c["name"] = l.name;
  c["trainable"] = true;
  c["dtype"] = "float32";
  return c;
}

// An activation as the Keras layer hls4ml's keras_v2 converter reads: Activation(name), with
// LeakyReLU and ELU (alpha != 1) as their own layers carrying alpha. hls4ml's hard_sigmoid is
// Keras 2's clip(0.2 x + 0.5, 0, 1), so other parameters are refused.
ojson activation_json(const std::string& file, const Layer& l, ojson c) {
  switch (l.activation) {
    case ActivationKind::LeakyReLU:
      c["alpha"] = l.alpha;
      return entry("LeakyReLU", c);
    case ActivationKind::ELU:
      if (l.alpha != 1.0) {
        c["alpha"] = l.alpha;
        return entry("ELU", c);
      }
      break;
    case ActivationKind::HardSigmoid: {
      const auto [alpha, beta] = default_activation_params(ActivationKind::HardSigmoid);
      if (l.alpha != alpha || l.beta != beta)
        fail_layer(file, l,
                   fmt::format("hard_sigmoid with alpha={} beta={} has no Keras layer (Keras 2 "
                               "and hls4ml compute clip({} x + {}, 0, 1))",
                               l.alpha, l.beta, alpha, beta));
      break;
    }
    default:
      break;
  }
  // A QuantizedReLU written without its quantizer is a ReLU.
  c["activation"] = l.activation == ActivationKind::QuantizedReLU
                        ? std::string("relu")
                        : std::string(to_string(l.activation));
  return entry("Activation", c);
}

// `quantized`: QKeras classes and quantizers (the qkeras flavour of a quantized model).
ojson layer_json(const std::string& file, const Layer& l, bool quantized) {
  ojson c = base_config(l);
  switch (l.kind) {
    case LayerKind::Dense:
    case LayerKind::Conv1D:
    case LayerKind::Conv2D: {
      const bool dense = l.kind == LayerKind::Dense;
      if (dense) {
        c["units"] = l.units;
      } else {
        c["filters"] = l.filters;
        c["kernel_size"] = ints(l.kernel_size);
        c["strides"] = ints(l.strides);
        c["padding"] = to_string(l.padding);
        c["data_format"] = "channels_last";
        c["dilation_rate"] = ints(std::vector<int64_t>(l.kernel_size.size(), 1));
      }
      c["activation"] = "linear";
      c["use_bias"] = l.use_bias;
      const std::string cls = dense ? "Dense" : std::string(to_string(l.kind));
      if (!quantized) return entry(cls, c);
      c["kernel_quantizer"] = slot_quantizer_json(file, l, "weight", l.precision.weight);
      c["bias_quantizer"] = slot_quantizer_json(file, l, "bias", l.precision.bias);
      c["kernel_range"] = nullptr;
      c["bias_range"] = nullptr;
      return entry("Q" + cls, c);
    }
    case LayerKind::BatchNorm:
      c["axis"] = -1;
      c["momentum"] = l.momentum;
      c["epsilon"] = l.epsilon;
      c["center"] = true;
      c["scale"] = true;
      return entry("BatchNormalization", c);
    case LayerKind::Activation: {
      if (quantized) {
        ojson q = slot_quantizer_json(file, l, "result", l.precision.result);
        if (!q.is_null()) {
          q["__passive_serialization__"] = true;
          c["activation"] = std::move(q);
          return entry("QActivation", c);
        }
      }
      return activation_json(file, l, std::move(c));
    }
    case LayerKind::MaxPool1D:
    case LayerKind::MaxPool2D:
    case LayerKind::AvgPool1D:
    case LayerKind::AvgPool2D:
      c["pool_size"] = ints(l.pool_size);
      c["padding"] = to_string(l.padding);
      c["strides"] = ints(l.strides);
      c["data_format"] = "channels_last";
      return entry(std::string(to_string(l.kind)), c);
    case LayerKind::Flatten:
      c["data_format"] = "channels_last";
      return entry("Flatten", c);
    case LayerKind::Dropout:
      c["rate"] = l.rate;
      c["noise_shape"] = nullptr;
      c["seed"] = nullptr;
      return entry("Dropout", c);
  }
  fail_layer(file, l, "cannot be written as a Keras layer");
}

// The InputLayer's name: the one the model was imported with, unless a layer now has it.
std::string input_name(const Model& m) {
  auto taken = [&](const std::string& n) {
    for (const auto& l : m.layers)
      if (l.name == n) return true;
    return false;
  };
  auto it = m.metadata.find("keras.input_layer");
  if (it != m.metadata.end() && !it->second.empty() && !taken(it->second)) return it->second;
  std::string n = m.layers.front().name + "_input";
  while (taken(n)) n += "_";
  return n;
}

ojson extension(const Model& m) {
  ojson layers = ojson::object();
  for (const auto& l : m.layers) {
    ojson e = ojson::object();
    const LayerPrecision& p = l.precision;
    const std::pair<const char*, const Precision*> slots[] = {
        {"weight", &p.weight}, {"bias", &p.bias}, {"accum", &p.accum}, {"result", &p.result}};
    for (const auto& [key, value] : slots)
      if (*value) e[key] = value->value().str();
    if (l.kind == LayerKind::Activation) e["activation"] = to_string(l.activation);
    layers[l.name] = e;
  }
  ojson ext;
  ext["format"] = kExtensionFormat;
  ext["input_precision"] = precision_str(m.input_precision);
  ext["layers"] = layers;
  return ext;
}

// The architecture JSON of a model in its export form.
ojson architecture(const Model& m, const std::string& file, KerasFlavour flavour) {
  const bool quantized = m.is_quantized() && flavour == KerasFlavour::QKeras;
  ojson input = ojson::object();
  ojson shape = ojson::array({nullptr});
  for (int64_t d : m.input_shape) shape.push_back(d);
  input["batch_input_shape"] = shape;
  input["dtype"] = "float32";
  input["sparse"] = false;
  input["name"] = input_name(m);
  ojson layers = ojson::array({entry("InputLayer", input)});
  for (const auto& l : m.layers) layers.push_back(layer_json(file, l, quantized));
  ojson root;
  root["class_name"] = "Sequential";
  root["config"] = ojson{{"name", m.name}, {"layers", layers}};
  root["keras_version"] = kKerasVersion;
  root["backend"] = kBackend;
  if (quantized) root[kExtensionKey] = extension(m);
  return root;
}

Model validated(const Model& model, const std::string& file) {
  try {
    return export_form(model);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", file, e.what()));
  }
}

// The tensors Keras stores for a layer, in Keras order, as exported (effective_kernel).
std::vector<std::pair<std::string, Tensor>> keras_weights(const Layer& l) {
  std::vector<std::pair<std::string, Tensor>> out;
  if (l.has_kernel()) {
    out.emplace_back("kernel", effective_kernel(l, true));
    if (l.use_bias) out.emplace_back("bias", effective_bias(l, true));
  } else if (l.kind == LayerKind::BatchNorm) {
    for (const char* key : {"gamma", "beta", "moving_mean", "moving_variance"})
      out.emplace_back(key, l.weight(key));
  }
  return out;
}

// Writes layer_names + one group per layer under `root` (Keras' save_weights layout).
void write_weights(const h5::Handle& root, const Model& m) {
  std::vector<std::string> names;
  for (const auto& l : m.layers) names.push_back(l.name);
  h5::write_strings(root, "layer_names", names);
  h5::write_string(root, "backend", kBackend);
  h5::write_string(root, "keras_version", kKerasVersion);
  for (const auto& l : m.layers) {
    h5::Handle g = h5::create_group(root, l.name);
    const auto tensors = keras_weights(l);
    std::vector<std::string> weight_names;
    for (const auto& [key, t] : tensors) weight_names.push_back(l.name + "/" + key + ":0");
    h5::write_strings(g, "weight_names", weight_names);
    if (tensors.empty()) continue;
    h5::Handle inner = h5::create_group(g, l.name);
    for (const auto& [key, t] : tensors) h5::write_tensor(inner, key + ":0", t);
  }
}

}  // namespace

void save_keras(const Model& model, const std::string& json_path, const std::string& h5_path,
                const KerasExportOptions& options) {
  const Model m = validated(model, json_path);
  const std::string text = architecture(m, json_path, options.flavour).dump(2) + "\n";
  write_via_temp(h5_path, [&](const std::string& tmp) {
    h5::Handle file = h5::create_file(tmp, h5_path);
    {
      h5::Handle root = h5::open_group(file, "/");
      write_weights(root, m);
    }
    h5::close_file(file);
  });
  write_file_atomic(json_path, text);
}

void save_keras_h5(const Model& model, const std::string& h5_path,
                   const KerasExportOptions& options) {
  const Model m = validated(model, h5_path);
  const std::string text = architecture(m, h5_path, options.flavour).dump();
  write_via_temp(h5_path, [&](const std::string& tmp) {
    h5::Handle file = h5::create_file(tmp, h5_path);
    {
      h5::Handle root = h5::open_group(file, "/");
      h5::write_string(root, "keras_version", kKerasVersion);
      h5::write_string(root, "backend", kBackend);
      h5::write_string(root, "model_config", text);
      h5::Handle weights = h5::create_group(file, "model_weights");
      write_weights(weights, m);
    }
    h5::close_file(file);
  });
}

}  // namespace hwprune::io
