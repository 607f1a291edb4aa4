// IR -> ONNX: one node (plus Transposes and QONNX Quant nodes) per layer, keeping the IR's
// channels-last semantics at the graph boundary (see docs/onnx.md).
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "export_form.hpp"
#include "hwprune/io/onnx.hpp"
#include "hwprune/util/error.hpp"
#include "onnx_quant.hpp"

namespace hwprune::io {

namespace {

using namespace onnx_detail;
using namespace export_detail;

// Keras-'same' padding before/after of one spatial dimension.
std::pair<int64_t, int64_t> same_pads(int64_t in, int64_t out, int64_t k, int64_t s) {
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {total / 2, total - total / 2};
}

class Exporter {
 public:
  Exporter(const Model& model, const OnnxExportOptions& options) : m_(model), opt_(options) {}

  OnnxGraph run() {
    m_ = export_form(m_);
    onnx_ir_version_for_opset(opt_.opset);  // validates the opset
    g_.opsets[""] = opt_.opset;
    g_.producer_name = "hwprune";
    g_.name = m_.name;
    cur_ = unique(onnx_input_name(m_));
    OnnxValueInfo input;
    input.name = cur_;
    input.has_shape = true;
    input.dims = {-1};
    input.dims.insert(input.dims.end(), m_.input_shape.begin(), m_.input_shape.end());
    g_.inputs.push_back(input);
    dims_[cur_] = input.dims;
    rank_ = m_.input_shape.size() + 1;

    if (opt_.quant_nodes && m_.input_precision) result_quant(m_.input_precision, "input_quant");
    for (const Layer& l : m_.layers) layer(l);
    to_channels_last("output");

    OnnxValueInfo output;
    output.name = cur_;
    output.has_shape = true;
    output.dims = {-1};
    const Shape os = m_.output_shape();
    output.dims.insert(output.dims.end(), os.begin(), os.end());
    g_.outputs.push_back(output);
    // The shape of every other value, initializers included: hls4ml's ONNX front end looks
    // up each node input there (QONNX's cleanup would add them; checked by onnx too).
    for (const auto& [name, dims] : dims_) {
      if (name == input.name || name == output.name) continue;
      OnnxValueInfo v;
      v.name = name;
      v.has_shape = true;
      v.dims = dims;
      g_.value_info.push_back(std::move(v));
    }
    if (uses_quant_) g_.opsets[kQonnxDomain] = 1;
    if (opt_.quant_nodes) write_metadata();
    return std::move(g_);
  }

 private:
  Model m_;
  OnnxExportOptions opt_;
  OnnxGraph g_;
  std::set<std::string> names_;       // value names in use
  std::set<std::string> node_names_;  // node names in use
  std::string cur_;                   // the current activation
  size_t rank_ = 2;                   // its rank, batch included
  bool channels_first_ = false;       // its layout
  bool uses_quant_ = false;
  std::map<std::string, Shape> dims_;  // every value's ONNX shape, batch -1

  static std::string unique_in(std::set<std::string>& used, const std::string& base) {
    std::string name = base;
    for (int k = 2; used.count(name); ++k) name = fmt::format("{}_{}", base, k);
    used.insert(name);
    return name;
  }
  std::string unique(const std::string& base) { return unique_in(names_, base); }

  // A node whose output has shape `dims` (batch -1).
  OnnxNode& node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                 Shape dims) {
    OnnxNode n;
    n.op_type = op;
    n.name = unique_in(node_names_, name);
    n.inputs = std::move(inputs);
    n.outputs = {unique(n.name)};
    dims_[n.outputs[0]] = std::move(dims);
    g_.nodes.push_back(std::move(n));
    return g_.nodes.back();
  }
  // Appends a node on the current activation; it becomes the new current activation. Its
  // output has shape `dims`, by default the current activation's.
  OnnxNode& chain(const std::string& op, const std::string& name,
                  std::vector<std::string> extra = {}, std::optional<Shape> dims = std::nullopt) {
    extra.insert(extra.begin(), cur_);
    OnnxNode& n = node(op, name, std::move(extra), dims ? *dims : dims_.at(cur_));
    cur_ = n.outputs[0];
    return n;
  }
  // The ONNX shape of layer l's output in the current layout.
  Shape output_dims(const Layer& l) const {
    Shape d{-1};
    const Shape& os = l.output_shape;
    if (channels_first_ && os.size() > 1) {
      d.push_back(os.back());
      d.insert(d.end(), os.begin(), os.end() - 1);
    } else {
      d.insert(d.end(), os.begin(), os.end());
    }
    return d;
  }

