// The sigmoid, tanh, hard_sigmoid, leaky_relu, elu and selu activations through Keras and
// ONNX import (with ONNX opsets 6-8), the C++ reference and the native model file. The ONNX
// numbers are checked against an independent numpy evaluator (tests/core/onnx_reference.py,
// python3-onnx) where python3-onnx is installed.
#include <cmath>
#include <filesystem>
#include <random>
#include <tuple>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/keras.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/onnx.hpp"
#include "hwprune/ir/model.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using io::OnnxAttribute;
using io::OnnxGraph;
using io::OnnxNode;
using io::OnnxTensor;
using nlohmann::json;
using test::error_of;
using test::random_tensor;
using test::ScratchDir;
using ::testing::HasSubstr;

// ---- Keras ---------------------------------------------------------------------------------

json keras_layer(const std::string& cls, const std::string& name, json cfg = json::object()) {
  cfg["name"] = name;
  return {{"class_name", cls}, {"config", cfg}};
}

json keras_dense(const std::string& name, int units, const std::string& activation) {
  return keras_layer("Dense", name, {{"units", units}, {"activation", activation}});
}

// Sequential: input 4 -> fc1 (5, `inline_activation`) -> `middle` -> fc2 (3, linear).
json keras_model(const std::string& inline_activation, const json& middle,
                 const std::string& keras_version = "2.4.0") {
  json layers = json::array(
      {keras_layer("InputLayer", "in", {{"batch_input_shape", json::array({nullptr, 4})}}),
       keras_dense("fc1", 5, inline_activation)});
  if (!middle.is_null()) layers.push_back(middle);
  layers.push_back(keras_dense("fc2", 3, "linear"));
  return {{"class_name", "Sequential"},
          {"config", {{"name", "acts"}, {"layers", layers}}},
          {"keras_version", keras_version}};
}

// A weights file with Dense fc1 (4 -> 5) and fc2 (5 -> 3).
std::string keras_weights(const ScratchDir& dir) {
  Model m;
  m.name = "w";
  m.input_shape = {4};
  Layer fc1 = test::make_layer("fc1", LayerKind::Dense), fc2 = fc1;
  fc1.units = 5;
  fc2.name = "fc2";
  fc2.units = 3;
  m.layers = {fc1, fc2};
  m.layers[0].weights = {{"kernel", random_tensor({4, 5}, 1)}, {"bias", random_tensor({5}, 2)}};
  m.layers[1].weights = {{"kernel", random_tensor({5, 3}, 3)}, {"bias", random_tensor({3}, 4)}};
  m.infer_shapes();
  io::save_keras(m, dir.file("w.json"), dir.file("w.h5"));
  return dir.file("w.h5");
}

Model load_keras_json(const ScratchDir& dir, const json& arch) {
  return io::load_keras(dir.write("arch.json", arch.dump()), dir.file("w.h5"));
}

struct KerasCase {
  std::string activation;  // Keras name
  ActivationKind kind;
  double alpha, beta;
};

class KerasActivation : public ::testing::TestWithParam<KerasCase> {};

