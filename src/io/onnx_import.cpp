// ONNX -> IR: folds a single-input, single-output chain of ONNX nodes into IR layers,
// converting channels-first layouts to the IR's channels-last one (see docs/onnx.md).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/onnx.hpp"
#include "hwprune/util/error.hpp"
#include "onnx_quant.hpp"

namespace hwprune::io {

namespace {

using namespace onnx_detail;
using Axes = std::vector<int>;

// A constant value: an initializer, a Constant node's output, or a Quant node on one.
struct Const {
  OnnxTensor t;
  Precision precision;            // from a Quant node on the constant
  std::optional<QuantSpec> spec;  // that node's parameters
};

Axes identity_axes(size_t r) {
  Axes a(r);
  std::iota(a.begin(), a.end(), 0);
  return a;
}

// ONNX axis -> IR axis when the ONNX tensor is channels-first: (N, C, S1..) vs (N, S1.., C).
Axes channels_first_axes(size_t r) {
  Axes a(r);
  a[0] = 0;
  a[1] = static_cast<int>(r) - 1;
  for (size_t i = 2; i < r; ++i) a[i] = static_cast<int>(i) - 1;
  return a;
}

// Layer names must be non-empty and free of path separators (Model::infer_shapes).
std::string sanitize_name(const std::string& raw) {
  std::string s = raw;
  while (!s.empty() && (s.front() == '/' || s.front() == '\\')) s.erase(s.begin());
  for (char& c : s)
    if (c == '/' || c == '\\' || c == '\n' || c == '\r') c = '_';
  if (s == "." || s == "..") s.clear();
  return s;
}

// Shortest text of a number that came from a float32 or float64 tensor.
std::string num_str(double v) {
  const auto f = static_cast<float>(v);
  return static_cast<double>(f) == v ? fmt::format("{}", f) : fmt::format("{}", v);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The shortest decimal of a float32 attribute, as a double: 0.2f gives 0.2, not 0.200000003.
double decimal(double v) {
  return std::strtod(fmt::format("{}", static_cast<float>(v)).c_str(), nullptr);
}

// The attributes each supported op may carry (the ONNX operator definitions of opsets 6-17);
// max_opset marks the legacy ones that later opsets dropped. Any other attribute is refused.
struct AttrSpec {
  const char* name;
  int64_t max_opset = 1000;
};
const std::map<std::string, std::vector<AttrSpec>>& known_attributes() {
  static const std::map<std::string, std::vector<AttrSpec>> kAttrs = {
      {"Gemm", {{"alpha"}, {"beta"}, {"transA"}, {"transB"}, {"broadcast", 6}}},
      {"MatMul", {}},
      {"Add", {{"broadcast", 6}, {"axis", 6}}},
      {"Conv", {{"auto_pad"}, {"dilations"}, {"group"}, {"kernel_shape"}, {"pads"}, {"strides"}}},
      {"MaxPool",
       {{"auto_pad"},
        {"ceil_mode"},
        {"dilations"},
        {"kernel_shape"},
        {"pads"},
        {"storage_order"},
        {"strides"}}},
      {"AveragePool",
       {{"auto_pad"},
        {"ceil_mode"},
        {"count_include_pad"},
        {"kernel_shape"},
        {"pads"},
        {"strides"}}},
      {"BatchNormalization",
       {{"epsilon"}, {"momentum"}, {"spatial", 8}, {"training_mode"}, {"is_test", 6}}},
      {"Relu", {}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"HardSigmoid", {{"alpha"}, {"beta"}}},
      {"LeakyRelu", {{"alpha"}}},
      {"Elu", {{"alpha"}}},
      {"Selu", {{"alpha"}, {"gamma"}}},
      {"Softmax", {{"axis"}}},
      {"Transpose", {{"perm"}}},
      {"Flatten", {{"axis"}}},
      {"Reshape", {{"allowzero"}}},
      {"Identity", {}},
      {"Dropout", {{"ratio"}, {"seed"}, {"is_test", 6}}},
      {"Quant", {{"signed"}, {"narrow"}, {"rounding_mode"}}},
  };
  return kAttrs;
}

// Element-wise activation ops and their IR kinds.
std::optional<ActivationKind> elementwise_activation(const std::string& op) {
  static const std::map<std::string, ActivationKind> kOps = {
      {"Relu", ActivationKind::ReLU},
      {"Sigmoid", ActivationKind::Sigmoid},
      {"Tanh", ActivationKind::Tanh},
      {"HardSigmoid", ActivationKind::HardSigmoid},
      {"LeakyRelu", ActivationKind::LeakyReLU},
      {"Elu", ActivationKind::ELU},
      {"Selu", ActivationKind::SELU}};
  auto it = kOps.find(op);
  return it == kOps.end() ? std::nullopt : std::optional<ActivationKind>(it->second);
}

class Importer {
 public:
  Importer(std::string path, OnnxGraph g) : path_(std::move(path)), g_(std::move(g)) {}

  Model run() {
    check_opset();
    collect_constants();
    find_io();
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (is_const_node_[i]) continue;
      for (const auto& in : g_.nodes[i].inputs)
        if (!in.empty() && !consts_.count(in)) consumers_[in].push_back(i);
    }
    choose_input_layout();
    walk();
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!is_const_node_[i] && !used_.count(i))
        fail(i, "is not on the chain from the graph input to the graph output (unsupported)");
    finish();
    return std::move(m_);
  }

 private:
  std::string path_;
  OnnxGraph g_;
  int64_t opset_ = 0;
  std::map<std::string, Const> consts_;
  std::vector<bool> is_const_node_;
  std::map<std::string, std::vector<size_t>> consumers_;
  std::set<size_t> used_;
  std::string input_name_, output_name_;
  Shape onnx_input_dims_;  // with the batch dimension (-1 if symbolic)
  Model m_;
  Axes axes_;                       // ONNX axis -> IR axis of the current value (batch = 0)
  std::vector<int64_t> flat_perm_;  // pending: IR flat index of each ONNX flat index
  bool fresh_kernel_ = false;       // current value = raw output of the last Dense/Conv
  // Which precisions Quant nodes set (for metadata resolution) and with what parameters.
  std::map<std::string, QuantSpec> quant_fields_;  // "<layer>\n<field>" or "\ninput"
  std::set<size_t> quant_result_layers_;
  bool quant_input_ = false;

