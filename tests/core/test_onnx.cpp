// ONNX import/export: the example files, layout conversion checked against an independent
// ONNX evaluator (below, written from the ONNX operator definitions), round trips, errors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "hwprune/io/onnx.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/fs.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using io::OnnxAttribute;
using io::OnnxGraph;
using io::OnnxNode;
using io::OnnxTensor;

// ---- a small ONNX evaluator (double precision, NCHW as ONNX defines it) -----------------

struct Arr {
  Shape s;
  std::vector<double> v;
};

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}

// Numpy-style broadcasting binary op.
Arr broadcast(const Arr& a, const Arr& b, const std::function<double(double, double)>& f) {
  const size_t r = std::max(a.s.size(), b.s.size());
  Shape as(r - a.s.size(), 1), bs(r - b.s.size(), 1), out(r);
  as.insert(as.end(), a.s.begin(), a.s.end());
  bs.insert(bs.end(), b.s.begin(), b.s.end());
  for (size_t k = 0; k < r; ++k) out[k] = std::max(as[k], bs[k]);
  const auto ast = strides_of(as), bst = strides_of(bs), ost = strides_of(out);
  Arr y{out, std::vector<double>(static_cast<size_t>(numel(out)))};
  for (int64_t i = 0; i < numel(out); ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t k = 0; k < r; ++k) {
      const int64_t c = (i / ost[k]) % out[k];
      if (as[k] != 1) ia += c * ast[k];
      if (bs[k] != 1) ib += c * bst[k];
    }
    y.v[static_cast<size_t>(i)] = f(a.v[static_cast<size_t>(ia)], b.v[static_cast<size_t>(ib)]);
  }
  return y;
}

Arr transpose(const Arr& x, const std::vector<int64_t>& perm) {
  Shape out(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) out[k] = x.s[static_cast<size_t>(perm[k])];
  const auto xst = strides_of(x.s), ost = strides_of(out);
  Arr y{out, std::vector<double>(x.v.size())};
  for (int64_t i = 0; i < numel(out); ++i) {
    int64_t src = 0;
    for (size_t k = 0; k < perm.size(); ++k)
      src += ((i / ost[k]) % out[k]) * xst[static_cast<size_t>(perm[k])];
    y.v[static_cast<size_t>(i)] = x.v[static_cast<size_t>(src)];
  }
  return y;
}

int64_t iattr(const OnnxNode& n, const char* key, int64_t d) {
  const auto* a = n.attribute(key);
  return a ? a->i : d;
}
double fattr(const OnnxNode& n, const char* key, double d) {
  const auto* a = n.attribute(key);
  return a ? a->f : d;
}
std::vector<int64_t> iattrs(const OnnxNode& n, const char* key, std::vector<int64_t> d) {
  const auto* a = n.attribute(key);
  return a ? a->ints : d;
}

// Conv / pooling on (1, C, H, W) or (1, C, L) (treated as H = 1).
Arr window_op(const OnnxNode& n, const Arr& x, const Arr* w, const Arr* b) {
  const bool one_d = x.s.size() == 3;
  const int64_t c = x.s[1], h = one_d ? 1 : x.s[2], wd = x.s.back();
  std::vector<int64_t> ks = w ? Shape(w->s.begin() + 2, w->s.end()) : iattrs(n, "kernel_shape", {});
  auto st = iattrs(n, "strides", std::vector<int64_t>(ks.size(), 1));
  auto pads = iattrs(n, "pads", std::vector<int64_t>(2 * ks.size(), 0));
  const auto* auto_pad = n.attribute("auto_pad");
  if (auto_pad && auto_pad->s == "SAME_UPPER") {  // output ceil(in / s), extra pad at the end
    const size_t sr = ks.size();
    for (size_t d = 0; d < sr; ++d) {
      const int64_t in = x.s[2 + d], out = (in + st[d] - 1) / st[d];
      const int64_t total = std::max<int64_t>((out - 1) * st[d] + ks[d] - in, 0);
      pads[d] = total / 2;
      pads[d + sr] = total - total / 2;
    }
  }
  if (one_d) {
    ks.insert(ks.begin(), 1);
    st.insert(st.begin(), 1);
    pads = {0, pads[0], 0, pads[1]};
  }
  const int64_t oh = (h + pads[0] + pads[2] - ks[0]) / st[0] + 1;
  const int64_t ow = (wd + pads[1] + pads[3] - ks[1]) / st[1] + 1;
  const int64_t f = w ? w->s[0] : c;
  Arr y{one_d ? Shape{1, f, ow} : Shape{1, f, oh, ow},
        std::vector<double>(static_cast<size_t>(f * oh * ow))};
  const bool is_max = n.op_type == "MaxPool";
  for (int64_t fo = 0; fo < f; ++fo)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = is_max ? -INFINITY : 0.0;
        int64_t count = 0;
        for (int64_t ci = 0; ci < (w ? c : 1); ++ci)
          for (int64_t p = 0; p < ks[0]; ++p)
            for (int64_t q = 0; q < ks[1]; ++q) {
              const int64_t yy = i * st[0] - pads[0] + p, xx = j * st[1] - pads[1] + q;
              if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
              const int64_t ch = w ? ci : fo;
              const double v = x.v[static_cast<size_t>((ch * h + yy) * wd + xx)];
              if (w)
                acc += v * w->v[static_cast<size_t>(((fo * c + ci) * ks[0] + p) * ks[1] + q)];
              else if (is_max)
                acc = std::max(acc, v);
              else
                acc += v;
              ++count;
            }
        if (n.op_type == "AveragePool") acc /= static_cast<double>(count);
        if (b) acc += b->v[static_cast<size_t>(fo)];
        y.v[static_cast<size_t>((fo * oh + i) * ow + j)] = acc;
      }
  return y;
}

double qonnx_round(double v, const std::string& mode) {
  if (mode == "ROUND") return std::nearbyint(v);  // ties to even (default FE mode)
  if (mode == "FLOOR") return std::floor(v);
  if (mode == "DOWN" || mode == "ROUND_TO_ZERO") return std::trunc(v);
  if (mode == "HALF_UP") return std::copysign(std::floor(std::fabs(v) + 0.5), v);
  if (mode == "HALF_DOWN") return std::copysign(std::ceil(std::fabs(v) - 0.5), v);
  ADD_FAILURE() << "rounding mode " << mode;
  return v;
}