TEST_P(KerasActivation, InlineAndAsALayer) {
  const KerasCase& c = GetParam();
  ScratchDir dir;
  keras_weights(dir);
  // Inline in a Dense: a separate Activation layer named as hls4ml names it.
  Model m = load_keras_json(dir, keras_model(c.activation, nullptr));
  ASSERT_EQ(m.layers.size(), 3u);
  const Layer& a = m.layers[1];
  EXPECT_EQ(a.name, "fc1_" + c.activation);
  EXPECT_EQ(a.kind, LayerKind::Activation);
  EXPECT_EQ(a.activation, c.kind);
  EXPECT_EQ(a.alpha, c.alpha);
  EXPECT_EQ(a.beta, c.beta);
  // As an Activation layer, keeping its Keras name.
  m = load_keras_json(
      dir, keras_model("linear", keras_layer("Activation", "act", {{"activation", c.activation}})));
  ASSERT_EQ(m.layers.size(), 3u);
  EXPECT_EQ(m.layers[1].name, "act");
  EXPECT_EQ(m.layers[1].activation, c.kind);
  EXPECT_EQ(m.layers[1].alpha, c.alpha);
  EXPECT_EQ(m.layers[1].beta, c.beta);
  // The reference computes fc2(f(fc1(x))).
  const Tensor x = random_tensor({6, 4}, 9, -3.0f, 3.0f);
  const Tensor y = reference_forward(m, x, false);
  const Tensor &k1 = m.layers[0].weight("kernel"), &b1 = m.layers[0].weight("bias");
  const Tensor &k2 = m.layers[2].weight("kernel"), &b2 = m.layers[2].weight("bias");
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t o = 0; o < 3; ++o) {
      double out = b2.data[static_cast<size_t>(o)];
      for (int64_t h = 0; h < 5; ++h) {
        double z = b1.data[static_cast<size_t>(h)];
        for (int64_t i = 0; i < 4; ++i)
          z += x.data[static_cast<size_t>(n * 4 + i)] * k1.data[static_cast<size_t>(i * 5 + h)];
        out += apply_activation(m.layers[1], z) * k2.data[static_cast<size_t>(h * 3 + o)];
      }
      EXPECT_NEAR(y.data[static_cast<size_t>(n * 3 + o)], out, 1e-5);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Names, KerasActivation,
    ::testing::Values(KerasCase{"sigmoid", ActivationKind::Sigmoid, 0, 0},
                      KerasCase{"tanh", ActivationKind::Tanh, 0, 0},
                      KerasCase{"hard_sigmoid", ActivationKind::HardSigmoid, 0.2, 0.5},
                      KerasCase{"elu", ActivationKind::ELU, 1.0, 0},
                      KerasCase{"selu", ActivationKind::SELU, 0, 0},
                      // keras.activations.leaky_relu: negative_slope 0.2
                      KerasCase{"leaky_relu", ActivationKind::LeakyReLU, 0.2, 0}),
    [](const auto& info) { return info.param.activation; });

TEST(KerasActivationLayers, LeakyReluEluAndReluWithASlope) {
  ScratchDir dir;
  keras_weights(dir);
  struct Case {
    json layer;
    ActivationKind kind;
    double alpha;
  };
  const std::vector<Case> cases = {
      {keras_layer("LeakyReLU", "lr", {{"alpha", 0.1}}), ActivationKind::LeakyReLU, 0.1},
      {keras_layer("LeakyReLU", "lr", {{"negative_slope", 0.05}}), ActivationKind::LeakyReLU,
       0.05},  // Keras 3
      {keras_layer("LeakyReLU", "lr"), ActivationKind::LeakyReLU, 0.3},
      {keras_layer("ELU", "elu", {{"alpha", 0.7}}), ActivationKind::ELU, 0.7},
      {keras_layer("ELU", "elu"), ActivationKind::ELU, 1.0},
      {keras_layer("ReLU", "r", {{"negative_slope", 0.25}, {"threshold", 0.0}}),
       ActivationKind::LeakyReLU, 0.25},
      {keras_layer("ReLU", "r", {{"negative_slope", 0.0}}), ActivationKind::ReLU, 0.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.layer.dump());
    const Model m = load_keras_json(dir, keras_model("linear", c.layer));
    ASSERT_EQ(m.layers.size(), 3u);
    EXPECT_EQ(m.layers[1].name, c.layer["config"]["name"].get<std::string>());
    EXPECT_EQ(m.layers[1].activation, c.kind);
    EXPECT_EQ(m.layers[1].alpha, c.alpha);
  }
}

TEST(KerasActivationLayers, Keras3HardSigmoidIsReluSixBased) {
  ScratchDir dir;
  keras_weights(dir);
  const Model m = load_keras_json(dir, keras_model("hard_sigmoid", nullptr, "3.1.0"));
  EXPECT_EQ(m.layers[1].activation, ActivationKind::HardSigmoid);
  EXPECT_DOUBLE_EQ(m.layers[1].alpha, 1.0 / 6.0);
  EXPECT_EQ(m.layers[1].beta, 0.5);
}

