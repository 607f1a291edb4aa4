// Keras architecture JSON -> IR layers: Sequential and single-chain Functional models, each
// layer config read with its QKeras quantizers, and the "hwprune" block of exact precisions.
#include <algorithm>
#include <filesystem>

#include "hwprune/io/keras.hpp"
#include "keras_detail.hpp"

namespace hwprune::io::keras_detail {

namespace {

// ---- layer configs ---------------------------------------------------------------------

// One Keras layer entry with typed, defaulted access to its config.
struct KLayer {
  const std::string& file;
  std::string cls;
  std::string name;
  const json& cfg;
  bool keras3 = false;  // the file says keras_version 3.x (some defaults changed)

  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(fmt::format("{}: layer '{}': {}", file, name, msg));
  }
  bool has(const char* key) const { return cfg.contains(key) && !cfg.at(key).is_null(); }
  const json& at(const char* key) const {
    if (!has(key)) fail(fmt::format("missing field \"{}\"", key));
    return cfg.at(key);
  }
  int64_t integer(const char* key) const {
    int64_t v = 0;
    if (!as_int(at(key), v))
      fail(fmt::format("\"{}\" must be an integer, got {}", key, short_dump(at(key))));
    return v;
  }
  int64_t integer_or(const char* key, int64_t fallback) const {
    return has(key) ? integer(key) : fallback;
  }
  double number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!at(key).is_number())
      fail(fmt::format("\"{}\" must be a number, got {}", key, short_dump(at(key))));
    return at(key).get<double>();
  }
  bool flag_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    bool v = false;
    if (!as_bool(at(key), v))
      fail(fmt::format("\"{}\" must be true or false, got {}", key, short_dump(at(key))));
    return v;
  }
  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!at(key).is_string())
      fail(fmt::format("\"{}\" must be a string, got {}", key, short_dump(at(key))));
    return at(key).get<std::string>();
  }
  // An int or a list of `rank` ints (Keras stores kernel_size, strides, ... as tuples).
  std::vector<int64_t> ints(const char* key, size_t rank) const {
    const json& v = at(key);
    int64_t one = 0;
    if (as_int(v, one)) return std::vector<int64_t>(rank, one);
    std::vector<int64_t> out;
    if (v.is_array() && v.size() == rank) {
      for (const auto& e : v) {
        if (!as_int(e, one)) break;
        out.push_back(one);
      }
      if (out.size() == rank) return out;
    }
    fail(fmt::format("\"{}\" must be {} integer(s), got {}", key, rank, short_dump(v)));
  }
  // Wraps an Error from a helper with this file and layer (and the field).
  template <typename F>
  auto guard(const std::string& field, F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const Error& e) {
      fail(field.empty() ? std::string(e.what()) : fmt::format("{}: {}", field, e.what()));
    }
  }
  void check_channels_last() const {
    const std::string df = string_or("data_format", "channels_last");
    if (df != "channels_last")
      fail(fmt::format("data_format '{}' is not supported (only channels_last)", df));
  }
  Padding padding() const {
    const std::string p = string_or("padding", "valid");
    if (p == "valid") return Padding::Valid;
    if (p == "same") return Padding::Same;
    fail(fmt::format("padding '{}' is not supported (only valid, same)", p));
  }
};

void add_activation_layer(std::vector<Layer>& out, const std::string& owner,
                          const ActivationSpec& a) {
  if (a.kind == ActivationKind::Linear && !a.result) return;
  Layer l = activation_layer(a);
  l.name = owner + "_" + a.suffix;
  out.push_back(std::move(l));
}

// The negative slope of a LeakyReLU layer: Keras 2 `alpha`, Keras 3 `negative_slope`.
double leaky_slope(const KLayer& k) {
  const double fallback = default_activation_params(ActivationKind::LeakyReLU).first;
  if (k.has("alpha") && k.has("negative_slope") &&
      k.number_or("alpha", 0.0) != k.number_or("negative_slope", 0.0))
    k.fail(fmt::format("LeakyReLU alpha={} and negative_slope={} disagree",
                       short_dump(k.at("alpha")), short_dump(k.at("negative_slope"))));
  return k.number_or("negative_slope", k.number_or("alpha", fallback));
}