  // ---- messages -----------------------------------------------------------------------
  std::string where(size_t i) const {
    const OnnxNode& n = g_.nodes[i];
    if (n.name.empty()) return fmt::format("node #{} ({})", i, n.op_type);
    return fmt::format("node '{}' ({})", n.name, n.op_type);
  }
  [[noreturn]] void fail(size_t i, const std::string& msg) const {
    throw Error(fmt::format("{}: {}: {}", path_, where(i), msg));
  }
  [[noreturn]] void fail_file(const std::string& msg) const {
    throw Error(fmt::format("{}: {}", path_, msg));
  }

  // ---- attributes -----------------------------------------------------------------------
  const OnnxAttribute* attr(size_t i, const char* key, OnnxAttribute::Kind kind) const {
    const OnnxAttribute* a = g_.nodes[i].attribute(key);
    if (a && a->kind != kind) fail(i, fmt::format("attribute '{}' has the wrong type", key));
    return a;
  }
  int64_t attr_int(size_t i, const char* key, int64_t fallback) const {
    const auto* a = attr(i, key, OnnxAttribute::Kind::Int);
    return a ? a->i : fallback;
  }
  double attr_float(size_t i, const char* key, double fallback) const {
    const auto* a = attr(i, key, OnnxAttribute::Kind::Float);
    return a ? a->f : fallback;
  }
  std::string attr_str(size_t i, const char* key, const std::string& fallback) const {
    const auto* a = attr(i, key, OnnxAttribute::Kind::String);
    return a ? a->s : fallback;
  }
  std::vector<int64_t> attr_ints(size_t i, const char* key,
                                 const std::vector<int64_t>& fallback) const {
    const auto* a = attr(i, key, OnnxAttribute::Kind::Ints);
    return a ? a->ints : fallback;
  }

  // ---- setup --------------------------------------------------------------------------
  void check_opset() {
    auto it = g_.opsets.find("");
    if (it == g_.opsets.end()) fail_file("no ai.onnx opset is imported");
    opset_ = it->second;
    if (opset_ < 6 || opset_ > 17)
      fail_file(fmt::format("ai.onnx opset {} is not supported (6..17)", opset_));
  }

  // Every attribute of node i must be one the op has at this opset (known_attributes()).
  void check_attributes(size_t i) const {
    const OnnxNode& n = g_.nodes[i];
    const auto& table = known_attributes();
    auto it = table.find(n.op_type);
    if (it == table.end()) return;  // not a supported op: refused by the caller
    for (const auto& attribute : n.attributes) {
      const std::string& key = attribute.first;
      const auto spec = std::find_if(it->second.begin(), it->second.end(),
                                     [&](const AttrSpec& s) { return key == s.name; });
      if (spec == it->second.end()) fail(i, fmt::format("attribute '{}' is not supported", key));
      if (opset_ > spec->max_opset)
        fail(i, fmt::format("attribute '{}' is not defined at opset {} (only up to opset {})", key,
                            opset_, spec->max_opset));
    }
  }

  // BatchNormalization and Dropout up to opset 6: is_test (default 0, training) must be set.
  void require_inference_mode(size_t i) const {
    if (opset_ <= 6 && attr_int(i, "is_test", 0) == 0)
      fail(i,
           "attribute 'is_test' = 0 (training mode) is not supported; inference needs "
           "is_test = 1");
  }

  // Scalar-like constant input `k` of node i (numel 1).
  double scalar_input(size_t i, size_t k, const char* what) const {
    const Const& c = const_input(i, k, what);
    if (c.t.values.size() != 1)
      fail(i, fmt::format("{} '{}' has {} values; only a single (per-tensor) value is supported",
                          what, g_.nodes[i].inputs[k], c.t.values.size()));
    return c.t.values[0];
  }

  const Const& const_input(size_t i, size_t k, const char* what) const {
    const OnnxNode& n = g_.nodes[i];
    if (k >= n.inputs.size() || n.inputs[k].empty()) fail(i, fmt::format("missing {}", what));
    auto it = consts_.find(n.inputs[k]);
    if (it == consts_.end())
      fail(i, fmt::format("{} '{}' must be a constant (initializer or Constant node)", what,
                          n.inputs[k]));
    return it->second;
  }

  const Const* optional_const(size_t i, size_t k, const char* what) const {
    const OnnxNode& n = g_.nodes[i];
    if (k >= n.inputs.size() || n.inputs[k].empty()) return nullptr;
    return &const_input(i, k, what);
  }

  // The fixed-point type a Quant node means, and its parameters.
  std::pair<FixedType, QuantSpec> quant_type(size_t i) const {
    const OnnxNode& n = g_.nodes[i];
    if (n.inputs.size() != 4) fail(i, "a Quant node needs 4 inputs (x, scale, zeropt, bitwidth)");
    const double scale = scalar_input(i, 1, "scale");
    const double zeropt = scalar_input(i, 2, "zero point");
    const double bits = scalar_input(i, 3, "bit width");
    if (!(scale > 0) || !std::isfinite(scale))
      fail(i, fmt::format("scale {} must be a positive power of two", num_str(scale)));
    int e = 0;
    const double mant = std::frexp(scale, &e);
    if (mant != 0.5)
      fail(i, fmt::format("scale {} is not a power of two: not representable as ap_fixed",
                          num_str(scale)));
    if (zeropt != 0.0)
      fail(i,
           fmt::format("zero point {} is not 0: not representable as ap_fixed", num_str(zeropt)));
    if (bits != std::floor(bits) || bits < 1 || bits > FixedType::kMaxWidth)
      fail(i, fmt::format("bit width {} must be an integer in 1..{}", num_str(bits),
                          FixedType::kMaxWidth));
    QuantSpec s;
    s.bitwidth = static_cast<int>(bits);
    s.frac_bits = 1 - e;  // scale = 2^(e-1)
    s.is_signed = attr_int(i, "signed", 1) != 0;
    s.narrow = attr_int(i, "narrow", 0) != 0;
    std::string mode = attr_str(i, "rounding_mode", "ROUND");
    for (char& c : mode) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    s.rounding = mode;
    try {
      return {type_of_quant(s), s};
    } catch (const Error& err) {
      fail(i, err.what());
    }
  }