TEST(KerasActivationLayers, Errors) {
  ScratchDir dir;
  keras_weights(dir);
  const std::string file = dir.file("arch.json");
  const auto err = [&](const json& arch) { return error_of([&] { load_keras_json(dir, arch); }); };
  EXPECT_EQ(err(keras_model("swish", nullptr)),
            file +
                ": layer 'fc1': activation: unsupported activation 'swish' (supported: linear, "
                "relu, softmax, sigmoid, tanh, hard_sigmoid, leaky_relu, elu, selu)");
  EXPECT_THAT(err(keras_model("linear", keras_layer("Activation", "a", {{"activation", "gelu"}}))),
              HasSubstr(file + ": layer 'a': activation: unsupported activation 'gelu'"));
  EXPECT_EQ(err(keras_model("linear", keras_layer("LeakyReLU", "lr",
                                                  {{"alpha", 0.1}, {"negative_slope", 0.2}}))),
            file + ": layer 'lr': LeakyReLU alpha=0.1 and negative_slope=0.2 disagree");
  EXPECT_EQ(err(keras_model("linear", keras_layer("ELU", "e", {{"alpha", "big"}}))),
            file + ": layer 'e': \"alpha\" must be a number, got \"big\"");
  EXPECT_EQ(err(keras_model("linear", keras_layer("ReLU", "r", {{"threshold", 0.5}}))),
            file + ": layer 'r': ReLU threshold=0.5 is not supported");
  EXPECT_THAT(err(keras_model("linear", keras_layer("QActivation", "q",
                                                    {{"activation", "quantized_tanh(4)"}}))),
              HasSubstr("layer 'q': activation: unsupported quantizer 'quantized_tanh'"));
}

// ---- the reference and the model file ------------------------------------------------------

// input 3 -> Dense 4 -> activation -> Dense 2.
Model act_model(ActivationKind kind, double alpha, double beta) {
  Model m;
  m.name = "act";
  m.input_shape = {3};
  Layer d1 = test::make_layer("d1", LayerKind::Dense);
  d1.units = 4;
  d1.weights = {{"kernel", random_tensor({3, 4}, 11, -1.5f, 1.5f)},
                {"bias", random_tensor({4}, 12)}};
  Layer a = test::make_layer("act", LayerKind::Activation);
  a.activation = kind;
  a.alpha = alpha;
  a.beta = beta;
  Layer d2 = test::make_layer("d2", LayerKind::Dense);
  d2.units = 2;
  d2.weights = {{"kernel", random_tensor({4, 2}, 13)}, {"bias", random_tensor({2}, 14)}};
  m.layers = {d1, a, d2};
  m.infer_shapes();
  return m;
}

const std::vector<std::tuple<ActivationKind, double, double>> kKinds = {
    {ActivationKind::Sigmoid, 0, 0},
    {ActivationKind::Tanh, 0, 0},
    {ActivationKind::HardSigmoid, 0.25, 0.4},
    {ActivationKind::LeakyReLU, 0.1, 0},
    {ActivationKind::ELU, 0.5, 0},
    {ActivationKind::SELU, 0, 0}};

TEST(ActivationReference, QuantizesTheActivationToTheResultPrecision) {
  for (const auto& [kind, alpha, beta] : kKinds) {
    SCOPED_TRACE(to_string(kind));
    Model m = act_model(kind, alpha, beta);
    m.set_precision(parse_precision("ap_fixed<10,3,AP_RND,AP_SAT>"));
    m.layers[1].precision.result = parse_precision("ap_fixed<8,2>");  // AP_TRN, AP_WRAP
    // Stop after the activation: the activation's outputs, quantized.
    Model head = m;
    head.layers.pop_back();
    head.infer_shapes();
    Model dense = head;
    dense.layers.pop_back();
    dense.infer_shapes();
    const Tensor x = random_tensor({50, 3}, 21, -3.0f, 3.0f);
    const Tensor z = reference_forward(dense, x, true);
    const Tensor y = reference_forward(head, x, true);
    ASSERT_EQ(y.shape, z.shape);
    const FixedType& t = *m.layers[1].precision.result;
    for (size_t i = 0; i < y.data.size(); ++i) {
      const double want = t.quantize(static_cast<double>(activation_value(m.layers[1], z.data[i])));
      EXPECT_EQ(y.data[i], static_cast<float>(want)) << "z = " << z.data[i];
    }
    // Float: no quantization anywhere.
    const Tensor zf = reference_forward(dense, x, false), yf = reference_forward(head, x, false);
    for (size_t i = 0; i < yf.data.size(); ++i)
      EXPECT_EQ(yf.data[i], activation_value(m.layers[1], zf.data[i]));
  }
}

TEST(ActivationReference, ParametersRoundTripThroughTheModelFile) {
  ScratchDir dir;
  for (const auto& [kind, alpha, beta] : kKinds) {
    SCOPED_TRACE(to_string(kind));
    const Model m = act_model(kind, alpha, beta);
    io::save_model(dir.file("m.hwp"), m);
    const Model back = io::load_model(dir.file("m.hwp"));
    EXPECT_EQ(back.layers[1].activation, kind);
    EXPECT_EQ(back.layers[1].alpha, alpha);
    EXPECT_EQ(back.layers[1].beta, beta);
    const Tensor x = random_tensor({8, 3}, 5, -2.0f, 2.0f);
    EXPECT_EQ(reference_forward(m, x, false), reference_forward(back, x, false));
  }
}

