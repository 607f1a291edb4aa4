// Keras 2 / QKeras import: architecture JSON (Sequential or single-chain Functional) and HDF5
// weights into the IR, with QKeras quantizers mapped exactly to fixed-point precisions.
#include "hwprune/io/keras.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "hdf5.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::io {

namespace {

using nlohmann::json;

// Top-level key of the architecture JSON where save_keras records the exact precisions that
// QKeras cannot express (Keras ignores keys besides class_name/config).
constexpr const char* kExtensionKey = "hwprune";

[[noreturn]] void fail(const std::string& file, const std::string& msg) {
  throw Error(fmt::format("{}: {}", file, msg));
}

std::string short_dump(const json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// ---- scalar conversions shared by quantizer and layer configs --------------------------

bool as_int(const json& v, int64_t& out) {
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

bool as_bool(const json& v, bool& out) {
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

// ---- QKeras quantizers -----------------------------------------------------------------

struct Quantizer {
  std::string cls;
  json config = json::object();
};

// Positional argument order of the QKeras constructors.
const std::vector<std::string>& positional_args(const std::string& cls) {
  static const std::vector<std::string> bits = {
      "bits",          "integer",       "symmetric",
      "keep_negative", "alpha",         "use_stochastic_rounding",
      "scale_axis",    "qnoise_factor", "var_name",
      "use_ste",       "use_variables"};
  static const std::vector<std::string> relu = {"bits",
                                                "integer",
                                                "use_sigmoid",
                                                "negative_slope",
                                                "use_stochastic_rounding",
                                                "relu_upper_bound",
                                                "is_quantized_clip",
                                                "qnoise_factor",
                                                "var_name",
                                                "use_ste",
                                                "use_variables"};
  static const std::vector<std::string> none;
  if (cls == "quantized_bits") return bits;
  if (cls == "quantized_relu") return relu;
  return none;
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

// A Python literal as QKeras' safe_eval accepts it in quantizer strings.
json parse_literal(const std::string& text, std::string_view whole) {
  if (text == "None") return nullptr;
  if (text == "True") return true;
  if (text == "False") return false;
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') &&
      text.back() == text.front())
    return text.substr(1, text.size() - 2);
  if (!text.empty()) {
    const char* begin = text.c_str();
    char* end = nullptr;
    if (text.find_first_of(".eE") == std::string::npos) {
      errno = 0;
      const long long v = std::strtoll(begin, &end, 10);
      if (end == begin + text.size() && errno == 0) return static_cast<int64_t>(v);
    } else {
      const double v = std::strtod(begin, &end);
      if (end == begin + text.size()) return v;
    }
  }
  throw Error(fmt::format("cannot read argument '{}' of quantizer \"{}\"", text, whole));
}

// "quantized_bits(6, 0, alpha=1)" -> {quantized_bits, {bits: 6, integer: 0, alpha: 1}}.
Quantizer parse_quantizer_string(std::string_view text) {
  const std::string s = trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  Quantizer q;
  q.cls = s.substr(0, i);
  if (q.cls.empty()) throw Error(fmt::format("cannot read quantizer \"{}\"", text));
  const std::string rest = trim(std::string_view(s).substr(i));
  if (rest.empty()) return q;
  if (rest.front() != '(' || rest.back() != ')')
    throw Error(fmt::format("cannot read quantizer \"{}\"", text));
  const std::string args = rest.substr(1, rest.size() - 2);
  // Split at top-level commas (quoted strings may hold commas).
  std::vector<std::string> parts;
  std::string cur;
  char quote = 0;
  for (char c : args) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ',') {
      parts.push_back(cur);
      cur.clear();
      continue;
    } else if (c == '(' || c == ')') {
      throw Error(fmt::format("cannot read quantizer \"{}\"", text));
    }
    cur += c;
  }
  if (quote) throw Error(fmt::format("cannot read quantizer \"{}\" (unclosed quote)", text));
  parts.push_back(cur);
  if (parts.size() == 1 && trim(parts[0]).empty()) parts.clear();
  const auto& names = positional_args(q.cls);
  size_t positional = 0;
  bool seen_keyword = false;
  for (const auto& raw : parts) {
    const std::string part = trim(raw);
    const size_t eq = part.find('=');
    if (eq != std::string::npos && part.find_first_of("'\"") > eq) {
      const std::string key = trim(std::string_view(part).substr(0, eq));
      if (q.config.contains(key))
        throw Error(fmt::format("quantizer \"{}\" gives '{}' twice", text, key));
      q.config[key] = parse_literal(trim(std::string_view(part).substr(eq + 1)), text);
      seen_keyword = true;
    } else {
      if (seen_keyword)
        throw Error(fmt::format("quantizer \"{}\": positional argument after a keyword", text));
      // Arguments of quantizers we do not map are kept by position, for the error that
      // names the quantizer.
      const std::string key = names.empty() ? fmt::format("#{}", positional)
                                            : (positional < names.size() ? names[positional] : "");
      if (key.empty()) throw Error(fmt::format("quantizer \"{}\" has too many arguments", text));
      if (q.config.contains(key))
        throw Error(fmt::format("quantizer \"{}\" gives '{}' twice", text, key));
      q.config[key] = parse_literal(part, text);
      ++positional;
    }
  }
  return q;
}

Quantizer quantizer_from_json(const json& j) {
  if (j.is_string()) return parse_quantizer_string(j.get<std::string>());
  if (j.is_object() && j.contains("class_name") && j["class_name"].is_string()) {
    Quantizer q;
    q.cls = j["class_name"].get<std::string>();
    if (j.contains("config") && !j["config"].is_null()) {
      if (!j["config"].is_object())
        throw Error(fmt::format("quantizer '{}' has a non-object config", q.cls));
      q.config = j["config"];
    }
    return q;
  }
  throw Error(fmt::format("cannot read quantizer {}", short_dump(j)));
}

// Typed access to a quantizer's config with defaults and precise complaints.
struct QuantizerArgs {
  const Quantizer& q;
  const std::set<std::string>& known;

  void check_known() const {
    for (const auto& [key, v] : q.config.items())
      if (!known.count(key)) throw Error(fmt::format("{}: unknown argument '{}'", q.cls, key));
  }
  const json* get(const char* key) const {
    auto it = q.config.find(key);
    return it == q.config.end() ? nullptr : &*it;
  }
  int64_t integer(const char* key, int64_t fallback) const {
    const json* v = get(key);
    if (!v || v->is_null()) return fallback;
    int64_t out = 0;
    if (!as_int(*v, out))
      throw Error(fmt::format("{}: '{}' must be an integer, got {}", q.cls, key, short_dump(*v)));
    return out;
  }
  bool flag(const char* key, bool fallback) const {
    const json* v = get(key);
    if (!v || v->is_null()) return fallback;
    bool out = false;
    if (!as_bool(*v, out))
      throw Error(
          fmt::format("{}: '{}' must be true/false or 0/1, got {}", q.cls, key, short_dump(*v)));
    return out;
  }
  // A number that must have exactly `want` (or be absent/null when null_ok).
  void require(const char* key, double want, bool null_ok, const char* why) const {
    const json* v = get(key);
    if (!v || (v->is_null() && null_ok)) return;
    if (v->is_boolean() && !v->get<bool>() && want == 0.0) return;
    if (v->is_number() && v->get<double>() == want) return;
    throw Error(fmt::format("{}: {}={} {}", q.cls, key, short_dump(*v), why));
  }
};

// Arguments each quantizer accepts: its positional ones, plus keywords only.
std::set<std::string> known_args(const std::string& cls, std::initializer_list<const char*> extra) {
  const auto& pos = positional_args(cls);
  std::set<std::string> out(pos.begin(), pos.end());
  out.insert(extra.begin(), extra.end());
  return out;
}
const std::set<std::string> kBitsArgs =
    known_args("quantized_bits", {"min_po2_exponent", "max_po2_exponent"});
const std::set<std::string> kReluArgs = known_args("quantized_relu", {});

FixedType make_type(const Quantizer& q, int64_t width, int64_t integer, bool is_signed,
                    OverflowMode o) {
  if (width < 1 || width > FixedType::kMaxWidth || integer < -1024 || integer > 1024)
    throw Error(fmt::format("{}: bits={} integer={} is out of range", q.cls, width, integer));
  return FixedType::make(static_cast<int>(width), static_cast<int>(integer), is_signed,
                         QuantMode::RND_CONV, o);
}

// The exact fixed-point type of a quantized_bits / quantized_relu quantizer.
FixedType quantizer_type(const Quantizer& q) {
  if (q.cls == "quantized_bits") {
    const QuantizerArgs a{q, kBitsArgs};
    a.check_known();
    const int64_t bits = a.integer("bits", 8);
    const int64_t integer = a.integer("integer", 0);
    const bool symmetric = a.flag("symmetric", false);
    const bool keep_negative = a.flag("keep_negative", true);
    if (const json* alpha = a.get("alpha"); alpha && alpha->is_string())
      throw Error(fmt::format(
          "quantized_bits: alpha='{}' scales every channel by a learned float, which no "
          "fixed-point type represents",
          alpha->get<std::string>()));
    a.require("alpha", 1.0, true, "scales the values, which no fixed-point type represents");
    if (a.flag("use_stochastic_rounding", false))
      throw Error("quantized_bits: use_stochastic_rounding=True has no fixed-point equivalent");
    a.require("qnoise_factor", 1.0, true, "mixes float and quantized values");
    if (keep_negative) {
      if (bits < 2)
        throw Error(
            fmt::format("quantized_bits: bits={} with keep_negative is a binary (sign) "
                        "quantizer, not a fixed-point type",
                        bits));
      return make_type(q, bits, integer + 1, true,
                       symmetric ? OverflowMode::SAT_SYM : OverflowMode::SAT);
    }
    return make_type(q, bits, integer, false, OverflowMode::SAT);
  }
  if (q.cls == "quantized_relu") {
    const QuantizerArgs a{q, kReluArgs};
    a.check_known();
    const int64_t bits = a.integer("bits", 8);
    const int64_t integer = a.integer("integer", 0);
    if (a.flag("use_sigmoid", false))
      throw Error("quantized_relu: use_sigmoid=1 has no fixed-point equivalent");
    a.require("negative_slope", 0.0, true, "(a leaky ReLU) is not supported");
    if (a.flag("use_stochastic_rounding", false))
      throw Error("quantized_relu: use_stochastic_rounding=True has no fixed-point equivalent");
    if (const json* ub = a.get("relu_upper_bound"); ub && !ub->is_null())
      throw Error(
          fmt::format("quantized_relu: relu_upper_bound={} is not supported", short_dump(*ub)));
    a.require("qnoise_factor", 1.0, true, "mixes float and quantized values");
    return make_type(q, bits, integer, false, OverflowMode::SAT);
  }
  throw Error(fmt::format(
      "unsupported quantizer '{}' (only quantized_bits and quantized_relu map exactly to "
      "fixed-point types)",
      q.cls));
}

bool looks_like_quantizer(const std::string& s) {
  static const std::set<std::string> kNames = {"binary", "stochastic_binary", "ternary",
                                               "stochastic_ternary", "bernoulli"};
  const std::string name = trim(s.substr(0, s.find('(')));
  return s.find('(') != std::string::npos || name.rfind("quantized_", 0) == 0 ||
         kNames.count(name) > 0;
}

// An activation as it appears in a layer config: its kind, result precision and the suffix
// hls4ml uses to name the separate activation layer ("relu", "quantized_relu", ...).
struct ActivationSpec {
  ActivationKind kind = ActivationKind::Linear;
  Precision result;
  std::string suffix = "linear";
};

ActivationSpec activation_spec(const json& a, bool allow_quantizers) {
  if (a.is_null()) return {};
  if (a.is_string() && !looks_like_quantizer(a.get<std::string>())) {
    const std::string name = a.get<std::string>();
    if (name == "linear") return {ActivationKind::Linear, std::nullopt, name};
    if (name == "relu") return {ActivationKind::ReLU, std::nullopt, name};
    if (name == "softmax") return {ActivationKind::Softmax, std::nullopt, name};
    throw Error(fmt::format("unsupported activation '{}' (supported: linear, relu, softmax{})",
                            name, allow_quantizers ? ", quantized_relu, quantized_bits" : ""));
  }
  if (!allow_quantizers)
    throw Error(fmt::format("unsupported activation {} (QKeras quantizers need QActivation)",
                            short_dump(a)));
  const Quantizer q = quantizer_from_json(a);
  const FixedType t = quantizer_type(q);
  if (q.cls == "quantized_relu") return {ActivationKind::QuantizedReLU, t, q.cls};
  return {ActivationKind::Linear, t, q.cls};
}

Precision optional_quantizer(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  try {
    return quantizer_type(quantizer_from_json(*it));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", key, e.what()));
  }
}

// ---- layer configs ---------------------------------------------------------------------

// One Keras layer entry with typed, defaulted access to its config.
struct KLayer {
  const std::string& file;
  std::string cls;
  std::string name;
  const json& cfg;

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

// What the weights reader needs beyond the IR layer.
struct LayerExtra {
  bool bn_center = true;
  bool bn_scale = true;
  int64_t bn_axis = -1;
};

void add_activation_layer(std::vector<Layer>& out, const std::string& owner,
                          const ActivationSpec& a) {
  if (a.kind == ActivationKind::Linear && !a.result) return;
  Layer l;
  l.name = owner + "_" + a.suffix;
  l.kind = LayerKind::Activation;
  l.activation = a.kind;
  l.precision.result = a.result;
  out.push_back(std::move(l));
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
    const ActivationSpec a = k.guard("activation", [&] { return activation_spec(act, quantized); });
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
    const ActivationSpec a = k.guard(
        "activation", [&] { return activation_spec(k.at("activation"), c == "QActivation"); });
    l.kind = LayerKind::Activation;
    l.activation = a.kind;
    l.precision.result = a.result;
    out.push_back(std::move(l));
    return;
  }
  if (c == "ReLU") {
    if (k.has("max_value"))
      k.fail(fmt::format("ReLU max_value={} is not supported", short_dump(k.at("max_value"))));
    for (const char* key : {"negative_slope", "threshold"})
      if (k.number_or(key, 0.0) != 0.0)
        k.fail(fmt::format("ReLU {}={} is not supported", key, short_dump(k.at(key))));
    l.kind = LayerKind::Activation;
    l.activation = ActivationKind::ReLU;
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

struct Architecture {
  std::string class_name;
  std::string name;
  Shape input_shape;
  std::string input_name;
  std::vector<Layer> layers;
  std::map<std::string, LayerExtra> extra;
};

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

Architecture parse_architecture(const std::string& file, const json& root) {
  if (!root.is_object() || !root.contains("class_name") || !root["class_name"].is_string() ||
      !root.contains("config"))
    fail(file, "not a Keras model JSON (no \"class_name\"/\"config\")");
  Architecture arch;
  arch.class_name = root["class_name"].get<std::string>();
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
    convert_layer(KLayer{file, cls, name, cfg}, arch.layers, arch.extra);
  }
  if (arch.layers.empty()) fail(file, "model has no layers besides its input");
  return arch;
}

// ---- weights ---------------------------------------------------------------------------

const std::set<std::string> kWeightKeys = {"kernel", "bias",        "gamma",
                                           "beta",   "moving_mean", "moving_variance"};

// "fc1/kernel:0" -> "kernel".
std::string weight_key(const std::string& name) {
  std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  const size_t colon = base.rfind(':');
  if (colon != std::string::npos) base = base.substr(0, colon);
  return base;
}

// A string-list attribute, also in Keras' chunked form (name0, name1, ...) used for lists
// above the 64 KiB header limit. nullopt if absent.
std::optional<std::vector<std::string>> chunked_strings(const h5::Handle& obj,
                                                        const std::string& name) {
  if (h5::has_attr(obj, name)) return h5::read_strings(obj, name);
  if (!h5::has_attr(obj, name + "0")) return std::nullopt;
  std::vector<std::string> all;
  for (int i = 0; h5::has_attr(obj, name + std::to_string(i)); ++i) {
    auto part = h5::read_strings(obj, name + std::to_string(i));
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

struct WeightsFile {
  std::string path;
  h5::Handle file;
  h5::Handle root;  // model_weights/ in a full-model file, else the file's root group

  explicit WeightsFile(const std::string& p) : path(p), file(h5::open_file(p)) {
    root = h5::open_group(file, h5::is_group(file, "model_weights") ? "model_weights" : "/");
  }

  [[noreturn]] void fail_layer(const std::string& layer, const std::string& msg) const {
    throw Error(fmt::format("{}: layer '{}': {}", path, layer, msg));
  }

  std::string available() const {
    auto names = h5::children(root);
    std::string list;
    for (size_t i = 0; i < names.size() && i < 8; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 8) list += ", ...";
    return list.empty() ? "none" : list;
  }

  // Reads the weights of one layer in Keras order: `keys` are the IR names expected.
  std::vector<Tensor> read(const std::string& layer, const std::vector<std::string>& keys) const {
    if (!h5::is_group(root, layer))
      fail_layer(layer,
                 fmt::format("no weights for this layer (the file has groups: {})", available()));
    h5::Handle g = h5::open_group(root, layer);
    std::vector<std::string> paths;
    if (auto names = chunked_strings(g, "weight_names")) {
      if (names->size() != keys.size()) {
        std::string listed, wanted;
        for (const auto& n : *names) listed += (listed.empty() ? "" : ", ") + n;
        for (const auto& k : keys) wanted += (wanted.empty() ? "" : ", ") + k;
        fail_layer(layer, fmt::format("the file holds {} weights ({}), the architecture needs {} "
                                      "({})",
                                      names->size(), listed.empty() ? "none" : listed, keys.size(),
                                      wanted));
      }
      for (size_t i = 0; i < keys.size(); ++i) {
        const std::string key = weight_key((*names)[i]);
        if (kWeightKeys.count(key) && key != keys[i])
          fail_layer(layer,
                     fmt::format("weight '{}' is where '{}' is expected", (*names)[i], keys[i]));
        if (!h5::is_dataset(g, (*names)[i]))
          fail_layer(layer,
                     fmt::format("dataset '{}' listed in weight_names is missing", (*names)[i]));
        paths.push_back((*names)[i]);
      }
    } else {
      for (const auto& key : keys) {
        std::string found;
        for (const std::string& p : {layer + "/" + key + ":0", key + ":0", key})
          if (h5::is_dataset(g, p)) {
            found = p;
            break;
          }
        if (found.empty())
          fail_layer(layer, fmt::format("no dataset '{}/{}:0' (and no weight_names attribute)",
                                        layer, key));
        paths.push_back(found);
      }
    }
    std::vector<Tensor> out;
    for (const auto& p : paths) out.push_back(h5::read_tensor(g, p));
    for (size_t i = 0; i < out.size(); ++i)
      for (float v : out[i].data)
        if (!std::isfinite(v)) fail_layer(layer, fmt::format("'{}' holds NaN or Inf", paths[i]));
    return out;
  }
};

bool layer_needs_weights(const Layer& l) {
  return l.has_kernel() || l.kind == LayerKind::BatchNorm;
}

// Fills every layer's weights from `wf`, checking shapes against the architecture as it goes.
void load_weights(Model& m, const std::map<std::string, LayerExtra>& extra, const WeightsFile& wf,
                  const std::string& arch_file) {
  Shape shape = m.input_shape;
  for (auto& l : m.layers) {
    const std::string where = fmt::format("layer '{}'", l.name);
    std::vector<std::string> keys;
    std::vector<Shape> want;
    const int rank = static_cast<int>(shape.size());
    if (l.kind == LayerKind::Dense && rank == 1) {
      keys = {"kernel"};
      want = {{shape[0], l.units}};
      if (l.use_bias) {
        keys.push_back("bias");
        want.push_back({l.units});
      }
    } else if (l.is_conv() && rank == static_cast<int>(l.kernel_size.size()) + 1) {
      Shape k(l.kernel_size.begin(), l.kernel_size.end());
      k.push_back(shape.back());
      k.push_back(l.filters);
      keys = {"kernel"};
      want = {k};
      if (l.use_bias) {
        keys.push_back("bias");
        want.push_back({l.filters});
      }
    } else if (l.kind == LayerKind::BatchNorm) {
      const LayerExtra& e = extra.at(l.name);
      if (e.bn_axis != -1 && e.bn_axis != rank)
        fail(arch_file, fmt::format("{}: axis {} is not supported (only the last, channels axis "
                                    "-1)",
                                    where, e.bn_axis));
      const Shape c = {shape.back()};
      if (e.bn_scale) keys.push_back("gamma");
      if (e.bn_center) keys.push_back("beta");
      keys.push_back("moving_mean");
      keys.push_back("moving_variance");
      want.assign(keys.size(), c);
      l.weights["gamma"] = Tensor(c, 1.0f);
      l.weights["beta"] = Tensor(c, 0.0f);
    }
    if (!keys.empty()) {
      auto tensors = wf.read(l.name, keys);
      for (size_t i = 0; i < keys.size(); ++i) {
        if (tensors[i].shape != want[i])
          wf.fail_layer(l.name, fmt::format("{} has shape {}, the architecture needs {}", keys[i],
                                            shape_str(tensors[i].shape), shape_str(want[i])));
        l.weights[keys[i]] = std::move(tensors[i]);
      }
    }
    // Next layer's input shape (infer_shapes reports structural problems precisely).
    Model one;
    one.name = m.name;
    one.input_shape = shape;
    one.layers = {l};
    try {
      one.infer_shapes();
    } catch (const Error& e) {
      fail(arch_file, e.what());
    }
    shape = one.layers[0].output_shape;
  }
}

// ---- the hwprune extension block -------------------------------------------------------

// What QKeras sees of a precision save_keras writes for this layer slot: the quantizer it
// writes reads back as this. Mirrors keras_export.cpp.
Precision qkeras_view(const Layer& l, const std::string& slot, const Precision& p) {
  if (!p) return std::nullopt;
  if (l.has_kernel() && (slot == "weight" || slot == "bias")) return qkeras_equivalent(*p);
  if (l.kind == LayerKind::Activation && slot == "result") {
    if (l.activation == ActivationKind::Linear) return qkeras_equivalent(*p);
    if (l.activation == ActivationKind::ReLU || l.activation == ActivationKind::QuantizedReLU) {
      if (!p->is_signed)
        return FixedType::make(p->width, p->integer, false, QuantMode::RND_CONV, OverflowMode::SAT);
      if (p->width < 2) return std::nullopt;
      return FixedType::make(p->width - 1, p->integer - 1, false, QuantMode::RND_CONV,
                             OverflowMode::SAT);
    }
  }
  return std::nullopt;
}

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

// ---- entry point -----------------------------------------------------------------------

std::string weights_beside(const std::string& json_path) {
  namespace fs = std::filesystem;
  const fs::path p(json_path);
  const fs::path stem = p.parent_path() / p.stem();
  const std::string a = stem.string() + "_weights.h5";
  const std::string b = stem.string() + ".h5";
  std::error_code ec;
  if (fs::is_regular_file(a, ec)) return a;
  if (fs::is_regular_file(b, ec)) return b;
  fail(json_path, fmt::format("no weights file found (looked for {} and {}); pass the weights .h5 "
                              "explicitly",
                              a, b));
}

// The HDF5 signature sits at offset 0 or, after a user block, at 512, 1024, 2048, ...
// (checked here rather than with H5Fis_hdf5, which upsets HDF5 1.10's shutdown after a
// later failed open).
bool is_hdf5(const std::string& path) {
  static const std::string kSignature("\x89HDF\r\n\x1a\n", 8);
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  for (uint64_t offset = 0; offset + 8 <= size; offset = offset ? offset * 2 : 512) {
    std::string buf(8, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(buf.data(), 8)) return false;
    if (buf == kSignature) return true;
  }
  return false;
}

}  // namespace

FixedType parse_qkeras_quantizer(std::string_view text) {
  return quantizer_type(parse_quantizer_string(text));
}

FixedType qkeras_equivalent(const FixedType& t) {
  OverflowMode o = OverflowMode::SAT;
  if (t.is_signed && t.overflow == OverflowMode::SAT_SYM) o = OverflowMode::SAT_SYM;
  return FixedType::make(t.width, t.integer, t.is_signed, QuantMode::RND_CONV, o);
}

bool qkeras_exact(const FixedType& t) {
  return (t.is_signed ? t.width >= 2 : t.width >= 1) && qkeras_equivalent(t) == t;
}

std::string qkeras_quantizer_str(const FixedType& t) {
  if (t.is_signed)
    return fmt::format("quantized_bits({},{},{},alpha=1)", t.width, t.integer - 1,
                       t.overflow == OverflowMode::SAT_SYM ? 1 : 0);
  return fmt::format("quantized_bits({},{},0,keep_negative=0,alpha=1)", t.width, t.integer);
}

Model load_keras(const std::string& path, const std::string& weights_h5) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such file");
  json root;
  std::string weights = weights_h5;
  std::optional<WeightsFile> wf;
  if (is_hdf5(path)) {
    WeightsFile full(path);
    if (!h5::has_attr(full.file, "model_config"))
      fail(path,
           "no 'model_config' attribute: this is a weights-only file; load the "
           "architecture .json and pass this file as its weights");
    const std::string text = h5::read_string(full.file, "model_config");
    try {
      root = json::parse(text);
    } catch (const json::exception& e) {
      fail(path, fmt::format("model_config is not valid JSON: {}", e.what()));
    }
    if (weights.empty()) {
      weights = path;
      wf.emplace(std::move(full));
    }
  } else {
    const std::string text = read_file(path);
    try {
      root = json::parse(text);
    } catch (const json::exception& e) {
      fail(path, fmt::format("invalid JSON: {}", e.what()));
    }
  }

  Architecture arch;
  try {
    arch = parse_architecture(path, root);
  } catch (const json::exception& e) {  // a safety net: the parser checks types itself
    fail(path, fmt::format("malformed Keras JSON: {}", e.what()));
  }
  Model m;
  m.name = arch.name;
  m.input_shape = arch.input_shape;
  m.layers = std::move(arch.layers);
  m.task = data::Task::Classification;

  bool needs = false;
  for (const auto& l : m.layers) needs = needs || layer_needs_weights(l);
  if (needs || !weights.empty()) {
    if (weights.empty()) weights = weights_beside(path);
    if (!wf) {
      if (!std::filesystem::exists(weights, ec)) fail(weights, "weights file does not exist");
      wf.emplace(weights);
    }
    load_weights(m, arch.extra, *wf, path);
  }
  try {
    apply_extension(m, root, path);
  } catch (const json::exception& e) {
    fail(path, fmt::format("malformed \"{}\" block: {}", kExtensionKey, e.what()));
  }
  try {
    m.infer_shapes();
  } catch (const Error& e) {
    fail(path, e.what());
  }
  m.metadata["source"] = path;
  m.metadata["keras.input_layer"] = arch.input_name;
  m.metadata["keras.class_name"] = arch.class_name;
  if (!weights.empty()) m.metadata["keras.weights"] = weights;
  return m;
}

}  // namespace hwprune::io