  std::string initializer(const std::string& name, Shape dims, const std::vector<float>& values,
                          OnnxType type = OnnxType::Float) {
    OnnxTensor t;
    t.dims = std::move(dims);
    t.values.assign(values.begin(), values.end());
    t.type = type;
    const std::string n = unique(name);
    dims_[n] = t.dims;
    g_.initializers[n] = std::move(t);
    return n;
  }
  // A Quant node on value x with its own scale, zero-point and bit-width initializers
  // (hls4ml's ONNX front end removes each parameter constant once it has read it, so they
  // cannot be shared between Quant nodes).
  OnnxNode& quant_node(const std::string& x, const QuantSpec& s, const std::string& name) {
    uses_quant_ = true;
    const std::string scale = initializer(name + "_scale", {}, {std::ldexp(1.0f, -s.frac_bits)});
    const std::string zero = initializer(name + "_zeropt", {}, {0.0f});
    const std::string bits = initializer(name + "_bitwidth", {}, {static_cast<float>(s.bitwidth)});
    OnnxNode& n = node("Quant", name, {x, scale, zero, bits}, dims_.at(x));
    n.domain = kQonnxDomain;
    n.attributes["signed"] = OnnxAttribute::of_int(s.is_signed ? 1 : 0);
    n.attributes["narrow"] = OnnxAttribute::of_int(s.narrow ? 1 : 0);
    n.attributes["rounding_mode"] = OnnxAttribute::of_string(s.rounding);
    return n;
  }

  // A weight/bias initializer (values from effective_kernel/effective_bias: already on the
  // grid with Quant nodes, as the integer model quantizes them), behind a Quant node when it
  // has a precision a Quant node expresses.
  std::string weight(const std::string& name, Shape dims, const std::vector<float>& values,
                     const Precision& p) {
    const auto spec = opt_.quant_nodes && p ? quant_spec(*p) : std::nullopt;
    const std::string init = initializer(name, std::move(dims), values);
    if (!spec) return init;
    return quant_node(init, *spec, name + "_quant").outputs[0];
  }

  void result_quant(const Precision& p, const std::string& name) {
    if (!opt_.quant_nodes || !p) return;
    if (const auto spec = quant_spec(*p)) cur_ = quant_node(cur_, *spec, name).outputs[0];
  }

  // ---- layout -------------------------------------------------------------------------
  std::vector<int64_t> perm_to_channels_first() const {
    std::vector<int64_t> perm{0, static_cast<int64_t>(rank_) - 1};
    for (size_t k = 1; k + 1 < rank_; ++k) perm.push_back(static_cast<int64_t>(k));
    return perm;
  }
  std::vector<int64_t> perm_to_channels_last() const {
    std::vector<int64_t> perm{0};
    for (size_t k = 2; k < rank_; ++k) perm.push_back(static_cast<int64_t>(k));
    perm.push_back(1);
    return perm;
  }
  void transpose(const std::string& name, const std::vector<int64_t>& perm) {
    const Shape& in = dims_.at(cur_);
    Shape out;
    for (int64_t p : perm) out.push_back(in[static_cast<size_t>(p)]);
    chain("Transpose", name, {}, out).attributes["perm"] = OnnxAttribute::of_ints(perm);
  }
  void to_channels_first(const std::string& hint) {
    if (channels_first_ || rank_ <= 2) return;
    transpose(hint + "_to_channels_first", perm_to_channels_first());
    channels_first_ = true;
  }
  void to_channels_last(const std::string& hint) {
    if (!channels_first_) return;
    transpose(hint + "_to_channels_last", perm_to_channels_last());
    channels_first_ = false;
  }