// Runs a graph on one input (batch included) and returns the graph output.
Arr evaluate(const OnnxGraph& g, const Arr& input) {
  std::map<std::string, Arr> vals;
  for (const auto& [name, t] : g.initializers) vals[name] = Arr{t.dims, t.values};
  for (const auto& in : g.inputs)
    if (!g.initializers.count(in.name)) vals[in.name] = input;
  for (const OnnxNode& n : g.nodes) {
    auto in = [&](size_t k) -> const Arr& { return vals.at(n.inputs.at(k)); };
    const std::string& op = n.op_type;
    Arr y;
    if (op == "Constant") {
      y = Arr{n.attribute("value")->tensor.dims, n.attribute("value")->tensor.values};
    } else if (op == "Identity" || op == "Dropout") {
      y = in(0);
    } else if (op == "Relu") {
      y = in(0);
      for (double& v : y.v) v = std::max(v, 0.0);
    } else if (op == "Add") {
      y = broadcast(in(0), in(1), [](double a, double b) { return a + b; });
    } else if (op == "MatMul" || op == "Gemm") {
      const Arr& a = in(0);
      Arr b = in(1);
      if (iattr(n, "transB", 0)) b = transpose(b, {1, 0});
      const int64_t m = a.s[0], k = a.s[1], nn = b.s[1];
      y = Arr{{m, nn}, std::vector<double>(static_cast<size_t>(m * nn))};
      const double alpha = fattr(n, "alpha", 1.0);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < nn; ++j) {
          double acc = 0;
          for (int64_t q = 0; q < k; ++q)
            acc += a.v[static_cast<size_t>(i * k + q)] * b.v[static_cast<size_t>(q * nn + j)];
          y.v[static_cast<size_t>(i * nn + j)] = alpha * acc;
        }
      if (op == "Gemm" && n.inputs.size() > 2) {
        const double beta = fattr(n, "beta", 1.0);
        y = broadcast(y, in(2), [beta](double a, double c) { return a + beta * c; });
      }
    } else if (op == "Transpose") {
      y = transpose(in(0), iattrs(n, "perm", {}));
    } else if (op == "Conv") {
      y = window_op(n, in(0), &in(1), n.inputs.size() > 2 ? &in(2) : nullptr);
    } else if (op == "MaxPool" || op == "AveragePool") {
      y = window_op(n, in(0), nullptr, nullptr);
    } else if (op == "BatchNormalization") {
      y = in(0);
      const int64_t c = y.s[1], inner = numel(y.s) / y.s[0] / c;
      const double eps = fattr(n, "epsilon", 1e-5);
      for (int64_t i = 0; i < numel(y.s); ++i) {
        const auto ch = static_cast<size_t>((i / inner) % c);
        double& v = y.v[static_cast<size_t>(i)];
        v = (v - in(3).v[ch]) / std::sqrt(in(4).v[ch] + eps) * in(1).v[ch] + in(2).v[ch];
      }
    } else if (op == "Flatten" || op == "Reshape") {
      y = in(0);
      if (op == "Flatten") {
        int64_t axis = iattr(n, "axis", 1);
        const int64_t lead = numel(Shape(y.s.begin(), y.s.begin() + axis));
        y.s = {lead, numel(y.s) / lead};
      } else {
        Shape s(in(1).v.begin(), in(1).v.end());
        for (size_t k = 0; k < s.size(); ++k)
          if (s[k] == 0) s[k] = y.s[k];
        for (auto& d : s)
          if (d == -1) d = -numel(y.s) / numel(s);
        y.s = s;
      }
    } else if (op == "Softmax") {
      y = in(0);
      const int64_t c = y.s.back();  // our graphs: softmax over the last axis
      for (int64_t r0 = 0; r0 < numel(y.s); r0 += c) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < c; ++j) mx = std::max(mx, y.v[static_cast<size_t>(r0 + j)]);
        for (int64_t j = 0; j < c; ++j) sum += std::exp(y.v[static_cast<size_t>(r0 + j)] - mx);
        for (int64_t j = 0; j < c; ++j)
          y.v[static_cast<size_t>(r0 + j)] = std::exp(y.v[static_cast<size_t>(r0 + j)] - mx) / sum;
      }
    } else if (op == "Quant") {
      y = in(0);
      const double scale = in(1).v[0];
      const int bits = static_cast<int>(in(3).v[0]);
      const bool is_signed = iattr(n, "signed", 1), narrow = iattr(n, "narrow", 0);
      const double lo = is_signed ? -std::ldexp(1.0, bits - 1) + (narrow ? 1 : 0) : 0.0;
      const double hi = is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
      const std::string mode = n.attribute("rounding_mode")->s;
      for (double& v : y.v) v = qonnx_round(std::clamp(v / scale, lo, hi), mode) * scale;
    } else {
      ADD_FAILURE() << "evaluator: op " << op;
      return {};
    }
    vals[n.outputs[0]] = y;
  }
  return vals.at(g.outputs[0].name);
}

// ---- helpers ------------------------------------------------------------------------------

Tensor random_input(const Shape& sample, int64_t n, uint32_t seed, float scale = 1.0f) {
  Shape s{n};
  s.insert(s.end(), sample.begin(), sample.end());
  Tensor t(s);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (float& v : t.data) v = u(rng);
  return t;
}

// Sample i of a batch, as an ONNX input with batch 1; channels_first moves the last IR axis
// to axis 1 (the IR is channels-last).
Arr sample_input(const Tensor& x, int64_t i, bool channels_first) {
  Shape s{1};
  s.insert(s.end(), x.shape.begin() + 1, x.shape.end());
  const int64_t per = numel(s);
  Arr a{s, std::vector<double>(x.data.begin() + i * per, x.data.begin() + (i + 1) * per)};
  if (channels_first && s.size() > 2) {
    std::vector<int64_t> perm{0, static_cast<int64_t>(s.size()) - 1};
    for (size_t k = 1; k + 1 < s.size(); ++k) perm.push_back(static_cast<int64_t>(k));
    a = transpose(a, perm);
  }
  return a;
}

