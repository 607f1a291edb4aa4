// Reading and writing hls4ml YAML configurations (yaml-cpp).
#include "hwprune/io/hls_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "export_form.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/utf8.hpp"

namespace hwprune::io {

namespace {

namespace fs = std::filesystem;

// hls4ml keys that do not change what hwprune models (tracing, lookup tables, writer
// options): read and listed in HlsConfig::ignored, never an error.
const std::set<std::string> kIgnoredLayerKeys = {
    "Trace",     "table_size", "exp_table_t", "inv_table_t", "table_t",
    "exp_range", "inv_range",  "BramFactor",  "Compression", "ConvImplementation",
    "accum_t",   "result_t",   "weight_t",    "bias_t",      "Implementation"};
const std::set<std::string> kIgnoredTopKeys = {
    "WriterConfig",      "Stamp",      "Version",   "ClockUncertainty",
    "AcceleratorConfig", "InputShape", "InputData", "OutputPredictions"};

struct Ctx {
  const std::string& path;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: {}", path, what));
  }
  std::string scalar(const YAML::Node& n, const std::string& where) const {
    if (!n.IsScalar()) fail(fmt::format("{} must be a single value", where));
    if (!is_utf8(n.Scalar())) fail(fmt::format("{}: the value is not valid UTF-8 text", where));
    return n.Scalar();
  }
  Precision precision(const YAML::Node& n, const std::string& where) const {
    const std::string s = scalar(n, where);
    if (s == "auto")
      fail(fmt::format("{}: precision \"auto\" is not supported (give an ap_fixed type)", where));
    try {
      return parse_precision(s);
    } catch (const Error& e) {
      fail(fmt::format("{}: {}", where, e.what()));
    }
  }
  int64_t positive(const YAML::Node& n, const std::string& where) const {
    const std::string s = scalar(n, where);
    try {
      size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used == s.size() && v >= 1) return v;
    } catch (const std::exception&) {
    }
    fail(fmt::format("{} must be an integer >= 1, got \"{}\"", where, s));
  }
};

HlsLayerSettings read_settings(const Ctx& c, const YAML::Node& node, const std::string& where,
                               std::vector<std::string>& ignored) {
  HlsLayerSettings s;
  if (!node.IsMap()) c.fail(fmt::format("{} must be a map", where));
  for (const auto& kv : node) {
    const std::string key = c.scalar(kv.first, where + " key");
    const std::string at = where + "." + key;
    const YAML::Node& v = kv.second;
    if (key == "Precision") {
      if (v.IsScalar()) {
        const Precision p = c.precision(v, at);
        s.weight = s.bias = s.accum = s.result = p;
        s.has_weight = s.has_bias = s.has_accum = s.has_result = true;
      } else if (v.IsMap()) {
        for (const auto& pk : v) {
          const std::string which = c.scalar(pk.first, at + " key");
          const std::string pat = at + "." + which;
          if (which == "weight" || which == "scale") {
            s.weight = c.precision(pk.second, pat);
            s.has_weight = true;
          } else if (which == "bias") {
            s.bias = c.precision(pk.second, pat);
            s.has_bias = true;
          } else if (which == "accum") {
            s.accum = c.precision(pk.second, pat);
            s.has_accum = true;
          } else if (which == "result" || which == "default") {
            s.result = c.precision(pk.second, pat);
            s.has_result = true;
          } else {
            ignored.push_back(pat);
          }
        }
      } else {
        c.fail(fmt::format("{} must be a type string or a map of weight/bias/accum/result", at));
      }
    } else if (key == "ReuseFactor") {
      s.reuse_factor = c.positive(v, at);
    } else if (key == "ParallelizationFactor") {
      s.parallelization_factor = c.positive(v, at);
    } else if (key == "Strategy") {
      try {
        s.strategy = parse_strategy(c.scalar(v, at));
      } catch (const Error& e) {
        c.fail(fmt::format("{}: {}", at, e.what()));
      }
    } else {
      ignored.push_back(at);
    }
  }
  return s;
}