// Converts one Keras layer (not InputLayer) into IR layers appended to `out`.
void convert_layer(const KLayer& k, std::vector<Layer>& out,
                   std::map<std::string, LayerExtra>& extra) {
  const std::string& c = k.cls;
  const bool quantized = c == "QDense" || c == "QConv1D" || c == "QConv2D";
  Layer l;
  l.name = k.name;
  if (c == "Dense" || c == "QDense" || c == "Conv1D" || c == "QConv1D" || c == "Conv2D" ||
      c == "QConv2D") {
    const bool dense = c == "Dense" || c == "QDense";
    const size_t rank = dense ? 0 : (c.find("1D") != std::string::npos ? 1 : 2);
    l.use_bias = k.flag_or("use_bias", true);
    if (dense) {
      l.kind = LayerKind::Dense;
      l.units = k.integer("units");
    } else {
      l.kind = rank == 1 ? LayerKind::Conv1D : LayerKind::Conv2D;
      l.filters = k.integer("filters");
      l.kernel_size = k.ints("kernel_size", rank);
      l.strides = k.has("strides") ? k.ints("strides", rank) : std::vector<int64_t>(rank, 1);
      l.padding = k.padding();
      k.check_channels_last();
      if (k.has("dilation_rate"))
        for (int64_t d : k.ints("dilation_rate", rank))
          if (d != 1)
            k.fail(fmt::format("dilation_rate {} is not supported (only 1)",
                               short_dump(k.at("dilation_rate"))));
      if (k.integer_or("groups", 1) != 1)
        k.fail(fmt::format("groups={} is not supported (only 1)", k.integer("groups")));
    }
    if (quantized) {
      l.precision.weight =
          k.guard("", [&] { return optional_quantizer(k.cfg, "kernel_quantizer"); });
      l.precision.bias = k.guard("", [&] { return optional_quantizer(k.cfg, "bias_quantizer"); });
    }
    const json act = k.has("activation") ? k.at("activation") : json("linear");
    const ActivationSpec a =
        k.guard("activation", [&] { return activation_spec(act, quantized, k.keras3); });
    out.push_back(std::move(l));
    add_activation_layer(out, k.name, a);
    return;
  }
  if (c == "BatchNormalization") {
    l.kind = LayerKind::BatchNorm;
    LayerExtra e;
    if (k.has("axis")) {
      const json& ax = k.at("axis");
      const json& one = ax.is_array() && ax.size() == 1 ? ax[0] : ax;
      if (!as_int(one, e.bn_axis))
        k.fail(fmt::format("axis {} is not supported (only the last axis, -1)", short_dump(ax)));
    }
    e.bn_center = k.flag_or("center", true);
    e.bn_scale = k.flag_or("scale", true);
    l.epsilon = k.number_or("epsilon", 1e-3);
    l.momentum = k.number_or("momentum", 0.99);
    extra[k.name] = e;
    out.push_back(std::move(l));
    return;
  }
  if (c == "Activation" || c == "QActivation") {
    const ActivationSpec a = k.guard("activation", [&] {
      return activation_spec(k.at("activation"), c == "QActivation", k.keras3);
    });
    l = activation_layer(a);
    l.name = k.name;
    out.push_back(std::move(l));
    return;
  }
  if (c == "ReLU" || c == "LeakyReLU" || c == "ELU") {
    ActivationSpec a;
    if (c == "ReLU") {
      if (k.has("max_value"))
        k.fail(fmt::format("ReLU max_value={} is not supported", short_dump(k.at("max_value"))));
      if (k.number_or("threshold", 0.0) != 0.0)
        k.fail(fmt::format("ReLU threshold={} is not supported", short_dump(k.at("threshold"))));
      // With threshold 0 and no max_value, ReLU(negative_slope=a) is a leaky ReLU.
      a.alpha = k.number_or("negative_slope", 0.0);
      a.kind = a.alpha == 0.0 ? ActivationKind::ReLU : ActivationKind::LeakyReLU;
    } else if (c == "LeakyReLU") {
      a.kind = ActivationKind::LeakyReLU;
      a.alpha = leaky_slope(k);
    } else {
      a.kind = ActivationKind::ELU;
      a.alpha = k.number_or("alpha", default_activation_params(ActivationKind::ELU).first);
    }
    if (!std::isfinite(a.alpha)) k.fail(fmt::format("{} slope {} is not finite", c, a.alpha));
    l = activation_layer(a);
    l.name = k.name;
    out.push_back(std::move(l));
    return;
  }
  if (c == "Softmax") {
    if (k.has("axis")) {
      const json& ax = k.at("axis");
      const json& one = ax.is_array() && ax.size() == 1 ? ax[0] : ax;
      int64_t axis = 0;
      if (!as_int(one, axis) || axis != -1)
        k.fail(fmt::format("Softmax axis {} is not supported (only -1)", short_dump(ax)));
    }
    l.kind = LayerKind::Activation;
    l.activation = ActivationKind::Softmax;
    out.push_back(std::move(l));
    return;
  }
  if (c == "MaxPooling1D" || c == "MaxPooling2D" || c == "AveragePooling1D" ||
      c == "AveragePooling2D") {
    const size_t rank = c.find("1D") != std::string::npos ? 1 : 2;
    const bool max = c.rfind("Max", 0) == 0;
    l.kind = max ? (rank == 1 ? LayerKind::MaxPool1D : LayerKind::MaxPool2D)
                 : (rank == 1 ? LayerKind::AvgPool1D : LayerKind::AvgPool2D);
    l.pool_size = k.has("pool_size") ? k.ints("pool_size", rank) : std::vector<int64_t>(rank, 2);
    l.strides = k.has("strides") ? k.ints("strides", rank) : l.pool_size;
    l.padding = k.padding();
    k.check_channels_last();
    out.push_back(std::move(l));
    return;
  }
  if (c == "Flatten") {
    k.check_channels_last();
    l.kind = LayerKind::Flatten;
    out.push_back(std::move(l));
    return;
  }
  if (c == "Dropout") {
    l.kind = LayerKind::Dropout;
    l.rate = k.number_or("rate", 0.0);
    out.push_back(std::move(l));
    return;
  }
  k.fail(fmt::format("unsupported layer type '{}'", c));
}