// Max |evaluate(graph) - reference_forward(model)| over a batch, relative to max(1, |ref|).
double max_error(const std::string& file, const Model& m, const Tensor& x, bool channels_first,
                 bool quantize = false) {
  const OnnxGraph g = io::read_onnx_graph(file);
  const Tensor ref = reference_forward(m, x, quantize);
  const int64_t per = ref.numel() / ref.dim(0);
  double worst = 0;
  for (int64_t i = 0; i < x.dim(0); ++i) {
    const Arr y = evaluate(g, sample_input(x, i, channels_first));
    EXPECT_EQ(static_cast<int64_t>(y.v.size()), per);
    for (int64_t j = 0; j < per && j < static_cast<int64_t>(y.v.size()); ++j) {
      const double r = ref.data[static_cast<size_t>(i * per + j)];
      worst =
          std::max(worst, std::fabs(y.v[static_cast<size_t>(j)] - r) / std::max(1.0, std::fabs(r)));
    }
  }
  return worst;
}

std::string example(const std::string& name) {
  const std::string dir = test::shared_dir();
  return dir.empty() ? "" : dir + "/example-models/onnx/" + name;
}

#define REQUIRE_EXAMPLE(var, name)       \
  const std::string var = example(name); \
  if (var.empty()) GTEST_SKIP() << "../shared not found (set HWPRUNE_SHARED_DIR) for " << name

// Graph-building helpers for hand-made ONNX files.
OnnxTensor tensor(Shape dims, std::vector<double> v, io::OnnxType type = io::OnnxType::Float) {
  return OnnxTensor{std::move(dims), std::move(v), type};
}
OnnxTensor random_tensor(Shape dims, std::mt19937& rng, double scale = 0.5) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(static_cast<size_t>(numel(dims)));
  for (double& x : v) x = static_cast<float>(u(rng));  // float32-exact
  return tensor(std::move(dims), std::move(v));
}
OnnxNode& add_node(OnnxGraph& g, const std::string& op, const std::string& name,
                   std::vector<std::string> inputs, const std::string& output) {
  OnnxNode n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.outputs = {output};
  g.nodes.push_back(std::move(n));
  return g.nodes.back();
}
OnnxGraph new_graph(const std::string& input, Shape input_dims, int64_t opset = 13) {
  OnnxGraph g;
  g.opsets[""] = opset;
  g.name = "handmade";
  g.inputs.push_back({input, 1, true, std::move(input_dims)});
  return g;
}
void set_output(OnnxGraph& g, const std::string& name, Shape dims) {
  g.outputs.push_back({name, 1, true, std::move(dims)});
}

// A PyTorch-style channels-first CNN: NCHW input, Conv (same) - Relu - MaxPool - Conv
// (stride 2, valid) - BatchNorm - Flatten (NCHW order) - Gemm (transB) - Softmax.
OnnxGraph channels_first_cnn(std::mt19937& rng) {
  OnnxGraph g = new_graph("x", {-1, 3, 9, 9});
  g.initializers["w1"] = random_tensor({4, 3, 3, 3}, rng);
  g.initializers["b1"] = random_tensor({4}, rng);
  g.initializers["w2"] = random_tensor({5, 4, 2, 2}, rng);
  g.initializers["gamma"] = random_tensor({5}, rng);
  g.initializers["beta"] = random_tensor({5}, rng);
  g.initializers["mean"] = random_tensor({5}, rng);
  OnnxTensor var = random_tensor({5}, rng);
  for (double& v : var.values) v = std::fabs(v) + 0.5;
  g.initializers["var"] = var;
  g.initializers["fc_w"] = random_tensor({6, 5 * 2 * 2}, rng);  // (out, in): transB = 1
  g.initializers["fc_b"] = random_tensor({6}, rng);
  auto& c1 = add_node(g, "Conv", "/conv1/Conv", {"x", "w1", "b1"}, "c1");
  c1.attributes["pads"] = OnnxAttribute::of_ints({1, 1, 1, 1});
  c1.attributes["kernel_shape"] = OnnxAttribute::of_ints({3, 3});
  add_node(g, "Relu", "/relu/Relu", {"c1"}, "r1");
  auto& p = add_node(g, "MaxPool", "/pool/MaxPool", {"r1"}, "p1");
  p.attributes["kernel_shape"] = OnnxAttribute::of_ints({2, 2});
  p.attributes["strides"] = OnnxAttribute::of_ints({2, 2});
  auto& c2 = add_node(g, "Conv", "/conv2/Conv", {"p1", "w2"}, "c2");
  c2.attributes["strides"] = OnnxAttribute::of_ints({2, 2});
  add_node(g, "BatchNormalization", "/bn/BatchNormalization",
           {"c2", "gamma", "beta", "mean", "var"}, "bn");
  add_node(g, "Flatten", "/Flatten", {"bn"}, "flat");
  add_node(g, "Gemm", "/fc/Gemm", {"flat", "fc_w", "fc_b"}, "logits").attributes["transB"] =
      OnnxAttribute::of_int(1);
  add_node(g, "Softmax", "/Softmax", {"logits"}, "probs");
  set_output(g, "probs", {-1, 6});
  return g;
}

void randomize_batchnorms(Model& m, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (Layer& l : m.layers)
    if (l.kind == LayerKind::BatchNorm)
      for (auto& [key, t] : l.weights)
        for (float& v : t.data) v = key == "moving_variance" ? 0.5f + std::fabs(u(rng)) : u(rng);
}

void add_masks(Model& m, uint32_t seed) {
  std::mt19937 rng(seed);
  for (Layer& l : m.layers)
    if (l.has_kernel()) {
      l.mask = Tensor(l.weight("kernel").shape);
      for (float& v : l.mask.data) v = (rng() % 3 == 0) ? 0.0f : 1.0f;
    }
}