// ---- ONNX: hand-built graphs ---------------------------------------------------------------

OnnxTensor onnx_tensor(Shape dims, std::vector<double> v) {
  return OnnxTensor{std::move(dims), std::move(v), io::OnnxType::Float};
}

// x (N, 3) -> MatMul w (3, 4) -> <op> -> y, at `opset`.
OnnxGraph act_graph(const std::string& op, int64_t opset = 13) {
  OnnxGraph g;
  g.opsets[""] = opset;
  if (opset <= 8) g.ir_version = 3;
  g.name = "acts";
  g.inputs.push_back({"x", 1, true, {-1, 3}});
  g.initializers["w"] =
      onnx_tensor({3, 4}, {0.5, -1.25, 2.0, -0.75, 1.5, 0.25, -2.5, 1.0, -0.5, 3.0, 0.75, -1.75});
  OnnxNode mm;
  mm.op_type = "MatMul";
  mm.name = "fc";
  mm.inputs = {"x", "w"};
  mm.outputs = {"h"};
  OnnxNode a;
  a.op_type = op;
  a.name = "act";
  a.inputs = {"h"};
  a.outputs = {"y"};
  g.nodes = {mm, a};
  g.outputs.push_back({"y", 1, true, {-1, 4}});
  return g;
}

Model load_graph(const ScratchDir& dir, const OnnxGraph& g) {
  const std::string file = dir.file("g.onnx");
  io::write_onnx_graph(g, file);
  return io::load_onnx(file);
}

std::string graph_error(const ScratchDir& dir, const OnnxGraph& g) {
  const std::string file = dir.file("g.onnx");
  io::write_onnx_graph(g, file);
  return error_of([&] { io::load_onnx(file); });
}

struct OnnxCase {
  std::string op;
  std::map<std::string, double> attrs;
  ActivationKind kind;
  double alpha, beta;  // what the IR layer must hold
};

class OnnxActivation : public ::testing::TestWithParam<OnnxCase> {};