// Precision fields: `fill` sets only the model's unset (float) ones.
void apply_precisions(LayerPrecision& p, const HlsLayerSettings& s, bool fill) {
  auto put = [fill](Precision& dst, bool has, const Precision& src) {
    if (has && (!fill || !dst)) dst = src;
  };
  put(p.weight, s.has_weight, s.weight);
  put(p.bias, s.has_bias, s.bias);
  put(p.accum, s.has_accum, s.accum);
  put(p.result, s.has_result, s.result);
}

void apply_hardware(Layer& l, const HlsLayerSettings& s, bool fill) {
  if (!l.has_kernel()) return;
  auto put = [fill](auto& dst, const auto& src) {
    if (src && (!fill || !dst)) dst = src;
  };
  put(l.hardware.reuse_factor, s.reuse_factor);
  put(l.hardware.strategy, s.strategy);
  if (l.is_conv()) put(l.hardware.parallelization_factor, s.parallelization_factor);
}

// hls4ml's LayerType keys are Keras class names; QKeras classes configure the same layers.
std::string type_key(const std::string& key) {
  if (key.size() > 1 && key[0] == 'Q' && std::isupper(static_cast<unsigned char>(key[1])))
    return key.substr(1);
  return key;
}

// Names an hls4ml config may use for the input layer: the imported model's own (Keras
// InputLayer, ONNX graph input), then hls4ml's synthesized "<first layer>_input".
std::vector<std::string> input_layer_names(const Model& m) {
  std::vector<std::string> names;
  for (const char* key : {"keras.input_layer", "onnx.input"}) {
    auto it = m.metadata.find(key);
    if (it != m.metadata.end() && !it->second.empty()) names.push_back(it->second);
  }
  names.push_back(m.layers.empty() ? std::string("input") : m.layers.front().name + "_input");
  return names;
}

bool is_input_name(const Model& m, const std::string& name) {
  const auto names = input_layer_names(m);
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A relative model path resolves against the YAML's folder. hls4ml itself resolves against
// its working directory, and configs kept in a subfolder (like example-models/config-files/)
// name paths relative to the folder above; when the file is not beside the YAML, its parent
// folders are tried, then the working directory.
// (No filesystem call may throw: a name too long or invalid is simply not found, and the
// caller reports the path.)
std::string resolve(const fs::path& yaml_dir, const std::string& p) {
  if (p.empty()) return p;
  const fs::path fp(p);
  if (fp.is_absolute()) return p;
  const fs::path dir = yaml_dir.empty() ? fs::path(".") : yaml_dir;
  std::error_code ec;
  auto exists = [&ec](const fs::path& q) { return fs::exists(q, ec) && !ec; };
  const std::string beside = (dir / fp).lexically_normal().string();
  if (exists(beside)) return beside;
  fs::path up = fs::absolute(dir, ec).lexically_normal();
  for (int i = 0; !ec && i < 2 && up.has_parent_path() && up != up.parent_path(); ++i) {
    up = up.parent_path();
    if (exists(up / fp)) return (up / fp).lexically_normal().string();
  }
  if (exists(fp)) return fp.lexically_normal().string();
  return beside;
}

}  // namespace