void expect_same_structure(const Model& a, const Model& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  EXPECT_EQ(a.input_shape, b.input_shape);
  EXPECT_EQ(a.input_precision, b.input_precision);
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const Layer &x = a.layers[i], &y = b.layers[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind) << x.name;
    EXPECT_EQ(x.activation, y.activation) << x.name;
    EXPECT_EQ(x.output_shape, y.output_shape) << x.name;
    EXPECT_EQ(x.precision, y.precision)
        << x.name << ": " << precision_str(x.precision.weight) << " / "
        << precision_str(y.precision.weight) << ", " << precision_str(x.precision.result) << " / "
        << precision_str(y.precision.result);
    EXPECT_EQ(x.epsilon, y.epsilon) << x.name;
  }
}

// save_onnx, the ONNX checker, load_onnx; the structure must come back.
Model checked_round_trip(const Model& m, const std::string& file) {
  io::save_onnx(m, file);
  io::check_onnx(file);
  Model back = io::load_onnx(file);
  expect_same_structure(test::as_exported(m), back);
  return back;
}

// ---- example files ---------------------------------------------------------------------

TEST(OnnxExamples, ThreeLayerJetTagger) {
  REQUIRE_EXAMPLE(file, "three_layer_keras.onnx");
  io::check_onnx(file);
  const Model m = io::load_onnx(file);
  EXPECT_EQ(m.input_shape, Shape({16}));
  const std::vector<std::pair<LayerKind, int64_t>> want = {
      {LayerKind::Dense, 64},     {LayerKind::Activation, 0}, {LayerKind::Dense, 32},
      {LayerKind::Activation, 0}, {LayerKind::Dense, 32},     {LayerKind::Activation, 0},
      {LayerKind::Dense, 5},      {LayerKind::Activation, 0}};
  ASSERT_EQ(m.layers.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(m.layers[i].kind, want[i].first) << i;
    if (want[i].first == LayerKind::Dense) {
      EXPECT_EQ(m.layers[i].units, want[i].second);
      EXPECT_TRUE(m.layers[i].use_bias);  // MatMul + Add folded
    } else {
      EXPECT_EQ(m.layers[i].activation, i == 7 ? ActivationKind::Softmax : ActivationKind::ReLU);
    }
  }
  EXPECT_EQ(m.layers[0].name, "_class__keras_layers_core_Dense__");
  EXPECT_EQ(m.metadata.at("onnx.input"), "input_1_0");
  EXPECT_EQ(m.metadata.at("source"), file);
  EXPECT_EQ(m.output_shape(), Shape({5}));
  EXPECT_FALSE(m.is_quantized());
  EXPECT_LT(max_error(file, m, random_input({16}, 16, 1, 2.0f), false), 1e-5);
}

TEST(OnnxExamples, Conv2dSmallKerasLayout) {
  REQUIRE_EXAMPLE(file, "conv2d_small_keras.onnx");
  io::check_onnx(file);
  const Model m = io::load_onnx(file);
  // NHWC input -> Transpose -> Conv (NCHW, pads 1 = same) -> Relu -> Transpose back ->
  // Flatten (axis 0, batch 1) -> Gemm -> Softmax.
  EXPECT_EQ(m.input_shape, Shape({8, 8, 1}));
  ASSERT_EQ(m.layers.size(), 5u);
  EXPECT_EQ(m.layers[0].kind, LayerKind::Conv2D);
  EXPECT_EQ(m.layers[0].padding, Padding::Same);
  EXPECT_EQ(m.layers[0].weight("kernel").shape, Shape({3, 3, 1, 2}));
  EXPECT_EQ(m.layers[0].output_shape, Shape({8, 8, 2}));
  EXPECT_EQ(m.layers[1].activation, ActivationKind::ReLU);
  EXPECT_EQ(m.layers[2].kind, LayerKind::Flatten);
  EXPECT_EQ(m.layers[2].output_shape, Shape({128}));
  EXPECT_EQ(m.layers[3].kind, LayerKind::Dense);
  EXPECT_EQ(m.layers[3].name, "gemm_6");  // unnamed node: op + index
  EXPECT_EQ(m.layers[4].activation, ActivationKind::Softmax);
  EXPECT_EQ(m.output_shape(), Shape({10}));
  EXPECT_EQ(m.metadata.count("onnx.output_layout"), 0u);
  EXPECT_LT(max_error(file, m, random_input({8, 8, 1}, 8, 2), false), 1e-5);
}

TEST(OnnxExamples, TwoLayerWithSigmoid) {
  REQUIRE_EXAMPLE(file, "two_layer_keras.onnx");
  const Model m = io::load_onnx(file);  // numpy checks its outputs: test_activations.cpp
  ASSERT_EQ(m.layers.size(), 4u);
  EXPECT_EQ(m.layers[3].activation, ActivationKind::Sigmoid);
  EXPECT_EQ(m.output_shape(), Shape({1}));
}