// ---- architecture ----------------------------------------------------------------------

Shape input_shape_from(const std::string& file, const std::string& owner, const json& shape) {
  if (!shape.is_array() || shape.size() < 2)
    fail(file, fmt::format("layer '{}': batch_input_shape {} must list a batch dimension and at "
                           "least one more",
                           owner, short_dump(shape)));
  Shape out;
  for (size_t i = 1; i < shape.size(); ++i) {
    int64_t d = 0;
    if (shape[i].is_null())
      fail(file, fmt::format("layer '{}': input dimension {} is None; hwprune needs a fixed "
                             "input shape",
                             owner, i));
    if (!as_int(shape[i], d) || d <= 0)
      fail(file, fmt::format("layer '{}': invalid input shape {}", owner, short_dump(shape)));
    out.push_back(d);
  }
  return out;
}

const json* input_shape_field(const json& cfg) {
  for (const char* key : {"batch_input_shape", "batch_shape"})
    if (cfg.is_object() && cfg.contains(key) && !cfg.at(key).is_null()) return &cfg.at(key);
  return nullptr;
}

std::string layer_name(const std::string& file, const json& entry, size_t index) {
  const json* n = nullptr;
  if (entry.contains("config") && entry["config"].is_object() && entry["config"].contains("name"))
    n = &entry["config"]["name"];
  else if (entry.contains("name"))
    n = &entry["name"];
  if (!n || !n->is_string() || n->get<std::string>().empty())
    fail(file, fmt::format("layer #{} has no name", index));
  return n->get<std::string>();
}