HlsConfig load_hls_config(const std::string& path) {
  HlsConfig cfg;
  cfg.path = path;
  const Ctx c{path};
  std::error_code ec;
  if (!fs::exists(path, ec)) c.fail(ec ? ec.message() : "no such file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    c.fail(fmt::format("not valid YAML ({})", e.what()));
  }
  if (!root.IsMap()) c.fail("an hls4ml configuration must be a YAML map");
  const fs::path dir = fs::path(path).parent_path();
  for (const auto& kv : root) {
    const std::string key = c.scalar(kv.first, "top-level key");
    const YAML::Node& v = kv.second;
    if (key == "KerasJson") {
      cfg.keras_json = resolve(dir, c.scalar(v, key));
    } else if (key == "KerasH5") {
      cfg.keras_h5 = resolve(dir, c.scalar(v, key));
    } else if (key == "OnnxModel") {
      cfg.onnx_model = resolve(dir, c.scalar(v, key));
    } else if (key == "KerasModel" || key == "PytorchModel") {
      c.fail(
          fmt::format("{}: in-memory/PyTorch models cannot be read from a file; export the "
                      "model to Keras .json/.h5 or ONNX and name it with KerasJson/KerasH5 "
                      "or OnnxModel",
                      key));
    } else if (key == "IOType") {
      try {
        cfg.io_type = parse_io_type(c.scalar(v, key));
      } catch (const Error& e) {
        c.fail(fmt::format("IOType: {}", e.what()));
      }
    } else if (key == "ClockPeriod") {
      const std::string s = c.scalar(v, key);
      try {
        size_t used = 0;
        cfg.clock_period = std::stod(s, &used);
        if (used != s.size() || !(*cfg.clock_period > 0)) throw std::invalid_argument(s);
      } catch (const std::exception&) {
        c.fail(fmt::format("ClockPeriod must be a positive number of ns, got \"{}\"", s));
      }
    } else if (key == "Part" || key == "XilinxPart") {
      cfg.part = c.scalar(v, key);
    } else if (key == "Backend") {
      cfg.backend = c.scalar(v, key);
    } else if (key == "ProjectName") {
      cfg.project_name = c.scalar(v, key);
    } else if (key == "OutputDir") {
      cfg.output_dir = c.scalar(v, key);
    } else if (key == "HLSConfig") {
      if (!v.IsMap()) c.fail("HLSConfig must be a map");
      for (const auto& sec : v) {
        const std::string name = c.scalar(sec.first, "HLSConfig key");
        if (name == "Model") {
          cfg.model = read_settings(c, sec.second, "HLSConfig.Model", cfg.ignored);
        } else if (name == "LayerType" || name == "LayerName") {
          if (!sec.second.IsMap()) c.fail(fmt::format("HLSConfig.{} must be a map", name));
          auto& dst = name == "LayerType" ? cfg.types : cfg.layers;
          for (const auto& entry : sec.second) {
            const std::string lname = c.scalar(entry.first, "HLSConfig." + name + " key");
            dst[name == "LayerType" ? type_key(lname) : lname] = read_settings(
                c, entry.second, fmt::format("HLSConfig.{}.{}", name, lname), cfg.ignored);
          }
        } else {
          cfg.ignored.push_back("HLSConfig." + name);
        }
      }
    } else if (kIgnoredTopKeys.count(key)) {
      cfg.ignored.push_back(key);
    } else {
      c.fail(fmt::format("unknown top-level key \"{}\"", key));
    }
  }
  // Keys hls4ml reads but that change nothing here are noted, not errors.
  std::erase_if(cfg.ignored, [](const std::string& k) {
    const auto dot = k.rfind('.');
    return dot != std::string::npos && kIgnoredLayerKeys.count(k.substr(dot + 1));
  });
  return cfg;
}

void apply_hls_config(Model& model, const HlsConfig& cfg) {
  model.infer_shapes();
  for (const auto& [name, s] : cfg.layers) {
    if (is_input_name(model, name)) continue;
    const std::string& wanted = name;  // (a structured binding cannot be captured in C++20)
    const bool found = std::any_of(model.layers.begin(), model.layers.end(),
                                   [&](const Layer& l) { return l.name == wanted; });
    if (!found) {
      std::vector<std::string> names{input_layer_names(model).front()};
      for (const auto& l : model.layers) names.push_back(l.name);
      throw Error(
          fmt::format("{}: HLSConfig.LayerName.{}: the model has no such layer (layers: {})",
                      cfg.path, name, fmt::join(names, ", ")));
    }
  }
  // Input precision: Model default fills, the input layer's entry overrides.
  if (!model.input_precision && cfg.model.has_result) model.input_precision = cfg.model.result;
  for (const auto& [name, s] : cfg.layers)
    if (is_input_name(model, name) && s.has_result) model.input_precision = s.result;

  for (Layer& l : model.layers) {
    if (cfg.io_type && l.has_kernel()) l.hardware.io_type = *cfg.io_type;
    apply_precisions(l.precision, cfg.model, /*fill=*/true);
    apply_hardware(l, cfg.model, /*fill=*/true);
    if (auto it = cfg.types.find(std::string(to_string(l.kind))); it != cfg.types.end()) {
      apply_precisions(l.precision, it->second, false);
      apply_hardware(l, it->second, false);
    }
    if (auto it = cfg.layers.find(l.name); it != cfg.layers.end()) {
      apply_precisions(l.precision, it->second, false);
      apply_hardware(l, it->second, false);
    }
  }
  model.metadata["hls4ml.config"] = cfg.path;
  if (!cfg.part.empty()) model.metadata["hls4ml.part"] = cfg.part;
  if (cfg.clock_period)
    model.metadata["hls4ml.clock_period"] = fmt::format("{}", *cfg.clock_period);
  if (cfg.io_type) model.metadata["hls4ml.io_type"] = std::string(to_string(*cfg.io_type));
}