  // ---- layers -------------------------------------------------------------------------
  std::vector<float> kernel(const Layer& l) const {
    return effective_kernel(l, opt_.quant_nodes).data;
  }
  std::vector<float> bias(const Layer& l) const { return effective_bias(l, opt_.quant_nodes).data; }

  // MatMul, then Add of the bias: the form QONNX's cleanup gives a Gemm and the one hls4ml's
  // ONNX front end reads (it has no Gemm).
  void dense(const Layer& l) {
    const int64_t n_in = l.input_shape[0], n_out = l.units;
    const std::string w = weight(l.name + "_kernel", {n_in, n_out}, kernel(l), l.precision.weight);
    chain("MatMul", l.name, {w}, output_dims(l));
    if (l.use_bias)
      chain("Add", l.name + "_add_bias",
            {weight(l.name + "_bias", {n_out}, bias(l), l.precision.bias)});
  }

  std::vector<int64_t> window_pads(const Layer& l, const std::vector<int64_t>& window) const {
    const size_t sr = window.size();
    std::vector<int64_t> pads(2 * sr, 0);
    if (l.padding == Padding::Valid) return pads;
    for (size_t d = 0; d < sr; ++d) {
      const auto [before, after] =
          same_pads(l.input_shape[d], l.output_shape[d], window[d], l.strides[d]);
      pads[d] = before;
      pads[d + sr] = after;
    }
    return pads;
  }

  void conv(const Layer& l) {
    to_channels_first(l.name);
    const auto& ks = l.kernel_size;
    const int64_t kh = ks.size() == 2 ? ks[0] : 1, kw = ks.back();
    const int64_t c = l.input_shape.back(), f = l.filters;
    const auto k = kernel(l);        // (KH, KW, C, F)
    std::vector<float> w(k.size());  // (F, C, KH, KW)
    for (int64_t fo = 0; fo < f; ++fo)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            w[static_cast<size_t>(((fo * c + ci) * kh + y) * kw + x)] =
                k[static_cast<size_t>(((y * kw + x) * c + ci) * f + fo)];
    Shape dims{f, c};
    dims.insert(dims.end(), ks.begin(), ks.end());
    std::vector<std::string> inputs{weight(l.name + "_kernel", dims, w, l.precision.weight)};
    if (l.use_bias) inputs.push_back(weight(l.name + "_bias", {f}, bias(l), l.precision.bias));
    OnnxNode& n = chain("Conv", l.name, inputs, output_dims(l));
    n.attributes["kernel_shape"] = OnnxAttribute::of_ints(ks);
    n.attributes["strides"] = OnnxAttribute::of_ints(l.strides);
    n.attributes["pads"] = OnnxAttribute::of_ints(window_pads(l, ks));
  }

  void pool(const Layer& l) {
    to_channels_first(l.name);
    const bool is_max = l.kind == LayerKind::MaxPool1D || l.kind == LayerKind::MaxPool2D;
    OnnxNode& n = chain(is_max ? "MaxPool" : "AveragePool", l.name, {}, output_dims(l));
    n.attributes["kernel_shape"] = OnnxAttribute::of_ints(l.pool_size);
    n.attributes["strides"] = OnnxAttribute::of_ints(l.strides);
    n.attributes["pads"] = OnnxAttribute::of_ints(window_pads(l, l.pool_size));
    if (!is_max) n.attributes["count_include_pad"] = OnnxAttribute::of_int(0);
  }

  void batchnorm(const Layer& l) {
    to_channels_first(l.name);
    const int64_t c = l.input_shape.back();
    std::vector<std::string> inputs;
    for (const char* key : {"gamma", "beta", "moving_mean", "moving_variance"})
      inputs.push_back(initializer(l.name + "_" + key, {c}, l.weight(key).data));
    OnnxNode& n = chain("BatchNormalization", l.name, inputs);
    n.attributes["epsilon"] = OnnxAttribute::of_float(l.epsilon);
    n.attributes["momentum"] = OnnxAttribute::of_float(l.momentum);
  }