// The layers of a Functional config, checked to be one chain Input -> l1 -> ... -> output.
std::vector<const json*> functional_chain(const std::string& file, const json& config) {
  const json& layers = config.at("layers");
  std::vector<const json*> out;
  std::string prev;
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& e = layers[i];
    const std::string name = layer_name(file, e, i);
    auto lfail = [&](const std::string& msg) {
      fail(file, fmt::format("layer '{}': {}", name, msg));
    };
    const json nodes = e.contains("inbound_nodes") ? e["inbound_nodes"] : json::array();
    if (!nodes.is_array()) lfail("unsupported inbound_nodes format (Keras 2 lists expected)");
    if (i == 0) {
      if (!nodes.empty()) lfail("the first layer of a Functional model must be its InputLayer");
    } else {
      if (nodes.size() != 1)
        lfail(
            fmt::format("is called {} times (shared layers are not supported; the model must "
                        "be a single chain)",
                        nodes.size()));
      const json& node = nodes[0];
      if (!node.is_array()) lfail("unsupported inbound_nodes format (Keras 2 lists expected)");
      if (node.size() != 1)
        lfail(
            fmt::format("has {} inputs (merges are not supported; the model must be a single "
                        "chain)",
                        node.size()));
      const json& src = node[0];
      if (!src.is_array() || src.empty() || !src[0].is_string())
        lfail("unsupported inbound_nodes format (Keras 2 lists expected)");
      const std::string from = src[0].get<std::string>();
      if (from != prev)
        lfail(
            fmt::format("takes its input from '{}', not from the previous layer '{}' (branches "
                        "are not supported; the model must be a single chain)",
                        from, prev));
      for (size_t j = 1; j < std::min<size_t>(src.size(), 3); ++j) {
        int64_t idx = 0;
        if (!as_int(src[j], idx) || idx != 0)
          lfail(fmt::format("uses output {} of '{}' (the model must be a single chain)",
                            short_dump(src), from));
      }
    }
    out.push_back(&e);
    prev = name;
  }
  auto single = [&](const char* key) -> std::string {
    if (!config.contains(key)) return "";
    const json& v = config[key];
    if (!v.is_array() || v.size() != 1)
      fail(file, fmt::format("model has {} {} (only one input and one output are supported)",
                             v.is_array() ? v.size() : 0, key));
    const json& one = v[0].is_array() && !v[0].empty() ? v[0][0] : v[0];
    if (!one.is_string()) fail(file, fmt::format("cannot read \"{}\"", key));
    return one.get<std::string>();
  };
  const std::string in = single("input_layers");
  const std::string outname = single("output_layers");
  if (!out.empty()) {
    const std::string first = layer_name(file, *out.front(), 0);
    const std::string last = layer_name(file, *out.back(), out.size() - 1);
    if (!in.empty() && in != first)
      fail(file, fmt::format("layer '{}': model input is '{}', not the first layer", in, in));
    if (!outname.empty() && outname != last)
      fail(file, fmt::format("layer '{}': is the model output but not the last layer '{}' (the "
                             "model must be a single chain)",
                             outname, last));
  }
  return out;
}

}  // namespace

Layer activation_layer(const ActivationSpec& a) {
  Layer l;
  l.kind = LayerKind::Activation;
  l.activation = a.kind;
  l.alpha = a.alpha;
  l.beta = a.beta;
  l.precision.result = a.result;
  return l;
}

Architecture parse_architecture(const std::string& file, const json& root) {
  if (!root.is_object() || !root.contains("class_name") || !root["class_name"].is_string() ||
      !root.contains("config"))
    fail(file, "not a Keras model JSON (no \"class_name\"/\"config\")");
  Architecture arch;
  arch.class_name = root["class_name"].get<std::string>();
  const bool keras3 = root.contains("keras_version") && root["keras_version"].is_string() &&
                      root["keras_version"].get<std::string>().rfind("3.", 0) == 0;
  const json& config = root["config"];
  std::vector<const json*> entries;
  const bool functional = arch.class_name == "Model" || arch.class_name == "Functional";
  if (arch.class_name == "Sequential") {
    const json* layers = nullptr;
    if (config.is_array()) {
      layers = &config;
    } else if (config.is_object() && config.contains("layers") && config["layers"].is_array()) {
      layers = &config["layers"];
    } else {
      fail(file, "Sequential config has no \"layers\" list");
    }
    for (const auto& e : *layers) entries.push_back(&e);
  } else if (functional) {
    if (!config.is_object() || !config.contains("layers") || !config["layers"].is_array())
      fail(file, fmt::format("{} config has no \"layers\" list", arch.class_name));
    entries = functional_chain(file, config);
  } else {
    fail(file, fmt::format("unsupported model class '{}' (supported: Sequential, Model, "
                           "Functional)",
                           arch.class_name));
  }
  if (config.is_object() && config.contains("name") && config["name"].is_string())
    arch.name = config["name"].get<std::string>();
  else
    arch.name = std::filesystem::path(file).stem().string();

  for (size_t i = 0; i < entries.size(); ++i) {
    const json& e = *entries[i];
    if (!e.is_object() || !e.contains("class_name") || !e["class_name"].is_string())
      fail(file, fmt::format("layer #{} has no \"class_name\"", i));
    const std::string name = layer_name(file, e, i);
    const std::string cls = e["class_name"].get<std::string>();
    const json& cfg = e.contains("config") ? e["config"] : json::object();
    if (!cfg.is_object()) fail(file, fmt::format("layer '{}': \"config\" must be an object", name));
    if (cls == "InputLayer") {
      if (i != 0 || !arch.input_shape.empty())
        fail(file, fmt::format("layer '{}': an InputLayer must be the first layer", name));
      const json* shape = input_shape_field(cfg);
      if (!shape) fail(file, fmt::format("layer '{}': InputLayer has no batch_input_shape", name));
      arch.input_shape = input_shape_from(file, name, *shape);
      arch.input_name = name;
      continue;
    }
    if (arch.input_shape.empty()) {
      if (functional)
        fail(file,
             fmt::format("layer '{}': a Functional model must start with an InputLayer", name));
      const json* shape = input_shape_field(cfg);
      if (!shape && config.is_object() && config.contains("build_input_shape") &&
          !config["build_input_shape"].is_null())
        shape = &config["build_input_shape"];
      if (!shape)
        fail(file, fmt::format("layer '{}': no input shape (no InputLayer and no "
                               "batch_input_shape on the first layer)",
                               name));
      arch.input_shape = input_shape_from(file, name, *shape);
      arch.input_name = name + "_input";
    }
    convert_layer(KLayer{file, cls, name, cfg, keras3}, arch.layers, arch.extra);
  }
  if (arch.layers.empty()) fail(file, "model has no layers besides its input");
  return arch;
}