namespace {

std::string meta(const Model& m, const char* key) {
  auto it = m.metadata.find(key);
  return it == m.metadata.end() ? std::string() : it->second;
}

// True when some multiplier lane of a Resource layer holds only zeros (masked, zero, or
// quantized to zero when the layer has a weight type; the model may still be float here).
bool has_dead_lane(const Layer& l, int64_t rf) {
  const Tensor& k = l.weight("kernel");
  hw::LayerHw h;
  h.name = l.name;
  h.n_out = k.shape.back();
  h.n_in = k.numel() / h.n_out;
  h.n_products = k.numel();
  h.reuse_factor = rf;
  h.block_factor = hw::ceil_div(h.n_products, rf);
  std::vector<uint8_t> live(static_cast<size_t>(h.n_products));
  if (l.precision.weight) {
    h.weight = *l.precision.weight;
    live = hw::live_weights(l, h);
  } else {
    for (size_t i = 0; i < live.size(); ++i)
      live[i] = k.data[i] != 0.0f && (l.mask.empty() || l.mask.data[i] != 0.0f);
  }
  const auto lanes = hw::live_lanes(h, live);
  return std::find(lanes.begin(), lanes.end(), uint8_t{0}) != lanes.end();
}

}  // namespace

IoType hls_io_type(const Model& model, const HlsExportOptions& o) {
  if (o.io_type) return *o.io_type;
  IoType io = IoType::Parallel;
  if (!meta(model, "hls4ml.io_type").empty()) io = parse_io_type(meta(model, "hls4ml.io_type"));
  for (const auto& l : model.layers)
    if (l.hardware.io_type) io = *l.hardware.io_type;
  return io;
}