TEST_P(OnnxActivation, ImportsKindParametersAndValues) {
  const OnnxCase& c = GetParam();
  ScratchDir dir;
  for (int64_t opset : {6, 13}) {
    SCOPED_TRACE(opset);
    OnnxGraph g = act_graph(c.op, opset);
    for (const auto& [k, v] : c.attrs) g.nodes[1].attributes[k] = OnnxAttribute::of_float(v);
    const Model m = load_graph(dir, g);
    ASSERT_EQ(m.layers.size(), 2u);
    const Layer& a = m.layers[1];
    EXPECT_EQ(a.name, "act");
    EXPECT_EQ(a.activation, c.kind);
    EXPECT_EQ(a.alpha, c.alpha);
    EXPECT_EQ(a.beta, c.beta);
    // y = f(x W), with f as the ONNX operator defines it.
    const Tensor x = random_tensor({5, 3}, 31, -2.0f, 2.0f);
    const Tensor y = reference_forward(m, x, false);
    const auto& w = g.initializers.at("w").values;
    for (int64_t n = 0; n < 5; ++n)
      for (int64_t o = 0; o < 4; ++o) {
        double h = 0;
        for (int64_t i = 0; i < 3; ++i)
          h += static_cast<double>(x.data[static_cast<size_t>(n * 3 + i)]) *
               w[static_cast<size_t>(i * 4 + o)];
        const auto at = [&](const char* k, double d) {
          return c.attrs.count(k) ? static_cast<double>(static_cast<float>(c.attrs.at(k))) : d;
        };
        double want = 0;
        if (c.op == "Sigmoid") want = 1 / (1 + std::exp(-h));
        if (c.op == "Tanh") want = std::tanh(h);
        if (c.op == "HardSigmoid")
          want = std::clamp(at("alpha", 0.2) * h + at("beta", 0.5), 0., 1.);
        if (c.op == "LeakyRelu") want = h >= 0 ? h : at("alpha", 0.01) * h;
        if (c.op == "Elu") want = h >= 0 ? h : at("alpha", 1.0) * std::expm1(h);
        if (c.op == "Selu")
          want = 1.0507009873554805 * (h >= 0 ? h : 1.6732632423543772 * std::expm1(h));
        EXPECT_NEAR(y.data[static_cast<size_t>(n * 4 + o)], want, 1e-5) << c.op << " at " << h;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, OnnxActivation,
    ::testing::Values(
        OnnxCase{"Sigmoid", {}, ActivationKind::Sigmoid, 0, 0},
        OnnxCase{"Tanh", {}, ActivationKind::Tanh, 0, 0},
        OnnxCase{"HardSigmoid", {}, ActivationKind::HardSigmoid, 0.2, 0.5},
        OnnxCase{
            "HardSigmoid", {{"alpha", 0.3}, {"beta", 0.6}}, ActivationKind::HardSigmoid, 0.3, 0.6},
        OnnxCase{"LeakyRelu", {}, ActivationKind::LeakyReLU, 0.01, 0},
        OnnxCase{"LeakyRelu", {{"alpha", 0.2}}, ActivationKind::LeakyReLU, 0.2, 0},
        OnnxCase{"Elu", {}, ActivationKind::ELU, 1.0, 0},
        OnnxCase{"Elu", {{"alpha", 0.5}}, ActivationKind::ELU, 0.5, 0},
        OnnxCase{"Selu", {}, ActivationKind::SELU, 0, 0},
        // the standard constants written as float32 attributes
        OnnxCase{"Selu",
                 {{"alpha", 1.6732632423543772}, {"gamma", 1.0507009873554805}},
                 ActivationKind::SELU,
                 0,
                 0}),
    [](const auto& info) {
      return info.param.op + (info.param.attrs.empty() ? "Defaults" : "WithAttributes");
    });

TEST(OnnxActivationErrors, BadAttributes) {
  ScratchDir dir;
  const std::string file = dir.file("g.onnx");
  OnnxGraph g = act_graph("Selu");
  g.nodes[1].attributes["alpha"] = OnnxAttribute::of_float(2.0);
  EXPECT_EQ(graph_error(dir, g),
            file +
                ": node 'act' (Selu): attribute 'alpha' = 2 is not the standard SELU constant "
                "1.6732632423543772 (only the standard SELU is supported)");
  g = act_graph("Selu");
  g.nodes[1].attributes["gamma"] = OnnxAttribute::of_float(1.0);
  EXPECT_THAT(graph_error(dir, g), HasSubstr("node 'act' (Selu): attribute 'gamma' = 1 is not"));
  g = act_graph("LeakyRelu");
  g.nodes[1].attributes["alpha"] = OnnxAttribute::of_int(1);
  EXPECT_EQ(graph_error(dir, g),
            file + ": node 'act' (LeakyRelu): attribute 'alpha' has the wrong type");
  g = act_graph("Elu");
  g.nodes[1].attributes["beta"] = OnnxAttribute::of_float(1.0);
  EXPECT_EQ(graph_error(dir, g), file + ": node 'act' (Elu): attribute 'beta' is not supported");
  g = act_graph("HardSigmoid");
  g.nodes[1].attributes["alpha"] = OnnxAttribute::of_float(INFINITY);
  EXPECT_EQ(graph_error(dir, g),
            file + ": node 'act' (HardSigmoid): attribute 'alpha' = inf is not finite");
  g = act_graph("Sigmoid");
  g.nodes[1].attributes["alpha"] = OnnxAttribute::of_float(1.0);
  EXPECT_EQ(graph_error(dir, g),
            file + ": node 'act' (Sigmoid): attribute 'alpha' is not supported");
}

// x (N, 3) -> fc: MatMul + Add b (4) -> act at `opset`, Add attributes as given.
OnnxGraph bias_graph(int64_t opset) {
  OnnxGraph g = act_graph("Relu", opset);
  g.initializers["b"] = onnx_tensor({4}, {0.1, -0.2, 0.3, -0.4});
  OnnxNode add;
  add.op_type = "Add";
  add.name = "bias";
  add.inputs = {"h", "b"};
  add.outputs = {"hb"};
  g.nodes[1].inputs = {"hb"};
  g.nodes.insert(g.nodes.begin() + 1, add);
  return g;
}

TEST(OnnxOldOpsets, AttributesThatChangedMeaning) {
  ScratchDir dir;
  const std::string file = dir.file("g.onnx");
  // Add at opset 6 needs broadcast = 1 for a bias; later opsets do not define it.
  OnnxGraph g = bias_graph(6);
  EXPECT_EQ(graph_error(dir, g), file +
                                     ": node 'bias' (Add): attribute 'broadcast' = 0 needs an "
                                     "addend of the input's shape (-1, 4), not (4,)");
  g.nodes[1].attributes["broadcast"] = OnnxAttribute::of_int(1);
  const Model m = load_graph(dir, g);
  EXPECT_EQ(m.layers[0].weight("bias").data, (std::vector<float>{0.1f, -0.2f, 0.3f, -0.4f}));
  g.nodes[1].attributes["axis"] = OnnxAttribute::of_int(0);
  EXPECT_EQ(graph_error(dir, g), file +
                                     ": node 'bias' (Add): addend of shape (4,) does not match "
                                     "the input's shape (-1, 4) from axis 0");
  g = bias_graph(7);
  g.nodes[1].attributes["broadcast"] = OnnxAttribute::of_int(1);
  EXPECT_EQ(graph_error(dir, g), file +
                                     ": node 'bias' (Add): attribute 'broadcast' is not defined "
                                     "at opset 7 (only up to opset 6)");
  // Gemm at opset 6 without broadcast: C must have the output's shape.
  g = act_graph("Relu", 6);
  g.nodes[0].op_type = "Gemm";
  g.nodes[0].inputs.push_back("c");
  g.initializers["c"] = onnx_tensor({4}, {1, 2, 3, 4});
  EXPECT_EQ(graph_error(dir, g), file +
                                     ": node 'fc' (Gemm): attribute 'broadcast' = 0 needs C of "
                                     "the output's shape (-1, 4), not (4,)");
  // BatchNormalization / Dropout at opset 6: is_test defaults to 0 (training).
  g = act_graph("Dropout", 6);
  EXPECT_EQ(graph_error(dir, g), file +
                                     ": node 'act' (Dropout): attribute 'is_test' = 0 (training "
                                     "mode) is not supported; inference needs is_test = 1");
  g.nodes[1].attributes["is_test"] = OnnxAttribute::of_int(1);
  EXPECT_EQ(load_graph(dir, g).layers.size(), 1u);
  g = act_graph("BatchNormalization", 6);
  for (const char* k : {"s", "bb", "mean", "var"}) {
    g.initializers[k] = onnx_tensor({4}, {1, 1, 1, 1});
    g.nodes[1].inputs.push_back(k);
  }
  EXPECT_THAT(graph_error(dir, g),
              HasSubstr("node 'act' (BatchNormalization): attribute 'is_test' = 0 (training"));
  g.nodes[1].attributes["is_test"] = OnnxAttribute::of_int(1);
  EXPECT_EQ(load_graph(dir, g).layers[1].kind, LayerKind::BatchNorm);
  g.opsets[""] = 7;
  EXPECT_THAT(graph_error(dir, g),
              HasSubstr("attribute 'is_test' is not defined at opset 7 (only up to opset 6)"));
  g.nodes[1].attributes.erase("is_test");
  g.nodes[1].attributes["spatial"] = OnnxAttribute::of_int(0);
  EXPECT_EQ(graph_error(dir, g), file +
                                     ": node 'act' (BatchNormalization): attribute 'spatial' = 0 "
                                     "is not supported");
  g.opsets[""] = 5;
  EXPECT_EQ(graph_error(dir, g), file + ": ai.onnx opset 5 is not supported (6..17)");
}

// ---- ONNX against numpy (python3-onnx) -----------------------------------------------------

// Tests that run tests/core/onnx_reference.py with Debian's python3, python3-onnx and numpy.
class PythonOnnx : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::run_command("/usr/bin/python3 -c 'import onnx, numpy'").exit_code != 0)
      GTEST_SKIP() << "python3-onnx or python3-numpy is not installed (apt install python3-onnx)";
  }
  static std::string script() {
    return std::string(HWPRUNE_SOURCE_DIR) + "/tests/core/onnx_reference.py";
  }

  // The numpy evaluator's outputs for inputs (model file, x in ONNX layout, batch first),
  // from one python run.
  std::vector<Tensor> numpy_forward(const std::vector<std::pair<std::string, Tensor>>& runs) {
    std::string args;
    for (size_t k = 0; k < runs.size(); ++k) {
      const std::string x = dir_.write(fmt::format("x{}.npy", k), io::npy_bytes(runs[k].second));
      args +=
          fmt::format(" '{}' '{}' '{}'", runs[k].first, x, dir_.file(fmt::format("y{}.npy", k)));
    }
    const auto r = test::run_command("/usr/bin/python3 '" + script() + "' forward" + args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<Tensor> out;
    for (size_t k = 0; k < runs.size() && r.exit_code == 0; ++k) {
      const std::string y = dir_.file(fmt::format("y{}.npy", k));
      out.push_back(io::read_npy_file(y).to_tensor(y));
    }
    return out;
  }

  ScratchDir dir_;
};