  void layer(const Layer& l) {
    switch (l.kind) {
      case LayerKind::Dense:
        dense(l);
        break;
      case LayerKind::Conv1D:
      case LayerKind::Conv2D:
        conv(l);
        break;
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D:
        pool(l);
        break;
      case LayerKind::BatchNorm:
        batchnorm(l);
        break;
      case LayerKind::Activation:
        switch (l.activation) {
          case ActivationKind::ReLU:
          case ActivationKind::QuantizedReLU:
            chain("Relu", l.name);
            break;
          case ActivationKind::Softmax:
            // hwprune computes softmax in float: its result precision is metadata only.
            to_channels_last(l.name);
            chain("Softmax", l.name).attributes["axis"] =
                OnnxAttribute::of_int(static_cast<int64_t>(rank_) - 1);
            return;
          case ActivationKind::Sigmoid:
            chain("Sigmoid", l.name);
            break;
          case ActivationKind::Tanh:
            chain("Tanh", l.name);
            break;
          case ActivationKind::SELU:  // ONNX's default alpha and gamma are Keras's constants
            chain("Selu", l.name);
            break;
          case ActivationKind::HardSigmoid: {
            OnnxNode& n = chain("HardSigmoid", l.name);
            n.attributes["alpha"] = OnnxAttribute::of_float(l.alpha);
            n.attributes["beta"] = OnnxAttribute::of_float(l.beta);
            break;
          }
          case ActivationKind::LeakyReLU:
            chain("LeakyRelu", l.name).attributes["alpha"] = OnnxAttribute::of_float(l.alpha);
            break;
          case ActivationKind::ELU:
            chain("Elu", l.name).attributes["alpha"] = OnnxAttribute::of_float(l.alpha);
            break;
          case ActivationKind::Linear:
            // A linear activation is only its result quantizer (named after the layer).
            if (opt_.quant_nodes && l.precision.result && quant_spec(*l.precision.result)) {
              result_quant(l.precision.result, l.name);
              return;
            }
            chain("Identity", l.name);
            return;
        }
        break;
      case LayerKind::Flatten:
        to_channels_last(l.name);
        chain("Flatten", l.name, {}, output_dims(l)).attributes["axis"] = OnnxAttribute::of_int(1);
        rank_ = 2;
        return;
      case LayerKind::Dropout:
        return;  // nothing at inference
    }
    result_quant(l.precision.result, l.name + "_result_quant");
  }

  // What Quant nodes cannot carry: exact types (AP_WRAP, AP_RND...), accumulators,
  // BatchNorm scale/shift, unused fields, quantized_relu, BatchNorm epsilon/momentum in
  // double. Read back by load_onnx.
  void write_metadata() {
    nlohmann::json j;
    j["format"] = 1;
    if (m_.input_precision) j["input_precision"] = m_.input_precision->str();
    nlohmann::json layers = nlohmann::json::object();
    for (const Layer& l : m_.layers) {
      nlohmann::json lj{{"type", to_string(l.kind)}};
      const auto put = [&](const char* key, const Precision& p) {
        if (p) lj[key] = p->str();
      };
      put("weight", l.precision.weight);
      put("bias", l.precision.bias);
      put("accum", l.precision.accum);
      put("result", l.precision.result);
      if (l.kind == LayerKind::Activation) lj["activation"] = std::string(to_string(l.activation));
      if (l.kind == LayerKind::BatchNorm) {  // the attributes are float32, these are exact
        lj["epsilon"] = l.epsilon;
        lj["momentum"] = l.momentum;
      }
      layers[l.name] = lj;
    }
    j["layers"] = layers;
    g_.metadata[kMetadataKey] = j.dump();
  }
};

}  // namespace

void save_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options) {
  OnnxGraph g;
  try {
    g = Exporter(model, options).run();
  } catch (const Error& e) {
    throw Error(fmt::format("{}: cannot export model '{}': {}", path, model.name, e.what()));
  }
  write_onnx_graph(g, path);
}

}  // namespace hwprune::io