  OnnxTensor constant_node_value(size_t i) const {
    const OnnxNode& n = g_.nodes[i];
    if (const auto* a = n.attribute("value")) {
      if (a->kind != OnnxAttribute::Kind::Tensor) fail(i, "attribute 'value' is not a tensor");
      return a->tensor;
    }
    OnnxTensor t;
    if (const auto* a = n.attribute("value_float")) {
      t.values = {a->f};
    } else if (const auto* a = n.attribute("value_floats")) {
      t.values = a->floats;
      t.dims = {static_cast<int64_t>(t.values.size())};
    } else if (const auto* a = n.attribute("value_int")) {
      t.type = OnnxType::Int64;
      t.values = {static_cast<double>(a->i)};
    } else if (const auto* a = n.attribute("value_ints")) {
      t.type = OnnxType::Int64;
      for (int64_t v : a->ints) t.values.push_back(static_cast<double>(v));
      t.dims = {static_cast<int64_t>(t.values.size())};
    } else {
      fail(i, "unsupported Constant (only dense tensors and numbers)");
    }
    return t;
  }

  void collect_constants() {
    for (const auto& [name, t] : g_.initializers) consts_[name] = Const{t, std::nullopt, {}};
    is_const_node_.assign(g_.nodes.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const OnnxNode& n = g_.nodes[i];
      const bool standard = n.domain.empty();
      if (!standard && !is_quant_domain(n.domain))
        fail(i, fmt::format("unsupported op domain '{}'", n.domain));
      if (!standard && n.op_type != "Quant") fail(i, "unsupported op type");
      if (standard && n.op_type == "Constant") {
        if (n.outputs.size() != 1) fail(i, "a Constant needs one output");
        consts_[n.outputs[0]] = Const{constant_node_value(i), std::nullopt, {}};
        is_const_node_[i] = true;
      } else if (!standard && !n.inputs.empty() && consts_.count(n.inputs[0])) {
        // Quant on a constant: a quantized weight or bias.
        check_attributes(i);
        const auto [type, spec] = quant_type(i);
        if (n.outputs.size() != 1) fail(i, "a Quant node needs one output");
        Const c = consts_.at(n.inputs[0]);
        if (c.precision) fail(i, "a second Quant on an already quantized constant");
        c.precision = type;
        c.spec = spec;
        consts_[n.outputs[0]] = c;
        is_const_node_[i] = true;
      } else if (!n.inputs.empty() &&
                 std::all_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& in) {
                   return in.empty() || consts_.count(in);
                 })) {
        fail(i, "computes on constants only (constant folding is not supported)");
      }
    }
  }

  void find_io() {
    std::vector<const OnnxValueInfo*> inputs;
    for (const auto& v : g_.inputs)
      if (!g_.initializers.count(v.name)) inputs.push_back(&v);
    if (inputs.size() != 1)
      fail_file(fmt::format(
          "the graph has {} inputs (besides initializers); exactly 1 is supported", inputs.size()));
    if (g_.outputs.size() != 1)
      fail_file(fmt::format("the graph has {} outputs; exactly 1 is supported", g_.outputs.size()));
    const OnnxValueInfo& in = *inputs[0];
    input_name_ = in.name;
    output_name_ = g_.outputs[0].name;
    if (in.elem_type != 1)
      fail_file(fmt::format("graph input '{}' has element type {}; only float32 is supported",
                            in.name, in.elem_type));
    if (!in.has_shape || in.dims.size() < 2 || in.dims.size() > 4)
      fail_file(fmt::format(
          "graph input '{}' must have a known shape (batch, features) or (batch, ...) of rank 2-4",
          in.name));
    for (size_t d = 1; d < in.dims.size(); ++d)
      if (in.dims[d] <= 0)
        fail_file(fmt::format("graph input '{}' has an unknown dimension {} in {}", in.name, d,
                              shape_str(in.dims)));
    onnx_input_dims_ = in.dims;
  }

  // ---- layout -------------------------------------------------------------------------
  // Chooses the IR layout of the graph input so that the first layout-sensitive op sees
  // channels-first data for Conv/pooling/BatchNorm, and the IR order otherwise.
  void choose_input_layout() {
    const size_t r = onnx_input_dims_.size();
    Axes t = identity_axes(r);  // value axis i = input axis t[i]
    std::string cur = input_name_;
    Axes target = identity_axes(r);
    while (true) {
      auto it = consumers_.find(cur);
      if (it == consumers_.end() || it->second.size() != 1) break;
      const size_t i = it->second[0];
      const OnnxNode& n = g_.nodes[i];
      if (n.outputs.empty() || n.inputs.empty() || n.inputs[0] != cur) break;
      const std::string& op = n.op_type;
      if (op == "Transpose") {
        const auto perm = attr_ints(i, "perm", {});
        if (perm.size() != r) break;
        Axes next(r);
        for (size_t k = 0; k < r; ++k) {
          if (perm[k] < 0 || perm[k] >= static_cast<int64_t>(r)) return;
          next[k] = t[static_cast<size_t>(perm[k])];
        }
        t = next;
      } else if (op == "Identity" || op == "Dropout" || op == "Quant" ||
                 elementwise_activation(op)) {
      } else {
        if (r > 2 &&
            (op == "Conv" || op == "MaxPool" || op == "AveragePool" || op == "BatchNormalization"))
          target = channels_first_axes(r);
        break;
      }
      cur = n.outputs[0];
    }
    axes_ = identity_axes(r);
    if (t[0] == 0)
      for (size_t k = 0; k < r; ++k) axes_[static_cast<size_t>(t[k])] = target[k];
    Shape ir(r);
    for (size_t k = 0; k < r; ++k) ir[static_cast<size_t>(axes_[k])] = onnx_input_dims_[k];
    m_.input_shape.assign(ir.begin() + 1, ir.end());
  }

  Shape ir_shape() const {
    return m_.layers.empty() ? m_.input_shape : m_.layers.back().output_shape;
  }
  // The current ONNX tensor's per-sample dims (batch dropped).
  Shape onnx_sample_dims() const {
    Shape full = ir_shape();
    full.insert(full.begin(), onnx_input_dims_[0]);
    Shape out;
    for (size_t k = 1; k < axes_.size(); ++k) out.push_back(full[static_cast<size_t>(axes_[k])]);
    return out;
  }
  bool layout_is_identity() const { return axes_ == identity_axes(axes_.size()); }

  // ---- layers -------------------------------------------------------------------------
  std::string layer_name(size_t i) const {
    std::string base = sanitize_name(g_.nodes[i].name);
    if (base.empty()) base = fmt::format("{}_{}", lower(g_.nodes[i].op_type), i);
    std::string name = base;
    for (int k = 2;; ++k) {
      bool taken = false;
      for (const auto& l : m_.layers) taken = taken || l.name == name;
      if (!taken) return name;
      name = fmt::format("{}_{}", base, k);
    }
  }

  Layer& push_layer(size_t i, Layer l) {
    if (l.name.empty()) l.name = layer_name(i);
    m_.layers.push_back(std::move(l));
    reshape_check(i);
    fresh_kernel_ = false;
    return m_.layers.back();
  }
  void reshape_check(size_t i) {
    try {
      m_.infer_shapes();
    } catch (const Error& e) {
      fail(i, e.what());
    }
  }

  void require_only_first_output(size_t i) const {
    const OnnxNode& n = g_.nodes[i];
    for (size_t k = 1; k < n.outputs.size(); ++k) {
      const std::string& o = n.outputs[k];
      if (!o.empty() && (consumers_.count(o) || o == output_name_))
        fail(i, fmt::format("output '{}' is used; only the first output is supported", o));
    }
  }

  void require_rank(size_t i, std::initializer_list<size_t> ranks, const char* what) const {
    for (size_t r : ranks)
      if (axes_.size() == r) return;
    fail(i, fmt::format("{} on a tensor of rank {} is not supported", what, axes_.size()));
  }

  void require_channels_first(size_t i) const {
    if (axes_ != channels_first_axes(axes_.size()))
      fail(i, "its input is not channels-first (N, C, ...) in this graph's layout");
  }

  // Permutes a per-feature vector from ONNX flat order to IR flat order (pending Flatten).
  std::vector<float> to_ir_order(const std::vector<float>& v) const {
    if (flat_perm_.empty()) return v;
    std::vector<float> out(v.size());
    for (size_t o = 0; o < v.size(); ++o) out[static_cast<size_t>(flat_perm_[o])] = v[o];
    return out;
  }

  static std::vector<float> floats(const OnnxTensor& t) {
    return std::vector<float>(t.values.begin(), t.values.end());
  }

  // A constant that broadcasts per channel against the current tensor (channel axis = the
  // ONNX axis holding the IR's last axis) -> its n values.
  std::vector<float> per_channel(size_t i, const OnnxTensor& t, int64_t n, const char* what) const {
    const size_t r = axes_.size();
    if (t.values.size() == 1) return std::vector<float>(static_cast<size_t>(n), float(t.values[0]));
    size_t caxis = 0;
    for (size_t k = 0; k < r; ++k)
      if (axes_[k] == static_cast<int>(r) - 1) caxis = k;
    bool ok = t.dims.size() <= r && static_cast<int64_t>(t.values.size()) == n;
    for (size_t k = 0; ok && k < t.dims.size(); ++k) {
      const size_t axis = r - t.dims.size() + k;
      const int64_t want = axis == caxis ? n : 1;
      ok = t.dims[k] == want;
    }
    if (!ok)
      fail(i, fmt::format("{} of shape {} is not a per-channel vector of {} values", what,
                          shape_str(t.dims), n));
    return floats(t);
  }

  // ---- ops ----------------------------------------------------------------------------
  void dense(size_t i, const Const& w, bool trans_b, double alpha, const Const* c, double beta) {
    if (w.t.dims.size() != 2)
      fail(i, fmt::format("weight of shape {} is not a matrix", shape_str(w.t.dims)));
    const int64_t k = trans_b ? w.t.dims[1] : w.t.dims[0];
    const int64_t n = trans_b ? w.t.dims[0] : w.t.dims[1];
    const Shape in = ir_shape();
    if (in.size() != 1 || in[0] != k)
      fail(i, fmt::format("weight of shape {} does not fit the input features {}",
                          shape_str(w.t.dims), shape_str(in)));
    if (alpha != 1.0 && w.precision) fail(i, "alpha != 1 with a Quant weight is not supported");
    std::vector<float> kernel(static_cast<size_t>(k * n));
    for (int64_t a = 0; a < k; ++a) {
      const int64_t row = flat_perm_.empty() ? a : flat_perm_[static_cast<size_t>(a)];
      for (int64_t b = 0; b < n; ++b) {
        const double v = trans_b ? w.t.values[static_cast<size_t>(b * k + a)]
                                 : w.t.values[static_cast<size_t>(a * n + b)];
        kernel[static_cast<size_t>(row * n + b)] = static_cast<float>(alpha * v);
      }
    }
    flat_perm_.clear();
    Layer l;
    l.kind = LayerKind::Dense;
    l.units = n;
    l.use_bias = c != nullptr;
    l.weights["kernel"] = Tensor({k, n}, kernel);
    l.precision.weight = w.precision;
    l.name = layer_name(i);
    if (w.spec) quant_fields_[l.name + "\nweight"] = *w.spec;
    if (c) {
      if (beta != 1.0 && c->precision) fail(i, "beta != 1 with a Quant bias is not supported");
      std::vector<float> b = per_channel(i, c->t, n, "bias");
      for (float& v : b) v = static_cast<float>(beta * v);
      l.weights["bias"] = Tensor({n}, b);
      l.precision.bias = c->precision;
      if (c->spec) quant_fields_[l.name + "\nbias"] = *c->spec;
    }
    push_layer(i, std::move(l));
    fresh_kernel_ = true;
  }

  void gemm(size_t i) {
    require_rank(i, {2}, "Gemm");
    if (attr_int(i, "transA", 0) != 0) fail(i, "attribute 'transA' = 1 is not supported");
    const Const& w = const_input(i, 1, "weight B");
    const bool trans_b = attr_int(i, "transB", 0) != 0;
    const Const* c = optional_const(i, 2, "bias C");
    if (opset_ <= 6 && c && attr_int(i, "broadcast", 0) == 0 && w.t.dims.size() == 2) {
      // Opset 6 without broadcast: C has the output's shape (M, N).
      const Shape mn{onnx_input_dims_[0], trans_b ? w.t.dims[0] : w.t.dims[1]};
      if (c->t.dims != mn)
        fail(i, fmt::format("attribute 'broadcast' = 0 needs C of the output's shape {}, not {}",
                            shape_str(mn), shape_str(c->t.dims)));
    }
    dense(i, w, trans_b, attr_float(i, "alpha", 1.0), c, attr_float(i, "beta", 1.0));
  }

  void matmul(size_t i) {
    require_rank(i, {2}, "MatMul");
    dense(i, const_input(i, 1, "weight"), false, 1.0, nullptr, 1.0);
  }

  void add(size_t i, const std::string& cur) {
    const OnnxNode& n = g_.nodes[i];
    if (n.inputs.size() != 2) fail(i, "needs 2 inputs");
    const size_t k = n.inputs[0] == cur ? 1 : 0;
    if (n.inputs[k] == cur) fail(i, "adds a tensor to itself (unsupported)");
    if (!fresh_kernel_ || m_.layers.back().use_bias)
      fail(i, "Add is only supported as the bias of a directly preceding MatMul/Conv without bias");
    const Const& c = const_input(i, k, "addend");
    Layer& l = m_.layers.back();
    const int64_t units = l.kind == LayerKind::Dense ? l.units : l.filters;
    const OnnxTensor addend = opset_ <= 6 ? legacy_broadcast(i, c.t, k) : c.t;
    l.weights["bias"] = Tensor({units}, per_channel(i, addend, units, "addend"));
    l.use_bias = true;
    l.precision.bias = c.precision;
    if (c.spec) quant_fields_[l.name + "\nbias"] = *c.spec;
    reshape_check(i);
    fresh_kernel_ = false;
  }

  // Add at opset 6: without `broadcast` both inputs have one shape; with broadcast = 1 the
  // second input's dims line up with the first's from `axis` (default: the trailing dims).
  // Returns the addend (input k) with the dims numpy broadcasting gives the same meaning.
  OnnxTensor legacy_broadcast(size_t i, const OnnxTensor& t, size_t k) const {
    const int64_t r = static_cast<int64_t>(axes_.size());
    Shape full = onnx_sample_dims();
    full.insert(full.begin(), onnx_input_dims_[0]);
    if (attr_int(i, "broadcast", 0) == 0) {
      if (t.dims != full)
        fail(i, fmt::format("attribute 'broadcast' = 0 needs an addend of the input's shape {}, "
                            "not {}",
                            shape_str(full), shape_str(t.dims)));
      return t;
    }
    if (k != 1) fail(i, "attribute 'broadcast' = 1 broadcasts input B, which is the activation");
    const int64_t rb = static_cast<int64_t>(t.dims.size());
    int64_t axis = attr_int(i, "axis", r - rb);
    if (axis < 0) axis += r;
    if (axis < 0 || axis + rb > r)
      fail(i, fmt::format("attribute 'axis' = {} does not fit an addend of shape {} to rank {}",
                          attr_int(i, "axis", r - rb), shape_str(t.dims), r));
    OnnxTensor out = t;
    out.dims.assign(static_cast<size_t>(r), 1);
    for (int64_t j = 0; j < rb; ++j) {
      const int64_t want = full[static_cast<size_t>(axis + j)];
      const int64_t have = t.dims[static_cast<size_t>(j)];
      if (have != want && !(want < 0 && have == 1))  // want < 0: a symbolic batch
        fail(i, fmt::format("addend of shape {} does not match the input's shape {} from axis {}",
                            shape_str(t.dims), shape_str(full), axis));
      out.dims[static_cast<size_t>(axis + j)] = have;
    }
    return out;
  }

  // Window ops: kernel sizes, strides, and the IR padding equivalent to the node's pads.
  struct WindowAttrs {
    std::vector<int64_t> kernel, strides, pads;
    Padding padding = Padding::Valid;
  };

  WindowAttrs window(size_t i, std::vector<int64_t> kernel) const {
    const size_t sr = axes_.size() - 2;
    WindowAttrs w;
    w.kernel = std::move(kernel);
    w.strides = attr_ints(i, "strides", std::vector<int64_t>(sr, 1));
    if (w.kernel.size() != sr || w.strides.size() != sr)
      fail(i, fmt::format("kernel_shape/strides need {} entries", sr));
    for (size_t d = 0; d < sr; ++d)
      if (w.kernel[d] <= 0 || w.strides[d] <= 0)
        fail(i, "kernel_shape and strides must be positive");
    const auto dil = attr_ints(i, "dilations", std::vector<int64_t>(sr, 1));
    for (int64_t d : dil)
      if (d != 1)
        fail(i, fmt::format("attribute 'dilations' = [{}] is not supported (only 1)",
                            fmt::join(dil, ", ")));
    const Shape in = ir_shape();  // spatial dims first (channels-last)
    std::vector<int64_t> same(2 * sr), zero(2 * sr, 0);
    bool same_even = true;
    for (size_t d = 0; d < sr; ++d) {
      const int64_t out = (in[d] + w.strides[d] - 1) / w.strides[d];
      const int64_t total = std::max<int64_t>((out - 1) * w.strides[d] + w.kernel[d] - in[d], 0);
      same[d] = total / 2;
      same[d + sr] = total - total / 2;
      same_even = same_even && total % 2 == 0;
    }
    const std::string auto_pad = attr_str(i, "auto_pad", "NOTSET");
    std::vector<int64_t> pads;
    if (auto_pad == "NOTSET") {
      pads = attr_ints(i, "pads", zero);
      if (pads.size() != 2 * sr) fail(i, fmt::format("attribute 'pads' needs {} entries", 2 * sr));
    } else if (auto_pad == "VALID") {
      pads = zero;
    } else if (auto_pad == "SAME_UPPER" || (auto_pad == "SAME_LOWER" && same_even)) {
      pads = same;
    } else {
      fail(i, fmt::format("attribute 'auto_pad' = {} is not supported for input {} (Keras 'same' "
                          "pads the end)",
                          auto_pad, shape_str(in)));
    }
    w.pads = pads;
    if (pads == zero) {
      w.padding = Padding::Valid;
    } else if (pads == same) {
      w.padding = Padding::Same;
    } else {
      fail(i, fmt::format("attribute 'pads' = [{}] is neither 0 nor Keras 'same' padding ([{}]) "
                          "for input {}",
                          fmt::join(pads, ", "), fmt::join(same, ", "), shape_str(in)));
    }
    return w;
  }

  void conv(size_t i) {
    require_rank(i, {3, 4}, "Conv");
    require_channels_first(i);
    const size_t sr = axes_.size() - 2;
    const int64_t group = attr_int(i, "group", 1);
    if (group != 1) fail(i, fmt::format("attribute 'group' = {} is not supported (only 1)", group));
    const Const& w = const_input(i, 1, "weight W");
    if (w.t.dims.size() != sr + 2)
      fail(i, fmt::format("weight of shape {} does not fit a {}-D convolution", shape_str(w.t.dims),
                          sr));
    const int64_t f = w.t.dims[0], c = w.t.dims[1];
    std::vector<int64_t> ks(w.t.dims.begin() + 2, w.t.dims.end());
    if (const auto* a = attr(i, "kernel_shape", OnnxAttribute::Kind::Ints); a && a->ints != ks)
      fail(i, "attribute 'kernel_shape' differs from the weight shape");
    const WindowAttrs win = window(i, ks);
    const int64_t kh = sr == 2 ? ks[0] : 1, kw = ks.back();
    std::vector<float> kernel(w.t.values.size());
    // ONNX (F, C, KH, KW) -> IR (KH, KW, C, F)
    for (int64_t fo = 0; fo < f; ++fo)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            kernel[static_cast<size_t>(((y * kw + x) * c + ci) * f + fo)] = static_cast<float>(
                w.t.values[static_cast<size_t>(((fo * c + ci) * kh + y) * kw + x)]);
    Shape kshape = ks;
    kshape.push_back(c);
    kshape.push_back(f);
    Layer l;
    l.name = layer_name(i);
    l.kind = sr == 2 ? LayerKind::Conv2D : LayerKind::Conv1D;
    l.filters = f;
    l.kernel_size = ks;
    l.strides = win.strides;
    l.padding = win.padding;
    l.weights["kernel"] = Tensor(kshape, kernel);
    l.precision.weight = w.precision;
    if (w.spec) quant_fields_[l.name + "\nweight"] = *w.spec;
    const Const* b = optional_const(i, 2, "bias B");
    l.use_bias = b != nullptr;
    if (b) {
      if (b->t.values.size() != static_cast<size_t>(f))
        fail(i, fmt::format("bias has {} values for {} filters", b->t.values.size(), f));
      l.weights["bias"] = Tensor({f}, floats(b->t));
      l.precision.bias = b->precision;
      if (b->spec) quant_fields_[l.name + "\nbias"] = *b->spec;
    }
    push_layer(i, std::move(l));
    fresh_kernel_ = true;
  }

  void pool(size_t i, bool is_max) {
    require_rank(i, {3, 4}, g_.nodes[i].op_type.c_str());
    require_channels_first(i);
    require_only_first_output(i);
    const size_t sr = axes_.size() - 2;
    const auto* ks = attr(i, "kernel_shape", OnnxAttribute::Kind::Ints);
    if (!ks) fail(i, "missing attribute 'kernel_shape'");
    const WindowAttrs win = window(i, ks->ints);
    if (!is_max && win.padding == Padding::Same && attr_int(i, "count_include_pad", 0) != 0)
      fail(i,
           "attribute 'count_include_pad' = 1 with padding is not supported (Keras averages "
           "the valid elements)");
    if (attr_int(i, "ceil_mode", 0) != 0) {
      const Shape in = ir_shape();
      for (size_t d = 0; d < sr; ++d)
        if ((in[d] + win.pads[d] + win.pads[d + sr] - win.kernel[d]) % win.strides[d] != 0)
          fail(i, "attribute 'ceil_mode' = 1 changes the output size (unsupported)");
    }
    Layer l;
    l.kind = is_max ? (sr == 2 ? LayerKind::MaxPool2D : LayerKind::MaxPool1D)
                    : (sr == 2 ? LayerKind::AvgPool2D : LayerKind::AvgPool1D);
    l.pool_size = win.kernel;
    l.strides = win.strides;
    l.padding = win.padding;
    push_layer(i, std::move(l));
  }

  void batchnorm(size_t i) {
    require_only_first_output(i);
    const size_t r = axes_.size();
    if (axes_[1] != static_cast<int>(r) - 1)
      fail(i, "its channel axis 1 is not the channels-last axis in this graph's layout");
    if (attr_int(i, "training_mode", 0) != 0) fail(i, "attribute 'training_mode' = 1");
    require_inference_mode(i);
    if (attr_int(i, "spatial", 1) != 1) fail(i, "attribute 'spatial' = 0 is not supported");
    const int64_t c = ir_shape().back();
    const char* names[] = {"scale", "B", "mean", "var"};
    const char* keys[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    Layer l;
    l.kind = LayerKind::BatchNorm;
    l.epsilon = attr_float(i, "epsilon", 1e-5);
    l.momentum = attr_float(i, "momentum", 0.9);
    for (size_t k = 0; k < 4; ++k) {
      const Const& p = const_input(i, k + 1, names[k]);
      if (p.precision)
        fail(i, fmt::format("a Quant on input '{}' is not supported (hwprune quantizes the "
                            "folded scale and shift)",
                            names[k]));
      if (p.t.values.size() != static_cast<size_t>(c))
        fail(i, fmt::format("input '{}' has {} values for {} channels", names[k], p.t.values.size(),
                            c));
      l.weights[keys[k]] = Tensor({c}, r == 2 ? to_ir_order(floats(p.t)) : floats(p.t));
    }
    push_layer(i, std::move(l));
  }

  void softmax(size_t i) {
    const int r = static_cast<int>(axes_.size());
    int64_t axis = attr_int(i, "axis", opset_ < 13 ? 1 : -1);
    if (axis < 0) axis += r;
    const bool ok = opset_ < 13
                        ? (axis == r - 1 && axes_[static_cast<size_t>(r - 1)] == r - 1)
                        : (axis >= 0 && axis < r && axes_[static_cast<size_t>(axis)] == r - 1);
    if (!ok) fail(i, fmt::format("softmax over axis {} is not over the channels-last axis", axis));
    Layer l;
    l.kind = LayerKind::Activation;
    l.activation = ActivationKind::Softmax;
    push_layer(i, std::move(l));
  }

  // Relu, Sigmoid, Tanh, HardSigmoid, LeakyRelu, Elu, Selu: an activation layer with the
  // op's parameters (ONNX defaults where absent).
  void activation(size_t i, ActivationKind kind) {
    Layer l;
    l.kind = LayerKind::Activation;
    l.activation = kind;
    const auto param = [&](const char* key, double fallback) {
      const OnnxAttribute* a = attr(i, key, OnnxAttribute::Kind::Float);
      const double v = a ? decimal(a->f) : fallback;
      if (!std::isfinite(v)) fail(i, fmt::format("attribute '{}' = {} is not finite", key, v));
      return v;
    };
    switch (kind) {
      case ActivationKind::HardSigmoid:
        l.alpha = param("alpha", 0.2);
        l.beta = param("beta", 0.5);
        break;
      case ActivationKind::LeakyReLU:
        l.alpha = param("alpha", 0.01);
        break;
      case ActivationKind::ELU:
        l.alpha = param("alpha", 1.0);
        break;
      case ActivationKind::SELU: {
        // The IR's SELU has the standard constants; ONNX's defaults are their float32 values.
        constexpr double kAlpha = 1.6732632423543772, kGamma = 1.0507009873554805;
        for (auto [key, want] : {std::pair{"alpha", kAlpha}, {"gamma", kGamma}}) {
          const double v = param(key, want);
          if (std::fabs(v - want) > 1e-6 * want)
            fail(i, fmt::format("attribute '{}' = {} is not the standard SELU constant {} "
                                "(only the standard SELU is supported)",
                                key, num_str(v), want));
        }
        break;
      }
      default:
        break;
    }
    push_layer(i, std::move(l));
  }

  void transpose(size_t i) {
    const size_t r = axes_.size();
    const auto perm = attr_ints(i, "perm", {});
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> want(r);
    std::iota(want.begin(), want.end(), 0);
    if (perm.empty() || sorted != want)
      fail(i, fmt::format("attribute 'perm' = [{}] is not a permutation of {} axes",
                          fmt::join(perm, ", "), r));
    if (perm[0] != 0) fail(i, "transposes the batch axis (unsupported)");
    Axes next(r);
    for (size_t k = 0; k < r; ++k) next[k] = axes_[static_cast<size_t>(perm[k])];
    axes_ = next;
  }

  // Flatten of the current tensor to (batch, features).
  void flatten(size_t i) {
    if (axes_.size() == 2) return;  // already flat
    if (!layout_is_identity()) {
      // ONNX flattens in its own axis order; record where each ONNX element sits in the IR's
      // channels-last flat order, so the next Dense/BatchNorm can permute its rows.
      const Shape od = onnx_sample_dims(), id = ir_shape();
      const size_t r = od.size();
      const int64_t total = shape_numel(od);
      flat_perm_.assign(static_cast<size_t>(total), 0);
      std::vector<int64_t> idx(r, 0), ir_idx(r);
      for (int64_t o = 0; o < total; ++o) {
        for (size_t k = 0; k < r; ++k) ir_idx[static_cast<size_t>(axes_[k + 1] - 1)] = idx[k];
        int64_t flat = 0;
        for (size_t k = 0; k < r; ++k) flat = flat * id[k] + ir_idx[k];
        flat_perm_[static_cast<size_t>(o)] = flat;
        for (size_t k = r; k-- > 0;) {
          if (++idx[k] < od[k]) break;
          idx[k] = 0;
        }
      }
    }
    Layer l;
    l.kind = LayerKind::Flatten;
    push_layer(i, std::move(l));
    axes_ = identity_axes(2);
  }

  void flatten_node(size_t i) {
    const int64_t r = static_cast<int64_t>(axes_.size());
    int64_t axis = attr_int(i, "axis", 1);
    if (axis < 0) axis += r;
    if (axis == 0 && onnx_input_dims_[0] == 1) axis = 1;  // batch 1: same as axis 1
    if (axis != 1)
      fail(i, fmt::format("attribute 'axis' = {} is not supported (only a flatten after the "
                          "batch axis)",
                          attr_int(i, "axis", 1)));
    flatten(i);
  }

  void reshape(size_t i) {
    const Const& s = const_input(i, 1, "shape");
    std::vector<int64_t> shape;
    for (double v : s.t.values) shape.push_back(static_cast<int64_t>(v));
    const int64_t batch = onnx_input_dims_[0];
    const int64_t features = shape_numel(ir_shape());
    const bool allow_zero = attr_int(i, "allowzero", 0) != 0;
    bool ok = shape.size() == 2;
    if (ok) {
      const int64_t a = shape[0], b = shape[1];
      const bool batch_ok =
          (a == 0 && !allow_zero) || a == -1 || (batch > 0 && a == batch) || (batch < 0 && a == 1);
      ok = batch_ok && (b == features || (b == -1 && a != -1));
    }
    if (!ok)
      fail(i, fmt::format("reshape to [{}] is not a flatten of {} features per sample",
                          fmt::join(shape, ", "), features));
    flatten(i);
  }

  // A Quant on an activation: the result precision of the layer that produced the value.
  void quant_activation(size_t i) {
    const auto [type, spec] = quant_type(i);
    size_t k = m_.layers.size();
    while (k > 0 && (m_.layers[k - 1].kind == LayerKind::Flatten ||
                     m_.layers[k - 1].kind == LayerKind::Dropout))
      --k;
    if (k == 0 && !quant_input_) {
      m_.input_precision = type;
      quant_input_ = true;
      quant_fields_["\ninput"] = spec;
      fresh_kernel_ = false;
      return;
    }
    if (k > 0 && !quant_result_layers_.count(k - 1)) {
      m_.layers[k - 1].precision.result = type;
      quant_result_layers_.insert(k - 1);
      quant_fields_[m_.layers[k - 1].name + "\nresult"] = spec;
      fresh_kernel_ = false;
      return;
    }
    // The value is already quantized: a second quantizer is a linear activation.
    Layer l;
    l.kind = LayerKind::Activation;
    l.activation = ActivationKind::Linear;
    l.precision.result = type;
    Layer& added = push_layer(i, std::move(l));
    quant_result_layers_.insert(m_.layers.size() - 1);
    quant_fields_[added.name + "\nresult"] = spec;
  }

  void walk() {
    std::string cur = input_name_;
    while (true) {
      auto it = consumers_.find(cur);
      const size_t n_consumers = it == consumers_.end() ? 0 : it->second.size();
      if (cur == output_name_) {
        if (n_consumers > 0)
          fail_file(
              fmt::format("the graph output '{}' is also consumed by other nodes "
                          "(unsupported branch)",
                          cur));
        break;
      }
      if (n_consumers != 1) {
        const std::string producer = producer_of(cur);
        if (n_consumers == 0)
          fail_file(fmt::format("{}: output '{}' is not used and is not the graph output", producer,
                                cur));
        std::vector<std::string> names;
        for (size_t c : it->second) names.push_back(where(c));
        fail_file(fmt::format("{}: unsupported branch: output '{}' feeds {} nodes ({})", producer,
                              cur, n_consumers, fmt::join(names, ", ")));
      }
      const size_t i = it->second[0];
      used_.insert(i);
      const OnnxNode& n = g_.nodes[i];
      if (n.outputs.empty() || n.outputs[0].empty()) fail(i, "has no output");
      const std::string& op = n.op_type;
      if (op != "Add" && n.inputs[0] != cur)
        fail(i, fmt::format("the activation '{}' must be its first input", cur));
      if (op != "Add")
        for (size_t k = 1; k < n.inputs.size(); ++k)
          if (n.inputs[k] == cur) fail(i, fmt::format("uses '{}' twice (unsupported)", cur));
      check_attributes(i);
      if (!n.domain.empty()) {
        quant_activation(i);
      } else if (op == "Gemm") {
        gemm(i);
      } else if (op == "MatMul") {
        matmul(i);
      } else if (op == "Add") {
        add(i, cur);
      } else if (op == "Conv") {
        conv(i);
      } else if (op == "MaxPool" || op == "AveragePool") {
        pool(i, op == "MaxPool");
      } else if (op == "BatchNormalization") {
        batchnorm(i);
      } else if (const auto act = elementwise_activation(op)) {
        activation(i, *act);
      } else if (op == "Softmax") {
        softmax(i);
      } else if (op == "Transpose") {
        transpose(i);
      } else if (op == "Flatten") {
        flatten_node(i);
      } else if (op == "Reshape") {
        reshape(i);
      } else if (op == "Identity") {
      } else if (op == "Dropout") {
        require_inference_mode(i);
        require_only_first_output(i);
      } else {
        fail(i, "unsupported op type");
      }
      cur = n.outputs[0];
    }
  }

  std::string producer_of(const std::string& value) const {
    if (value == input_name_) return fmt::format("graph input '{}'", value);
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      for (const auto& o : g_.nodes[i].outputs)
        if (o == value) return where(i);
    return fmt::format("value '{}'", value);
  }

  // ---- metadata written by save_onnx ---------------------------------------------------
  // A precision recorded in the metadata is used for a field when the Quant node that set
  // the field is exactly the node hwprune writes for it, or when no Quant node can carry the
  // field (accumulators, BatchNorm scale/shift, softmax, ...). See docs/onnx.md.
  Precision resolve(const Precision& current, const std::string& key, bool expressible,
                    const Precision& meta) const {
    if (!meta) return current;
    auto it = quant_fields_.find(key);
    if (it != quant_fields_.end()) {
      const auto spec = quant_spec(*meta);
      return spec && *spec == it->second ? meta : current;
    }
    if (!expressible || !quant_spec(*meta)) return meta;
    return current;
  }

  Precision meta_precision(const nlohmann::json& j, const char* key) const {
    if (!j.is_object() || !j.contains(key)) return std::nullopt;
    try {
      return parse_precision(j.at(key).get<std::string>());
    } catch (const std::exception& e) {
      fail_file(
          fmt::format("metadata '{}': bad precision for '{}': {}", kMetadataKey, key, e.what()));
    }
  }

  void apply_metadata() {
    auto it = g_.metadata.find(kMetadataKey);
    if (it == g_.metadata.end()) return;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(it->second);
    } catch (const std::exception&) {
      fail_file(fmt::format("metadata '{}' is not valid JSON", kMetadataKey));
    }
    if (!j.is_object()) return;
    m_.input_precision =
        resolve(m_.input_precision, "\ninput", true, meta_precision(j, "input_precision"));
    if (!j.contains("layers") || !j.at("layers").is_object()) return;
    for (Layer& l : m_.layers) {
      if (!j.at("layers").contains(l.name)) continue;
      const auto& lj = j.at("layers").at(l.name);
      if (!lj.is_object() || lj.value("type", "") != to_string(l.kind)) continue;
      const bool kernel = l.has_kernel();
      const bool acts = l.kind == LayerKind::Activation && l.activation != ActivationKind::Softmax;
      const bool result = kernel || acts || l.kind == LayerKind::BatchNorm || l.is_pool();
      auto& p = l.precision;
      p.weight = resolve(p.weight, l.name + "\nweight", kernel, meta_precision(lj, "weight"));
      p.bias = resolve(p.bias, l.name + "\nbias", kernel && l.use_bias, meta_precision(lj, "bias"));
      p.accum = resolve(p.accum, l.name + "\naccum", false, meta_precision(lj, "accum"));
      p.result = resolve(p.result, l.name + "\nresult", result, meta_precision(lj, "result"));
      if (l.kind == LayerKind::BatchNorm) {  // double values behind the float32 attributes
        for (auto [key, field] : {std::pair{"epsilon", &l.epsilon}, {"momentum", &l.momentum}})
          if (lj.contains(key) && lj.at(key).is_number() &&
              static_cast<float>(lj.at(key).get<double>()) == static_cast<float>(*field))
            *field = lj.at(key).get<double>();
      }
      if (l.kind == LayerKind::Activation && l.activation == ActivationKind::ReLU &&
          lj.value("activation", "") == "quantized_relu" && p.result)
        l.activation = ActivationKind::QuantizedReLU;
    }
  }

  void finish() {
    if (!flat_perm_.empty())
      fail_file(
          fmt::format("the graph output '{}' is a channels-first tensor flattened in "
                      "channels-first order, which the channels-last IR cannot give",
                      output_name_));
    if (m_.layers.empty()) fail_file("the graph has no layers hwprune can represent");
    apply_metadata();
    m_.name = g_.name.empty() ? "onnx_model" : g_.name;
    m_.metadata["source"] = path_;
    m_.metadata["onnx.input"] = input_name_;
    if (!layout_is_identity()) m_.metadata["onnx.output_layout"] = "channels_first";
    try {
      m_.infer_shapes();
    } catch (const Error& e) {
      fail_file(e.what());
    }
  }
};

}  // namespace

Model load_onnx(const std::string& path) {
  return Importer(path, read_onnx_graph(path)).run();
}

}  // namespace hwprune::io