TEST(OnnxExamples, PythonOnnxAgreesOnWeights) {
  REQUIRE_EXAMPLE(file, "three_layer_keras.onnx");
  if (test::run_command("/usr/bin/python3 -c 'import onnx'").exit_code != 0)
    GTEST_SKIP() << "python3-onnx not installed";
  // An independent protobuf decoding: the first kernel row and the last bias.
  const auto r = test::run_command(
      "/usr/bin/python3 -c \"import onnx, onnx.numpy_helper as h; m = onnx.load('" + file +
      "'); t = {i.name: h.to_array(i) for i in m.graph.initializer}; "
      "print(repr(float(t['W'][0, 0])), repr(float(t['W'][0, 63])), repr(float(t['B3'][4])))\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Model m = io::load_onnx(file);
  const auto& k = m.layers[0].weight("kernel").data;
  const auto& b = m.layers[6].weight("bias").data;
  std::istringstream in(r.output);
  double k0, k63, b4;
  in >> k0 >> k63 >> b4;
  EXPECT_EQ(static_cast<float>(k0), k[0]);
  EXPECT_EQ(static_cast<float>(k63), k[63]);
  EXPECT_EQ(static_cast<float>(b4), b[4]);
}

// ---- channels-first graphs --------------------------------------------------------------

TEST(OnnxImport, ChannelsFirstCnnBecomesChannelsLast) {
  test::ScratchDir dir;
  std::mt19937 rng(7);
  const std::string file = dir.file("cf.onnx");
  io::write_onnx_graph(channels_first_cnn(rng), file);
  io::check_onnx(file);
  const Model m = io::load_onnx(file);
  EXPECT_EQ(m.input_shape, Shape({9, 9, 3}));
  ASSERT_EQ(m.layers.size(), 8u);
  EXPECT_EQ(m.layers[0].name, "conv1_Conv");
  EXPECT_EQ(m.layers[0].padding, Padding::Same);
  EXPECT_EQ(m.layers[3].kind, LayerKind::Conv2D);
  EXPECT_EQ(m.layers[3].output_shape, Shape({2, 2, 5}));
  EXPECT_FALSE(m.layers[3].use_bias);
  EXPECT_EQ(m.layers[4].kind, LayerKind::BatchNorm);
  EXPECT_EQ(m.layers[6].weight("kernel").shape, Shape({20, 6}));
  // Identical outputs for channels-last IR input vs the same data channels-first in ONNX:
  // proves the kernel transposition and the Dense row permutation after the NCHW Flatten.
  EXPECT_LT(max_error(file, m, random_input({9, 9, 3}, 6, 3), true), 1e-5);
}

TEST(OnnxImport, ChannelsFirstConv1dWithReshapeAndMatMulAdd) {
  test::ScratchDir dir;
  std::mt19937 rng(11);
  OnnxGraph g = new_graph("seq", {1, 2, 10});
  g.initializers["w"] = random_tensor({3, 2, 4}, rng);
  g.initializers["b"] = random_tensor({1, 3, 1}, rng);  // bias as a broadcast Add
  g.initializers["fc"] = random_tensor({3 * 5, 2}, rng);
  g.initializers["fc_b"] = random_tensor({2}, rng);
  g.initializers["shape"] = tensor({2}, {0, -1}, io::OnnxType::Int64);
  auto& c = add_node(g, "Conv", "conv", {"seq", "w"}, "c");
  c.attributes["strides"] = OnnxAttribute::of_ints({2});
  c.attributes["auto_pad"] = OnnxAttribute::of_string("SAME_UPPER");
  add_node(g, "Add", "conv_bias", {"c", "b"}, "cb");
  add_node(g, "Relu", "relu", {"cb"}, "r");
  auto& pool = add_node(g, "AveragePool", "avg", {"r"}, "a");
  pool.attributes["kernel_shape"] = OnnxAttribute::of_ints({2});
  pool.attributes["strides"] = OnnxAttribute::of_ints({1});
  pool.attributes["pads"] = OnnxAttribute::of_ints({0, 1});  // Keras 'same' for L = 5, k = 2, s = 1
  add_node(g, "Reshape", "reshape", {"a", "shape"}, "flat");
  add_node(g, "MatMul", "fc", {"flat", "fc"}, "mm");
  add_node(g, "Add", "fc_add", {"fc_b", "mm"}, "out");
  set_output(g, "out", {1, 2});
  const std::string file = dir.file("c1.onnx");
  io::write_onnx_graph(g, file);
  io::check_onnx(file);
  const Model m = io::load_onnx(file);
  EXPECT_EQ(m.input_shape, Shape({10, 2}));
  ASSERT_EQ(m.layers.size(), 5u);
  EXPECT_EQ(m.layers[0].kind, LayerKind::Conv1D);
  EXPECT_TRUE(m.layers[0].use_bias);
  EXPECT_EQ(m.layers[0].output_shape, Shape({5, 3}));
  EXPECT_EQ(m.layers[2].kind, LayerKind::AvgPool1D);
  EXPECT_EQ(m.layers[2].padding, Padding::Same);
  EXPECT_TRUE(m.layers[4].use_bias);
  EXPECT_LT(max_error(file, m, random_input({10, 2}, 5, 4), true), 1e-5);
}

TEST(OnnxImport, QuantNodesGivePrecisions) {
  test::ScratchDir dir;
  std::mt19937 rng(5);
  OnnxGraph g = new_graph("x", {-1, 4});
  g.opsets["qonnx.custom_op.general"] = 1;
  g.initializers["w"] = random_tensor({4, 3}, rng);
  g.initializers["b"] = random_tensor({3}, rng);
  g.initializers["s_w"] = tensor({}, {0.125});  // 2^-3
  g.initializers["s_a"] = tensor({1}, {0.25});  // 2^-2
  g.initializers["z"] = tensor({}, {0});
  g.initializers["b6"] = tensor({}, {6});
  g.initializers["b8"] = tensor({}, {8});
  auto quant = [&](const std::string& name, std::vector<std::string> in, const std::string& out,
                   int sgn, int narrow, const std::string& mode) {
    auto& n = add_node(g, "Quant", name, std::move(in), out);
    n.domain = "qonnx.custom_op.general";
    n.attributes["signed"] = OnnxAttribute::of_int(sgn);
    n.attributes["narrow"] = OnnxAttribute::of_int(narrow);
    n.attributes["rounding_mode"] = OnnxAttribute::of_string(mode);
  };
  quant("qin", {"x", "s_a", "z", "b8"}, "xq", 1, 0, "FLOOR");
  quant("qw", {"w", "s_w", "z", "b6"}, "wq", 1, 1, "ROUND");
  quant("qb", {"b", "s_a", "z", "b8"}, "bq", 1, 0, "ROUND_TO_ZERO");
  add_node(g, "Gemm", "fc", {"xq", "wq", "bq"}, "y");
  add_node(g, "Relu", "relu", {"y"}, "r");
  quant("qr", {"r", "s_a", "z", "b6"}, "rq", 0, 0, "HALF_UP");
  quant("qr2", {"rq", "s_w", "z", "b8"}, "out", 1, 0, "ROUND");
  set_output(g, "out", {-1, 3});
  const std::string file = dir.file("q.onnx");
  io::write_onnx_graph(g, file);
  io::check_onnx(file);
  const Model m = io::load_onnx(file);
  EXPECT_EQ(precision_str(m.input_precision), "ap_fixed<8,6,AP_TRN,AP_SAT>");
  ASSERT_EQ(m.layers.size(), 3u);
  EXPECT_EQ(precision_str(m.layers[0].precision.weight), "ap_fixed<6,3,AP_RND_CONV,AP_SAT_SYM>");
  EXPECT_EQ(precision_str(m.layers[0].precision.bias), "ap_fixed<8,6,AP_TRN_ZERO,AP_SAT>");
  EXPECT_FALSE(m.layers[0].precision.result);
  EXPECT_EQ(precision_str(m.layers[1].precision.result), "ap_ufixed<6,4,AP_RND_INF,AP_SAT>");
  // A second Quant on an already quantized value becomes a linear activation.
  EXPECT_EQ(m.layers[2].name, "qr2");
  EXPECT_EQ(m.layers[2].activation, ActivationKind::Linear);
  EXPECT_EQ(precision_str(m.layers[2].precision.result), "ap_fixed<8,5,AP_RND_CONV,AP_SAT>");
  // The quantized reference computes what the QONNX graph computes.
  EXPECT_LT(max_error(file, m, random_input({4}, 32, 9, 4.0f), false, true), 1e-6);
}

// ---- round trips ---------------------------------------------------------------------------

struct RoundTrip {
  std::string builtin;
  std::string precision;
  bool masks;
};

void PrintTo(const RoundTrip& r, std::ostream* os) {
  *os << r.builtin << " " << r.precision << (r.masks ? " masked" : "");
}

class OnnxRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(OnnxRoundTrip, SameOutputsAndPrecisions) {
  const RoundTrip& p = GetParam();
  Model m = make_builtin_model(p.builtin, 5, 3);
  randomize_batchnorms(m, 4);
  if (p.masks) add_masks(m, 5);
  m.set_precision(parse_precision(p.precision));
  test::ScratchDir dir;
  const std::string file = dir.file("m.onnx");
  const Model back = checked_round_trip(m, file);
  const Tensor x = random_input(m.input_shape, 3, 6, 2.0f);
  EXPECT_EQ(reference_forward(m, x, true), reference_forward(back, x, true));
  // The file's float model has the quantized weights (and folded BatchNorms).
  EXPECT_EQ(reference_forward(test::as_exported(m), x, false), reference_forward(back, x, false));
  // Independently evaluated, the file computes the float model (channels-last input).
  if (!m.is_quantized()) {
    EXPECT_LT(max_error(file, m, x, false), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Builtins, OnnxRoundTrip,
    ::testing::Values(RoundTrip{"jet-mlp", "ap_fixed<16,6>", true},
                      RoundTrip{"fmnist-cnn", "ap_fixed<16,6>", true},
                      RoundTrip{"svhn-cnn", "ap_fixed<16,6>", true},
                      RoundTrip{"svhn-cnn", "float", false}, RoundTrip{"fmnist-cnn", "float", true},
                      RoundTrip{"jet-mlp", "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>", true},
                      RoundTrip{"fmnist-cnn", "ap_ufixed<9,4,AP_RND_ZERO,AP_SAT>", false}),
    [](const auto& info) {
      std::string s = info.param.builtin + "_" + std::to_string(info.index);
      std::replace(s.begin(), s.end(), '-', '_');
      return s;
    });

TEST(OnnxExport, ExactQuantNodesComputeTheQuantizedModel) {
  // Saturating types with QONNX rounding: the Quant nodes compute what hwprune computes.
  Model m = make_builtin_model("fmnist-cnn", 4, 8);
  add_masks(m, 2);
  m.set_precision(parse_precision("ap_fixed<18,8,AP_RND_CONV,AP_SAT>"));
  test::ScratchDir dir;
  const std::string file = dir.file("q.onnx");
  io::save_onnx(m, file);
  const OnnxGraph g = io::read_onnx_graph(file);
  EXPECT_EQ(g.opsets.at("qonnx.custom_op.general"), 1);
  EXPECT_EQ(g.ir_version, 7);
  int quants = 0;
  for (const auto& n : g.nodes) quants += n.op_type == "Quant";
  // input + 2 conv x (w, b, result) + 2 relu + 2 pool + dense (w, b, result)
  EXPECT_EQ(quants, 1 + 6 + 2 + 2 + 3);
  // Pruned weights are exact zeros in the file.
  const auto& k = m.layers[0].weight("kernel");
  const auto& w = g.initializers.at("conv1_kernel").values;  // (F, C, KH, KW)
  for (int64_t i = 0; i < k.numel(); ++i) {
    const int64_t f = i % 16, y = i / 48, xk = (i / 16) % 3;
    if (m.layers[0].mask.data[static_cast<size_t>(i)] == 0.0f) {
      EXPECT_EQ(w[static_cast<size_t>(f * 9 + y * 3 + xk)], 0.0);
    }
  }
  const Tensor x = random_input(m.input_shape, 2, 3, 1.0f);
  // Float accumulation order differs (double here): allow one result step.
  EXPECT_LT(max_error(file, m, x, false, true), 1.0 / 1024);
}

TEST(OnnxExport, Conv1dPoolingAndStandaloneBatchNormRoundTrip) {
  Model m;
  m.name = "seq";
  m.input_shape = {12, 3};
  auto layer = [&](LayerKind kind, const std::string& name) -> Layer& {
    m.layers.emplace_back();
    m.layers.back().kind = kind;
    m.layers.back().name = name;
    return m.layers.back();
  };
  layer(LayerKind::BatchNorm, "bn_in");
  Layer& c = layer(LayerKind::Conv1D, "conv");
  c.filters = 4;
  c.kernel_size = {3};
  c.strides = {2};
  c.padding = Padding::Same;
  Layer& a = layer(LayerKind::AvgPool1D, "avg");
  a.pool_size = {2};
  a.strides = {1};
  a.padding = Padding::Same;
  layer(LayerKind::Activation, "lin").activation = ActivationKind::Linear;
  layer(LayerKind::Flatten, "flat");
  layer(LayerKind::Dense, "out").units = 3;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Shape shape = m.input_shape;
  for (Layer& l : m.layers) {  // allocate weights layer by layer
    if (l.kind == LayerKind::BatchNorm)
      for (const char* key : {"gamma", "beta", "moving_mean", "moving_variance"})
        l.weights[key] = Tensor({shape.back()}, 1.0f);
    if (l.kind == LayerKind::Conv1D) {
      l.weights["kernel"] = Tensor({3, shape.back(), 4});
      l.weights["bias"] = Tensor({4});
    }
    if (l.kind == LayerKind::Dense) {
      l.weights["kernel"] = Tensor({shape_numel(shape), 3});
      l.weights["bias"] = Tensor({3});
    }
    for (auto& [key, t] : l.weights)
      for (float& v : t.data) v = key == "moving_variance" ? 0.5f + std::fabs(u(rng)) : u(rng);
    Model one;
    one.input_shape = shape;
    one.layers = {l};
    one.infer_shapes();
    shape = one.layers[0].output_shape;
  }
  m.set_precision(parse_precision("ap_fixed<14,5,AP_RND_CONV,AP_SAT>"));
  m.layers[3].precision.result = parse_precision("ap_fixed<10,3,AP_TRN,AP_SAT>");
  test::ScratchDir dir;
  const std::string file = dir.file("seq.onnx");
  io::save_onnx(m, file, {.opset = 9});
  io::check_onnx(file);
  const Model back = io::load_onnx(file);
  m.infer_shapes();
  expect_same_structure(test::as_exported(m), back);
  EXPECT_EQ(back.layers[1].padding, Padding::Same);
  const Tensor x = random_input(m.input_shape, 4, 8, 2.0f);
  EXPECT_EQ(reference_forward(m, x, true), reference_forward(back, x, true));
  EXPECT_EQ(reference_forward(test::as_exported(m), x, false), reference_forward(back, x, false));
  Model as_float = m;
  as_float.set_precision(std::nullopt);
  io::save_onnx(as_float, file);
  EXPECT_LT(max_error(file, as_float, x, false), 1e-5);
}

TEST(OnnxExport, PythonOnnxFullCheckAcceptsExport) {
  if (test::run_command("/usr/bin/python3 -c 'import onnx'").exit_code != 0)
    GTEST_SKIP() << "python3-onnx not installed";
  Model m = make_builtin_model("svhn-cnn", 4, 1);
  m.set_precision(parse_precision("ap_fixed<12,4,AP_RND_CONV,AP_SAT>"));
  test::ScratchDir dir;
  const std::string file = dir.file("svhn.onnx");
  io::save_onnx(m, file, {.opset = 17});
  const auto r = test::run_command(
      "/usr/bin/python3 -c \"import onnx; m = onnx.load('" + file +
      "'); onnx.checker.check_model(m, full_check=True); "
      "print(sorted((o.domain, o.version) for o in m.opset_import), m.ir_version)\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "[('', 17), ('qonnx.custom_op.general', 1)] 8\n");
}

TEST(OnnxExport, InexactTypesRoundTripThroughMetadata) {
  // AP_RND has no QONNX rounding mode and AP_WRAP no QONNX overflow; 1-bit signed is
  // bipolar in QONNX. The file still re-imports to the same precisions and quantized outputs.
  Model m = make_builtin_model("jet-mlp", 3, 1);
  m.set_precision(parse_precision("ap_fixed<10,4,AP_RND,AP_WRAP>"));
  m.layers[1].activation = ActivationKind::QuantizedReLU;
  m.layers[2].precision.accum = parse_precision("ap_fixed<24,12>");
  m.layers[3].precision.result = parse_precision("ap_fixed<1,1>");
  test::ScratchDir dir;
  const std::string file = dir.file("m.onnx");
  const Model back = checked_round_trip(m, file);
  const Tensor x = random_input(m.input_shape, 4, 2, 3.0f);
  EXPECT_EQ(reference_forward(m, x, true), reference_forward(back, x, true));
}

TEST(OnnxExport, WithoutQuantNodesIsAFloatModel) {
  Model m = make_builtin_model("fmnist-cnn", 3, 1);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  test::ScratchDir dir;
  const std::string file = dir.file("f.onnx");
  io::save_onnx(m, file, {.quant_nodes = false, .opset = 11});
  io::check_onnx(file);
  const OnnxGraph g = io::read_onnx_graph(file);
  EXPECT_EQ(g.opsets.size(), 1u);
  EXPECT_EQ(g.opsets.at(""), 11);
  EXPECT_EQ(g.ir_version, 6);
  const Model back = io::load_onnx(file);
  EXPECT_FALSE(back.is_quantized());
  const Tensor x = random_input(m.input_shape, 2, 5);
  EXPECT_EQ(reference_forward(m, x, false), reference_forward(back, x, false));
}

// ---- errors --------------------------------------------------------------------------------

// A small valid graph (input -> MatMul -> Relu -> Gemm) to break in various ways.
OnnxGraph small_mlp() {
  std::mt19937 rng(1);
  OnnxGraph g = new_graph("x", {-1, 4});
  g.initializers["w"] = random_tensor({4, 3}, rng);
  g.initializers["w2"] = random_tensor({3, 2}, rng);
  add_node(g, "MatMul", "fc1", {"x", "w"}, "h");
  add_node(g, "Relu", "act", {"h"}, "r");
  add_node(g, "Gemm", "fc2", {"r", "w2"}, "y");
  set_output(g, "y", {-1, 2});
  return g;
}

std::string load_error(const test::ScratchDir& dir, const OnnxGraph& g) {
  const std::string file = dir.file("bad.onnx");
  io::write_onnx_graph(g, file);
  return test::error_of([&] { io::load_onnx(file); });
}

TEST(OnnxErrors, NotAProtobuf) {
  test::ScratchDir dir;
  const std::string file = dir.write("junk.onnx", "this is not an ONNX file\n");
  EXPECT_EQ(test::error_of([&] { io::load_onnx(file); }),
            file + ": not an ONNX model (protobuf parsing failed)");
  const std::string empty = dir.write("empty.onnx", "");
  EXPECT_NE(test::error_of([&] { io::load_onnx(empty); }).find("not an ONNX model"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { io::check_onnx(file); }).find(file + ": not an ONNX model"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { io::load_onnx(dir.file("missing.onnx")); }).find("missing.onnx"),
            std::string::npos);
}

TEST(OnnxErrors, SmallGraphLoads) {
  test::ScratchDir dir;
  const std::string file = dir.file("ok.onnx");
  io::write_onnx_graph(small_mlp(), file);
  const Model m = io::load_onnx(file);
  ASSERT_EQ(m.layers.size(), 3u);
  EXPECT_FALSE(m.layers[0].use_bias);
  EXPECT_LT(max_error(file, m, random_input({4}, 4, 1), false), 1e-6);
}

TEST(OnnxErrors, UnsupportedOp) {
  test::ScratchDir dir;
  OnnxGraph g = small_mlp();
  g.nodes[1].op_type = "Softplus";
  const std::string msg = load_error(dir, g);
  EXPECT_EQ(msg, dir.file("bad.onnx") + ": node 'act' (Softplus): unsupported op type");
}

TEST(OnnxErrors, Dilations) {
  test::ScratchDir dir;
  std::mt19937 rng(2);
  OnnxGraph g = channels_first_cnn(rng);
  g.nodes[0].attributes["dilations"] = OnnxAttribute::of_ints({2, 2});
  EXPECT_EQ(load_error(dir, g),
            dir.file("bad.onnx") +
                ": node '/conv1/Conv' (Conv): attribute 'dilations' = [2, 2] is not supported "
                "(only 1)");
  g.nodes[0].attributes.erase("dilations");
  g.nodes[0].attributes["pads"] = OnnxAttribute::of_ints({1, 0, 1, 0});
  EXPECT_NE(load_error(dir, g).find("node '/conv1/Conv' (Conv): attribute 'pads' = [1, 0, 1, 0] "
                                    "is neither 0 nor Keras 'same'"),
            std::string::npos);
  g.nodes[0].attributes.erase("pads");
  g.nodes[0].attributes["group"] = OnnxAttribute::of_int(3);
  EXPECT_NE(load_error(dir, g).find("(Conv): attribute 'group' = 3"), std::string::npos);
}

TEST(OnnxErrors, Branch) {
  test::ScratchDir dir;
  OnnxGraph g = small_mlp();
  add_node(g, "Relu", "side", {"h"}, "side_out");
  EXPECT_EQ(load_error(dir, g), dir.file("bad.onnx") +
                                    ": node 'fc1' (MatMul): unsupported branch: output 'h' feeds "
                                    "2 nodes (node 'act' (Relu), node 'side' (Relu))");
}

TEST(OnnxErrors, QuantScaleNotPowerOfTwo) {
  test::ScratchDir dir;
  OnnxGraph g = small_mlp();
  g.opsets["qonnx.custom_op.general"] = 1;
  g.initializers["s"] = tensor({}, {0.3});
  g.initializers["z"] = tensor({}, {0});
  g.initializers["b"] = tensor({}, {8});
  OnnxNode& q = add_node(g, "Quant", "wq", {"w", "s", "z", "b"}, "w_q");
  q.domain = "qonnx.custom_op.general";
  g.nodes[0].inputs[1] = "w_q";
  EXPECT_NE(load_error(dir, g).find(
                ": node 'wq' (Quant): scale 0.3 is not a power of two: not representable"),
            std::string::npos)
      << load_error(dir, g);
  g.initializers["s"] = tensor({2}, {0.25, 0.5});
  EXPECT_NE(load_error(dir, g).find("node 'wq' (Quant): scale 's' has 2 values"),
            std::string::npos);
  g.initializers["s"] = tensor({}, {0.25});
  g.initializers["z"] = tensor({}, {1});
  EXPECT_NE(load_error(dir, g).find("node 'wq' (Quant): zero point 1 is not 0"), std::string::npos);
}

TEST(OnnxErrors, OtherShapesOfGraph) {
  test::ScratchDir dir;
  OnnxGraph g = small_mlp();
  g.opsets[""] = 5;
  g.ir_version = 3;
  EXPECT_NE(load_error(dir, g).find("ai.onnx opset 5 is not supported (6..17)"), std::string::npos);
  g = small_mlp();
  g.nodes.erase(g.nodes.begin() + 1);  // 'r' is never produced
  g.nodes[1].inputs[0] = "other";
  EXPECT_NE(load_error(dir, g).find("node 'fc1' (MatMul): output 'h' is not used"),
            std::string::npos);
  g = small_mlp();
  g.nodes[1].op_type = "Add";
  g.nodes[1].inputs.push_back("w2");
  EXPECT_NE(load_error(dir, g).find("node 'act' (Add): addend of shape (3, 2) is not"),
            std::string::npos);
}

TEST(OnnxErrors, FailedSaveKeepsExistingFile) {
  test::ScratchDir dir;
  const std::string file = dir.write("keep.onnx", "previous contents");
  Model m = make_builtin_model("jet-mlp", 2, 1);
  m.layers[1].activation = ActivationKind::QuantizedReLU;  // needs a result precision
  const std::string msg = test::error_of([&] { io::save_onnx(m, file); });
  EXPECT_NE(msg.find(file + ": cannot export model 'jet-mlp'"), std::string::npos) << msg;
  Model ok = make_builtin_model("jet-mlp", 2, 1);
  EXPECT_NE(test::error_of([&] { io::save_onnx(ok, file, {.opset = 8}); }).find("opset 8"),
            std::string::npos);
  EXPECT_EQ(read_file(file), "previous contents");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(OnnxErrors, CheckerRejectsBrokenGraph) {
  test::ScratchDir dir;
  OnnxGraph g = small_mlp();
  g.nodes[2].inputs[1] = "nowhere";
  const std::string file = dir.file("broken.onnx");
  io::write_onnx_graph(g, file);
  const std::string msg = test::error_of([&] { io::check_onnx(file); });
  EXPECT_NE(msg.find(file + ": ONNX check failed: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("nowhere"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hwprune