// Max |a - b| (same shapes required).
double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  double worst = 0;
  for (size_t i = 0; i < std::min(a.data.size(), b.data.size()); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a.data[i]) - b.data[i]));
  return worst;
}

TEST_F(PythonOnnx, TwoLayerKerasWithSigmoidMatchesNumpy) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared not found (set HWPRUNE_SHARED_DIR)";
  const std::string file = shared + "/example-models/onnx/two_layer_keras.onnx";
  const Model m = io::load_onnx(file);
  ASSERT_EQ(m.layers.size(), 4u);
  EXPECT_EQ(m.layers[1].activation, ActivationKind::ReLU);
  EXPECT_EQ(m.layers[3].kind, LayerKind::Activation);
  EXPECT_EQ(m.layers[3].activation, ActivationKind::Sigmoid);
  EXPECT_EQ(m.output_shape(), Shape({1}));
  const Tensor x = random_tensor({64, 10}, 17, -3.0f, 3.0f);
  const std::vector<Tensor> want = numpy_forward({{file, x}});
  ASSERT_EQ(want.size(), 1u);
  EXPECT_LT(max_abs_diff(reference_forward(m, x, false), want[0]), 1e-5);
}

// (n, H, W, C) -> (n, C, H, W).
Tensor channels_first(const Tensor& x) {
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
  Tensor y({n, c, h, w});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < h; ++a)
      for (int64_t b = 0; b < w; ++b)
        for (int64_t k = 0; k < c; ++k)
          y.data[static_cast<size_t>(((i * c + k) * h + a) * w + b)] =
              x.data[static_cast<size_t>(((i * h + a) * w + b) * c + k)];
  return y;
}

