// QKeras quantizers <-> fixed-point types: quantizer strings and JSON objects read as the exact
// ap_fixed type they compute, and the quantizer arguments that compute a given type.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <set>
#include <tuple>

#include "hwprune/io/keras.hpp"
#include "keras_detail.hpp"

namespace hwprune::io {

namespace keras_detail {

namespace {

// A quantizer as a layer config holds it: its class and its arguments by name.
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

}  // namespace

ActivationSpec activation_spec(const json& a, bool allow_quantizers, bool keras3) {
  if (a.is_null()) return {};
  if (a.is_string() && !looks_like_quantizer(a.get<std::string>())) {
    const std::string name = a.get<std::string>();
    // Keras activation names are the IR's (kActivationNames) except quantized_relu, which
    // is a QKeras quantizer.
    if (name != "quantized_relu" && kActivationNames.contains(name)) {
      ActivationSpec s{kActivationNames.parse(name), std::nullopt, name};
      std::tie(s.alpha, s.beta) = default_activation_params(s.kind);
      if (s.kind == ActivationKind::LeakyReLU) s.alpha = 0.2;  // keras.activations.leaky_relu
      if (s.kind == ActivationKind::HardSigmoid && keras3) s.alpha = 1.0 / 6.0;  // relu6(x+3)/6
      return s;
    }
    throw Error(
        fmt::format("unsupported activation '{}' (supported: linear, relu, softmax, sigmoid, tanh, "
                    "hard_sigmoid, leaky_relu, elu, selu{})",
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

BitsArgs bits_args(const FixedType& t) {
  return {t.width, t.is_signed ? t.integer - 1 : t.integer,
          t.is_signed && t.overflow == OverflowMode::SAT_SYM, t.is_signed};
}

std::optional<ReluArgs> relu_args(const FixedType& t) {
  if (!t.is_signed) return ReluArgs{t.width, t.integer};
  if (t.width < 2) return std::nullopt;
  return ReluArgs{t.width - 1, t.integer - 1};
}

}  // namespace keras_detail

FixedType parse_qkeras_quantizer(std::string_view text) {
  return keras_detail::quantizer_type(keras_detail::parse_quantizer_string(text));
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
  const keras_detail::BitsArgs a = keras_detail::bits_args(t);
  if (a.keep_negative)
    return fmt::format("quantized_bits({},{},{},alpha=1)", a.bits, a.integer, a.symmetric ? 1 : 0);
  return fmt::format("quantized_bits({},{},0,keep_negative=0,alpha=1)", a.bits, a.integer);
}

}  // namespace hwprune::io