std::string hls_config_yaml(const Model& model_in, const HlsExportOptions& o) {
  // The layers the exported file has (a quantized model's BatchNorms folded).
  const Model model = export_detail::export_form(model_in);
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!o.keras_json.empty()) out << YAML::Key << "KerasJson" << YAML::Value << o.keras_json;
  if (!o.keras_h5.empty()) out << YAML::Key << "KerasH5" << YAML::Value << o.keras_h5;
  if (!o.onnx_model.empty()) out << YAML::Key << "OnnxModel" << YAML::Value << o.onnx_model;
  out << YAML::Key << "Backend" << YAML::Value << "Vivado";
  out << YAML::Key << "OutputDir" << YAML::Value << o.output_dir;
  out << YAML::Key << "ProjectName" << YAML::Value << o.project_name;
  const std::string part = !o.part.empty()                       ? o.part
                           : !meta(model, "hls4ml.part").empty() ? meta(model, "hls4ml.part")
                                                                 : "xcvu9p-flga2577-2-e";
  out << YAML::Key << "Part" << YAML::Value << part;
  const std::string clock = o.clock_period ? fmt::format("{}", *o.clock_period)
                            : !meta(model, "hls4ml.clock_period").empty()
                                ? meta(model, "hls4ml.clock_period")
                                : "5";
  out << YAML::Key << "ClockPeriod" << YAML::Value << clock;
  out << YAML::Key << "IOType" << YAML::Value << std::string(to_string(hls_io_type(model, o)));

  out << YAML::Key << "HLSConfig" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "Model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "Precision" << YAML::Value << "ap_fixed<16,6>";
  out << YAML::Key << "ReuseFactor" << YAML::Value << o.default_reuse_factor;
  out << YAML::Key << "Strategy" << YAML::Value << "Latency";
  out << YAML::EndMap;

  out << YAML::Key << "LayerName" << YAML::Value << YAML::BeginMap;
  if (model.input_precision) {
    const std::string input = o.onnx_model.empty() ? input_layer_names(model).front()
                                                   : export_detail::onnx_input_name(model);
    out << YAML::Key << input << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "Precision" << YAML::Value << YAML::BeginMap << YAML::Key << "result"
        << YAML::Value << model.input_precision->str() << YAML::EndMap;
    out << YAML::EndMap;
  }
  // The type of the values flowing into each layer (float: none), as the integer model
  // carries them: max pooling keeps its input's type, so hls4ml is given it as the pooling
  // layer's accumulator and result; average pooling sums into average_pool_accum_type of it
  // (exact sums, e more fractional bits for the quotient), as the integer model does.
  Precision flowing = model.input_precision;
  for (const Layer& l : model.layers) {
    std::vector<std::pair<const char*, Precision>> precs;
    const Precision in = flowing;
    if (l.has_kernel() || l.kind == LayerKind::Activation || l.kind == LayerKind::BatchNorm ||
        l.kind == LayerKind::AvgPool1D || l.kind == LayerKind::AvgPool2D)
      if (!(l.kind == LayerKind::Activation && l.activation == ActivationKind::Softmax) &&
          !(l.kind == LayerKind::Activation && l.activation == ActivationKind::Linear &&
            !l.precision.result))
        flowing = l.precision.result;
    if (l.kind == LayerKind::MaxPool1D || l.kind == LayerKind::MaxPool2D) {
      precs = {{"accum", in}, {"result", in}};
    } else if (l.kind == LayerKind::Activation &&
               (l.activation == ActivationKind::LeakyReLU || l.activation == ActivationKind::ELU)) {
      // alpha's type (hls4ml's `param`), as the integer model holds it.
      precs = {{"param", activation_param_type(l)}, {"result", l.precision.result}};
    } else if (l.has_kernel()) {
      precs = {{"weight", l.precision.weight},
               {"accum", l.precision.accum},
               {"result", l.precision.result}};
      if (l.use_bias) precs.insert(precs.begin() + 1, {"bias", l.precision.bias});
    } else if (l.kind == LayerKind::BatchNorm) {
      precs = {{"scale", l.precision.weight},
               {"bias", l.precision.bias},
               {"result", l.precision.result}};
    } else if (l.kind == LayerKind::AvgPool1D || l.kind == LayerKind::AvgPool2D) {
      const int64_t window =
          std::accumulate(l.pool_size.begin(), l.pool_size.end(), int64_t{1}, std::multiplies<>());
      precs = {{"accum", in ? Precision(average_pool_accum_type(*in, window)) : Precision{}},
               {"result", l.precision.result}};
    } else if (l.kind == LayerKind::Activation) {
      precs = {{"result", l.precision.result}};
    }
    std::erase_if(precs, [](const auto& p) { return !p.second; });
    if (precs.empty() && !l.has_kernel()) continue;
    out << YAML::Key << l.name << YAML::Value << YAML::BeginMap;
    if (!precs.empty()) {
      out << YAML::Key << "Precision" << YAML::Value << YAML::BeginMap;
      for (const auto& [k, p] : precs) out << YAML::Key << k << YAML::Value << p->str();
      out << YAML::EndMap;
    }
    if (l.has_kernel()) {
      const int64_t rf = l.hardware.reuse_factor.value_or(o.default_reuse_factor);
      Strategy s = l.hardware.strategy.value_or(rf > 1 ? Strategy::Resource : Strategy::Latency);
      if (s == Strategy::Resource && rf > 1 && has_dead_lane(l, rf)) s = Strategy::Unrolled;
      // hls4ml refuses resource_unrolled at RF 1 (and falls back to Resource).
      if (s == Strategy::Unrolled && rf == 1) s = Strategy::Resource;
      out << YAML::Key << "ReuseFactor" << YAML::Value << rf;
      out << YAML::Key << "Strategy" << YAML::Value
          << (s == Strategy::Unrolled ? std::string("resource_unrolled")
                                      : std::string(to_string(s)));
      if (l.hardware.parallelization_factor)
        out << YAML::Key << "ParallelizationFactor" << YAML::Value
            << *l.hardware.parallelization_factor;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace hwprune::io