// ---- the hwprune extension block -------------------------------------------------------

namespace {

// What QKeras sees of a precision save_keras writes for this layer slot: the quantizer it
// writes (slot_quantizer) reads back as this.
Precision qkeras_view(const Layer& l, const std::string& slot, const Precision& p) {
  if (!p) return std::nullopt;
  switch (slot_quantizer(l, slot)) {
    case SlotQuantizer::Bits:
      return qkeras_equivalent(*p);
    case SlotQuantizer::Relu:
      if (const auto a = relu_args(*p))
        return FixedType::make(a->bits, a->integer, false, QuantMode::RND_CONV, OverflowMode::SAT);
      return std::nullopt;
    case SlotQuantizer::None:
      break;
  }
  return std::nullopt;
}

}  // namespace

// Restores the exact precisions save_keras recorded, where they agree with the quantizers
// in the architecture (a quantizer changed since, e.g. by hand, wins).
void apply_extension(Model& m, const json& root, const std::string& file) {
  if (!root.contains(kExtensionKey)) return;
  const json& ext = root[kExtensionKey];
  if (!ext.is_object()) fail(file, fmt::format("\"{}\" must be an object", kExtensionKey));
  auto parse = [&](const json& v, const std::string& where) -> Precision {
    if (!v.is_string())
      fail(file, fmt::format("{}: {}: precision must be a string", kExtensionKey, where));
    try {
      return parse_precision(v.get<std::string>());
    } catch (const Error& e) {
      fail(file, fmt::format("{}: {}: {}", kExtensionKey, where, e.what()));
    }
  };
  if (ext.contains("input_precision"))
    m.input_precision = parse(ext["input_precision"], "input_precision");
  if (!ext.contains("layers")) return;
  if (!ext["layers"].is_object())
    fail(file, fmt::format("\"{}.layers\" must be an object", kExtensionKey));
  for (auto& l : m.layers) {
    auto it = ext["layers"].find(l.name);
    if (it == ext["layers"].end() || !it->is_object()) continue;
    const json& e = *it;
    Layer recorded = l;
    if (l.kind == LayerKind::Activation && l.activation == ActivationKind::QuantizedReLU &&
        e.contains("activation") && e["activation"] == "relu")
      recorded.activation = ActivationKind::ReLU;
    auto get = [&](const char* slot) -> Precision {
      if (!e.contains(slot)) return std::nullopt;
      return parse(e[slot], fmt::format("layer '{}' {}", l.name, slot));
    };
    const LayerPrecision p{get("weight"), get("bias"), get("accum"), get("result")};
    const LayerPrecision& cur = l.precision;
    if (qkeras_view(recorded, "weight", p.weight) == cur.weight &&
        qkeras_view(recorded, "bias", p.bias) == cur.bias &&
        qkeras_view(recorded, "accum", p.accum) == cur.accum &&
        qkeras_view(recorded, "result", p.result) == cur.result) {
      recorded.precision = p;
      l = std::move(recorded);
    }
  }
}

}  // namespace hwprune::io::keras_detail