TEST_F(PythonOnnx, OpsetSixToEightModelsComputeWhatTheirOpset13TwinsCompute) {
  const auto r =
      test::run_command("/usr/bin/python3 '" + script() + "' twins '" + dir_.path().string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::pair<std::string, Tensor>> runs;  // for numpy
  std::vector<Tensor> outputs;                       // what hwprune computes for them
  for (const std::string name : {"mlp", "bn", "conv", "acts"}) {
    const Model twin = io::load_onnx(dir_.file(name + "_opset13.onnx"));
    Shape shape = twin.input_shape;
    shape.insert(shape.begin(), 40);
    const Tensor x = random_tensor(shape, 23, -2.0f, 2.0f);
    const Tensor y13 = reference_forward(twin, x, false);
    for (int opset : {6, 7, 8}) {
      SCOPED_TRACE(name + " at opset " + std::to_string(opset));
      const std::string file = dir_.file(name + "_opset" + std::to_string(opset) + ".onnx");
      const Model m = io::load_onnx(file);
      ASSERT_EQ(m.layers.size(), twin.layers.size());
      for (size_t i = 0; i < m.layers.size(); ++i) {
        EXPECT_EQ(m.layers[i].kind, twin.layers[i].kind) << twin.layers[i].name;
        EXPECT_EQ(m.layers[i].activation, twin.layers[i].activation) << twin.layers[i].name;
        EXPECT_EQ(m.layers[i].alpha, twin.layers[i].alpha) << twin.layers[i].name;
        EXPECT_EQ(m.layers[i].weights, twin.layers[i].weights) << twin.layers[i].name;
      }
      EXPECT_EQ(reference_forward(m, x, false), y13);
      runs.emplace_back(file, x.shape.size() == 4 ? channels_first(x) : x);
      outputs.push_back(y13);
    }
  }
  const std::vector<Tensor> want = numpy_forward(runs);
  ASSERT_EQ(want.size(), runs.size());
  for (size_t k = 0; k < runs.size(); ++k)
    EXPECT_LT(max_abs_diff(outputs[k], want[k]), 1e-5) << runs[k].first;
}

}  // namespace
}  // namespace hwprune
