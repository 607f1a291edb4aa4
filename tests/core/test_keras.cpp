// Keras 2 / QKeras import and export: the real example models, the QKeras quantizer mapping,
// round trips through save_keras / save_keras_h5, and precise errors for bad input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/io/keras.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/fs.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using io::load_keras;
using io::save_keras;
using io::save_keras_h5;
using nlohmann::json;
using test::error_of;
using test::ScratchDir;
using ::testing::HasSubstr;

std::string keras_dir() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/example-models/keras/";
}

#define REQUIRE_EXAMPLES()                                                                   \
  if (keras_dir().empty())                                                                   \
    GTEST_SKIP() << "../shared/example-models is absent (set HWPRUNE_SHARED_DIR to run the " \
                    "tests on the real Keras example models)";

std::string ex(const std::string& name) {
  return keras_dir() + name;
}

json read_json(const std::string& path) {
  return json::parse(read_file(path));
}

using test::random_tensor;

std::vector<std::string> names_of(const Model& m) {
  std::vector<std::string> out;
  for (const auto& l : m.layers) out.push_back(l.name);
  return out;
}

std::string str(const Precision& p) {
  return precision_str(p);
}

void expect_activation(const Layer& l, ActivationKind a) {
  EXPECT_EQ(l.kind, LayerKind::Activation) << l.name;
  EXPECT_EQ(l.activation, a) << l.name;
}

// Layers, shapes, parameters, weights (bit for bit) and precisions agree.
void expect_same_model(const Model& a, const Model& b) {
  ASSERT_EQ(names_of(a), names_of(b));
  EXPECT_EQ(a.input_shape, b.input_shape);
  EXPECT_EQ(a.input_precision, b.input_precision);
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const Layer& x = a.layers[i];
    const Layer& y = b.layers[i];
    SCOPED_TRACE(x.name);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.units, y.units);
    EXPECT_EQ(x.filters, y.filters);
    EXPECT_EQ(x.kernel_size, y.kernel_size);
    EXPECT_EQ(x.pool_size, y.pool_size);
    EXPECT_EQ(x.strides, y.strides);
    EXPECT_EQ(x.padding, y.padding);
    EXPECT_EQ(x.use_bias, y.use_bias);
    EXPECT_EQ(x.activation, y.activation);
    EXPECT_EQ(x.epsilon, y.epsilon);
    EXPECT_EQ(x.momentum, y.momentum);
    EXPECT_EQ(x.rate, y.rate);
    EXPECT_EQ(x.input_shape, y.input_shape);
    EXPECT_EQ(x.output_shape, y.output_shape);
    EXPECT_EQ(str(x.precision.weight), str(y.precision.weight));
    EXPECT_EQ(str(x.precision.bias), str(y.precision.bias));
    EXPECT_EQ(str(x.precision.accum), str(y.precision.accum));
    EXPECT_EQ(str(x.precision.result), str(y.precision.result));
    ASSERT_EQ(x.weights.size(), y.weights.size());
    for (const auto& [key, t] : x.weights) {
      ASSERT_TRUE(y.weights.count(key)) << key;
      const Tensor& u = y.weights.at(key);
      EXPECT_EQ(t.shape, u.shape) << key;
      ASSERT_EQ(t.data.size(), u.data.size()) << key;
      EXPECT_EQ(0, std::memcmp(t.data.data(), u.data.data(), t.data.size() * sizeof(float)))
          << key << " differs";
    }
  }
}

// Kernel with the mask applied, as the export writes it.
Tensor masked_kernel(const Layer& l) {
  Tensor k = l.weight("kernel");
  if (!l.mask.empty())
    for (size_t i = 0; i < k.data.size(); ++i)
      if (l.mask.data[i] == 0.0f) k.data[i] = 0.0f;
  return k;
}

// A random 0/1 mask pruning about `fraction` of the kernel.
void prune(Layer& l, double fraction, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  l.mask = Tensor(l.weight("kernel").shape, 1.0f);
  for (float& v : l.mask.data) v = u(rng) < fraction ? 0.0f : 1.0f;
}

// The expected model after an export: masks folded into the kernels.
Model with_masks_applied(Model m) {
  for (auto& l : m.layers)
    if (l.has_kernel()) {
      l.weight("kernel") = masked_kernel(l);
      l.mask = Tensor();
    }
  return m;
}

constexpr io::KerasExportOptions kQKeras{io::KerasFlavour::QKeras};

// ---- the real example models -----------------------------------------------------------

TEST(KerasExamples, ThreeLayerJetTagger) {
  REQUIRE_EXAMPLES();
  const Model m = load_keras(ex("KERAS_3layer.json"));
  EXPECT_EQ(m.name, "model_1");
  EXPECT_EQ(m.input_shape, Shape({16}));
  EXPECT_EQ(m.metadata.at("keras.input_layer"), "input_1");
  EXPECT_EQ(m.metadata.at("source"), ex("KERAS_3layer.json"));
  EXPECT_EQ(m.metadata.at("keras.weights"), ex("KERAS_3layer_weights.h5"));
  EXPECT_EQ(m.task, Task::Classification);
  // hls4ml splits the Dense activations into layers named <dense>_<activation>.
  EXPECT_EQ(names_of(m), (std::vector<std::string>{"fc1_relu", "fc1_relu_relu", "fc2_relu",
                                                   "fc2_relu_relu", "fc3_relu", "fc3_relu_relu",
                                                   "output_softmax", "output_softmax_softmax"}));
  const std::vector<std::pair<int64_t, int64_t>> dims = {{16, 64}, {64, 32}, {32, 32}, {32, 5}};
  for (size_t i = 0; i < 4; ++i) {
    const Layer& d = m.layers[2 * i];
    EXPECT_EQ(d.kind, LayerKind::Dense);
    EXPECT_EQ(d.weight("kernel").shape, Shape({dims[i].first, dims[i].second}));
    EXPECT_EQ(d.weight("bias").shape, Shape({dims[i].second}));
    EXPECT_FALSE(d.precision.weight.has_value());
    expect_activation(m.layers[2 * i + 1], i == 3 ? ActivationKind::Softmax : ActivationKind::ReLU);
  }
  EXPECT_EQ(m.output_shape(), Shape({5}));
  EXPECT_FALSE(m.is_quantized());
  EXPECT_EQ(m.parameter_count(), 16 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5);
}

TEST(KerasExamples, PrunedWeightsLoadWithTheirZeros) {
  REQUIRE_EXAMPLES();
  const Model dense = load_keras(ex("KERAS_3layer.json"));
  const Model m =
      load_keras(ex("KERAS_3layer.json"), ex("KERAS_3layer_95pruned_retrained_weights.h5"));
  EXPECT_EQ(m.metadata.at("keras.weights"), ex("KERAS_3layer_95pruned_retrained_weights.h5"));
  int64_t zeros = 0, total = 0;
  for (const auto& l : m.layers) {
    if (!l.has_kernel()) continue;
    EXPECT_TRUE(l.mask.empty());
    for (float v : l.weight("kernel").data) zeros += v == 0.0f;
    total += l.weight("kernel").numel();
  }
  EXPECT_GE(static_cast<double>(zeros) / static_cast<double>(total), 0.90)
      << zeros << " of " << total;
  int64_t dense_zeros = 0;
  for (const auto& l : dense.layers)
    if (l.has_kernel())
      for (float v : l.weight("kernel").data) dense_zeros += v == 0.0f;
  EXPECT_LT(dense_zeros, total / 10);
}

TEST(KerasExamples, QKerasJetTagger) {
  REQUIRE_EXAMPLES();
  const Model m = load_keras(ex("qkeras_3layer.json"));
  EXPECT_EQ(m.name, "sequential");
  EXPECT_EQ(m.input_shape, Shape({16}));
  EXPECT_EQ(m.metadata.at("keras.input_layer"), "fc1_input");
  EXPECT_EQ(names_of(m), (std::vector<std::string>{"fc1", "relu1", "fc2", "relu2", "fc3", "relu3",
                                                   "output", "softmax"}));
  const Layer& fc1 = m.layer("fc1");
  EXPECT_EQ(fc1.kind, LayerKind::Dense);
  EXPECT_EQ(fc1.precision.weight->str(), "ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(fc1.precision.bias->str(), "ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
  EXPECT_FALSE(fc1.precision.accum.has_value());
  EXPECT_FALSE(fc1.precision.result.has_value());
  for (const char* relu : {"relu1", "relu2", "relu3"}) {
    expect_activation(m.layer(relu), ActivationKind::QuantizedReLU);
    EXPECT_EQ(m.layer(relu).precision.result->str(), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
  }
  expect_activation(m.layer("softmax"), ActivationKind::Softmax);
  EXPECT_FALSE(m.input_precision.has_value());
  EXPECT_EQ(m.layer("output").weight("kernel").shape, Shape({32, 5}));
  // The weights were trained with the quantizer; stored values are float and within [-1, 1]
  // (the Clip constraint).
  for (float v : fc1.weight("kernel").data) EXPECT_LE(std::fabs(v), 1.0f);
}

TEST(KerasExamples, Conv1DSmall) {
  REQUIRE_EXAMPLES();
  const Model m = load_keras(ex("KERAS_conv1d_small.json"));
  EXPECT_EQ(m.input_shape, Shape({10, 4}));
  EXPECT_EQ(names_of(m), (std::vector<std::string>{
                             "conv1_relu", "conv1_relu_relu", "conv2_relu", "conv2_relu_relu",
                             "conv3_relu", "conv3_relu_relu", "flatten_1", "fc1_relu",
                             "fc1_relu_relu", "output_softmax", "output_softmax_softmax"}));
  const Layer& c1 = m.layer("conv1_relu");
  EXPECT_EQ(c1.kind, LayerKind::Conv1D);
  EXPECT_EQ(c1.filters, 3);
  EXPECT_EQ(c1.kernel_size, std::vector<int64_t>({4}));
  EXPECT_EQ(c1.strides, std::vector<int64_t>({1}));
  EXPECT_EQ(c1.padding, Padding::Same);
  EXPECT_EQ(c1.weight("kernel").shape, Shape({4, 4, 3}));
  EXPECT_EQ(c1.output_shape, Shape({10, 3}));
  EXPECT_EQ(m.layer("conv2_relu").weight("kernel").shape, Shape({4, 3, 2}));
  EXPECT_EQ(m.layer("conv3_relu").output_shape, Shape({10, 1}));
  EXPECT_EQ(m.layer("flatten_1").output_shape, Shape({10}));
  EXPECT_EQ(m.layer("fc1_relu").weight("kernel").shape, Shape({10, 5}));
  EXPECT_EQ(m.output_shape(), Shape({5}));
}

TEST(KerasExamples, Conv2DOldSequentialList) {
  REQUIRE_EXAMPLES();
  // Keras 2.0 Sequential: config is a bare list, the input shape sits on the first layer.
  const Model m = load_keras(ex("KERAS_conv2d_model.json"));
  EXPECT_EQ(m.name, "KERAS_conv2d_model");
  EXPECT_EQ(m.input_shape, Shape({8, 8, 1}));
  EXPECT_EQ(m.metadata.at("keras.input_layer"), "conv2d_1_input");
  EXPECT_EQ(names_of(m), (std::vector<std::string>{"conv2d_1", "conv2d_1_relu", "dropout_1",
                                                   "flatten_1", "dense_1", "dense_1_softmax"}));
  const Layer& c = m.layer("conv2d_1");
  EXPECT_EQ(c.kind, LayerKind::Conv2D);
  EXPECT_EQ(c.kernel_size, std::vector<int64_t>({3, 3}));
  EXPECT_EQ(c.weight("kernel").shape, Shape({3, 3, 1, 2}));
  EXPECT_EQ(c.output_shape, Shape({8, 8, 2}));
  EXPECT_EQ(m.layer("dropout_1").rate, 0.25);
  EXPECT_EQ(m.layer("flatten_1").output_shape, Shape({128}));
  EXPECT_EQ(m.layer("dense_1").weight("kernel").shape, Shape({128, 10}));
  EXPECT_EQ(m.output_shape(), Shape({10}));
}

TEST(KerasExamples, QKerasMnistCnn) {
  REQUIRE_EXAMPLES();
  const Model m = load_keras(ex("qkeras_mnist_cnn.json"));
  EXPECT_EQ(m.input_shape, Shape({28, 28, 1}));
  EXPECT_EQ(m.metadata.at("keras.input_layer"), "input_1");
  EXPECT_EQ(names_of(m), (std::vector<std::string>{"q_conv2d", "q_conv2d_relu", "q_activation",
                                                   "max_pooling2d", "q_conv2d_1", "q_conv2d_1_relu",
                                                   "q_activation_1", "max_pooling2d_1", "flatten",
                                                   "dropout", "q_dense", "softmax"}));
  const Layer& c = m.layer("q_conv2d");
  EXPECT_EQ(c.kind, LayerKind::Conv2D);
  EXPECT_EQ(c.filters, 16);
  EXPECT_EQ(c.padding, Padding::Valid);
  EXPECT_EQ(c.precision.weight->str(), "ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(c.output_shape, Shape({26, 26, 16}));
  // QConv2D(activation="relu") is a plain float ReLU, then the QActivation quantizes.
  expect_activation(m.layer("q_conv2d_relu"), ActivationKind::ReLU);
  EXPECT_FALSE(m.layer("q_conv2d_relu").precision.result.has_value());
  expect_activation(m.layer("q_activation"), ActivationKind::QuantizedReLU);
  EXPECT_EQ(m.layer("q_activation").precision.result->str(), "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(m.layer("max_pooling2d").kind, LayerKind::MaxPool2D);
  EXPECT_EQ(m.layer("max_pooling2d").output_shape, Shape({13, 13, 16}));
  EXPECT_EQ(m.layer("q_conv2d_1").weight("kernel").shape, Shape({3, 3, 16, 16}));
  EXPECT_EQ(m.layer("flatten").output_shape, Shape({400}));
  EXPECT_EQ(m.layer("dropout").rate, 0.5);
  EXPECT_EQ(m.layer("q_dense").weight("kernel").shape, Shape({400, 10}));
  expect_activation(m.layer("softmax"), ActivationKind::Softmax);
}

TEST(KerasExamples, WeightsOnlyFileIsNotAModel) {
  REQUIRE_EXAMPLES();
  const std::string msg = error_of([] { load_keras(ex("KERAS_3layer_weights.h5")); });
  EXPECT_THAT(msg, HasSubstr(ex("KERAS_3layer_weights.h5")));
  EXPECT_THAT(msg, HasSubstr("model_config"));
}

TEST(KerasExamples, FirstLayerOutputsMatchAHandComputation) {
  REQUIRE_EXAMPLES();
  const Model full = load_keras(ex("KERAS_3layer.json"));
  Model first = full;
  first.layers.resize(2);  // fc1_relu (Dense) + fc1_relu_relu
  const Tensor x = random_tensor({4, 16}, 42, -2.0f, 2.0f);
  const Tensor y = reference_forward(first, x, /*quantize=*/false);
  ASSERT_EQ(y.shape, Shape({4, 64}));
  const Tensor& w = full.layers[0].weight("kernel");
  const Tensor& b = full.layers[0].weight("bias");
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t j = 0; j < 64; ++j) {
      double acc = b.data[j];
      for (int64_t i = 0; i < 16; ++i) acc += double(x.data[n * 16 + i]) * w.data[i * 64 + j];
      EXPECT_NEAR(y.data[n * 64 + j], std::max(acc, 0.0), 1e-5) << n << "," << j;
    }
  // The whole net ends in a softmax.
  const Tensor p = reference_forward(full, x, false);
  for (int64_t n = 0; n < 4; ++n) {
    double s = 0;
    for (int64_t j = 0; j < 5; ++j) s += p.data[n * 5 + j];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
}

// ---- QKeras quantizers -----------------------------------------------------------------

TEST(KerasQuantizers, StringsMapToExactTypes) {
  using io::parse_qkeras_quantizer;
  EXPECT_EQ(parse_qkeras_quantizer("quantized_bits(6,0,alpha=1)").str(),
            "ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(parse_qkeras_quantizer("quantized_bits(8, 3, 1)").str(),
            "ap_fixed<8,4,AP_RND_CONV,AP_SAT_SYM>");
  EXPECT_EQ(parse_qkeras_quantizer("quantized_bits(4,2,keep_negative=False)").str(),
            "ap_ufixed<4,2,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(parse_qkeras_quantizer("quantized_bits(bits=10, integer=-2, alpha=None)").str(),
            "ap_fixed<10,-1,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(parse_qkeras_quantizer("quantized_relu(6,0)").str(),
            "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(parse_qkeras_quantizer("quantized_relu(8, 3, use_stochastic_rounding=False)").str(),
            "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(parse_qkeras_quantizer("quantized_relu").str(), "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>");
}

TEST(KerasQuantizers, InexactQuantizersAreRefused) {
  using io::parse_qkeras_quantizer;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quantized_bits(8,0,alpha='auto')", "alpha='auto'"},
      {"quantized_bits(8,0,alpha='auto_po2')", "alpha='auto_po2'"},
      {"quantized_bits(8,0,alpha=0.5)", "alpha=0.5"},
      {"quantized_bits(8,0,use_stochastic_rounding=True)", "use_stochastic_rounding"},
      {"quantized_bits(8,0,qnoise_factor=0.5)", "qnoise_factor"},
      {"quantized_bits(1,0)", "binary"},
      {"quantized_relu(6,0,negative_slope=0.25)", "negative_slope"},
      {"quantized_relu(6,0,relu_upper_bound=4)", "relu_upper_bound"},
      {"quantized_relu(6,0,1)", "use_sigmoid"},
      {"quantized_po2(4)", "unsupported quantizer 'quantized_po2'"},
      {"ternary()", "unsupported quantizer 'ternary'"},
      {"quantized_bits(8,0,frobnicate=1)", "unknown argument 'frobnicate'"},
      {"quantized_bits(8,0", "cannot read quantizer"},
  };
  for (const auto& [text, what] : cases) {
    SCOPED_TRACE(text);
    const std::string quantizer = text;  // clang-14 cannot capture a structured binding
    EXPECT_THAT(error_of([&] { parse_qkeras_quantizer(quantizer); }), HasSubstr(what));
  }
}

// QKeras' formulas (docs/model-semantics.md), computed directly, agree with the mapped
// FixedType on every grid point, every tie and beyond both ends.
TEST(KerasQuantizers, MappedTypesComputeWhatQKerasComputes) {
  struct Case {
    int bits, integer;
    bool keep_negative, symmetric, relu;
  };
  const Case cases[] = {{6, 0, true, false, false},  {8, 3, true, true, false},
                        {4, 2, false, false, false}, {5, -1, true, false, false},
                        {6, 0, false, false, true},  {7, 2, false, false, true}};
  for (const auto& c : cases) {
    const std::string text =
        c.relu ? fmt::format("quantized_relu({},{})", c.bits, c.integer)
               : fmt::format("quantized_bits({},{},{},keep_negative={},alpha=1)", c.bits, c.integer,
                             c.symmetric ? 1 : 0, c.keep_negative ? "True" : "False");
    SCOPED_TRACE(text);
    const FixedType t = io::parse_qkeras_quantizer(text);
    const int unsigned_bits = c.bits - (c.keep_negative ? 1 : 0);
    const double m = std::ldexp(1.0, unsigned_bits), mi = std::ldexp(1.0, c.integer);
    const double lo = c.keep_negative ? -m + (c.symmetric ? 1 : 0) : 0.0, hi = m - 1;
    const double step = mi / m;
    for (double k = lo - 8; k <= hi + 8; k += 0.25) {
      const double x = k * step;
      // tf.round rounds half to even, as nearbyint does in the default rounding mode.
      const double q = std::clamp(std::nearbyint(x * m / mi), lo, hi) * mi / m;
      EXPECT_EQ(t.quantize(x), q) << "x = " << x;
    }
  }
}

TEST(KerasQuantizers, ExportStringsAndEquivalents) {
  const FixedType exact = FixedType::parse("ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
  EXPECT_TRUE(io::qkeras_exact(exact));
  EXPECT_EQ(io::qkeras_quantizer_str(exact), "quantized_bits(6,0,0,alpha=1)");
  EXPECT_EQ(io::parse_qkeras_quantizer(io::qkeras_quantizer_str(exact)), exact);
  const FixedType plain = FixedType::parse("ap_fixed<16,6>");
  EXPECT_FALSE(io::qkeras_exact(plain));
  EXPECT_EQ(io::qkeras_equivalent(plain).str(), "ap_fixed<16,6,AP_RND_CONV,AP_SAT>");
  const FixedType u = FixedType::parse("ap_ufixed<8,2,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(io::parse_qkeras_quantizer(io::qkeras_quantizer_str(u)), u);
  const FixedType sym = FixedType::parse("ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>");
  EXPECT_EQ(io::parse_qkeras_quantizer(io::qkeras_quantizer_str(sym)), sym);
}

// ---- round trips -----------------------------------------------------------------------

// The shared every-layer network, with a Dense without bias and a BN with non-default
// epsilon/momentum: every layer kind the Keras writer emits.
Model every_layer_model() {
  Model m = test::every_layer_model();
  m.name = "every_layer";
  m.layer("dense").use_bias = false;
  m.layer("dense").weights.erase("bias");
  m.layer("bn").epsilon = 1e-5;
  m.layer("bn").momentum = 0.9;
  m.infer_shapes();
  return m;
}

TEST(KerasRoundTrip, FloatModelsWithMasks) {
  ScratchDir dir;
  Model jet = make_builtin_model("jet-mlp", 5, 7);
  prune(jet.layers[0], 0.8, 1);
  prune(jet.layers[4], 0.5, 2);
  Model cnn = make_builtin_model("fmnist-cnn", 10, 3);
  prune(cnn.layer("conv2"), 0.7, 3);
  const Model every = every_layer_model();
  for (const Model* m : std::vector<const Model*>{&jet, &cnn, &every}) {
    SCOPED_TRACE(m->name);
    const std::string js = dir.file(m->name + ".json"), h5 = dir.file(m->name + "_weights.h5");
    save_keras(*m, js, h5);
    const json arch = read_json(js);
    EXPECT_EQ(arch["class_name"], "Sequential");
    EXPECT_EQ(arch["config"]["layers"][0]["class_name"], "InputLayer");
    EXPECT_FALSE(arch.contains("hwprune"));  // float models need no extension
    for (const auto& e : arch["config"]["layers"])
      EXPECT_EQ(e["class_name"].get<std::string>().rfind("Q", 0), std::string::npos);
    const Model back = load_keras(js);  // finds <stem>_weights.h5 by itself
    expect_same_model(with_masks_applied(*m), back);
    EXPECT_EQ(back.metadata.at("keras.weights"), h5);
    EXPECT_EQ(back.metadata.at("keras.input_layer"), m->layers[0].name + "_input");
    // Pruned weights are exact zeros.
    for (size_t i = 0; i < m->layers.size(); ++i) {
      if (!m->layers[i].mask.empty()) {
        EXPECT_EQ(back.layers[i].nonzero_kernel_count(), m->layers[i].nonzero_kernel_count());
      }
    }
    // The full-model .h5 holds the same.
    const std::string full = dir.file(m->name + "_full.h5");
    save_keras_h5(*m, full);
    expect_same_model(with_masks_applied(*m), load_keras(full));
    // ... and also serves as the weights of the JSON.
    expect_same_model(with_masks_applied(*m), load_keras(js, full));
  }
}

TEST(KerasRoundTrip, ExampleModelsSurviveExport) {
  REQUIRE_EXAMPLES();
  ScratchDir dir;
  for (const char* name : {"KERAS_3layer", "KERAS_conv1d_small", "KERAS_conv2d_model",
                           "qkeras_3layer", "qkeras_mnist_cnn"}) {
    SCOPED_TRACE(name);
    const Model m = load_keras(ex(std::string(name) + ".json"));
    save_keras(m, dir.file("m.json"), dir.file("m.h5"), kQKeras);
    const Model back = load_keras(dir.file("m.json"), dir.file("m.h5"));
    expect_same_model(test::as_exported(m), back);
    EXPECT_EQ(back.metadata.at("keras.input_layer"), m.metadata.at("keras.input_layer"));
    save_keras_h5(m, dir.file("full.h5"), kQKeras);
    expect_same_model(test::as_exported(m), load_keras(dir.file("full.h5")));
  }
}

TEST(KerasRoundTrip, QKerasExactPrecisionsNeedNoExtension) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 11);
  const Precision w = FixedType::parse("ap_fixed<6,1,AP_RND_CONV,AP_SAT>");
  const Precision b = FixedType::parse("ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>");
  const Precision r = FixedType::parse("ap_ufixed<6,0,AP_RND_CONV,AP_SAT>");
  for (auto& l : m.layers) {
    if (l.has_kernel()) {
      l.precision.weight = w;
      l.precision.bias = b;
    } else if (l.activation == ActivationKind::ReLU) {
      l.activation = ActivationKind::QuantizedReLU;
      l.precision.result = r;
    }
  }
  prune(m.layers[2], 0.6, 5);
  save_keras(m, dir.file("q.json"), dir.file("q.h5"), kQKeras);
  json arch = read_json(dir.file("q.json"));
  const json& fc1 = arch["config"]["layers"][1];
  EXPECT_EQ(fc1["class_name"], "QDense");
  EXPECT_EQ(fc1["config"]["kernel_quantizer"]["class_name"], "quantized_bits");
  EXPECT_EQ(fc1["config"]["kernel_quantizer"]["config"]["bits"], 6);
  EXPECT_EQ(fc1["config"]["kernel_quantizer"]["config"]["integer"], 0);
  EXPECT_EQ(fc1["config"]["kernel_quantizer"]["config"]["alpha"], 1);
  EXPECT_EQ(fc1["config"]["bias_quantizer"]["config"]["symmetric"], 1);
  EXPECT_EQ(arch["config"]["layers"][2]["class_name"], "QActivation");
  EXPECT_EQ(arch["config"]["layers"][2]["config"]["activation"]["class_name"], "quantized_relu");
  const Model expected = test::as_exported(m);
  expect_same_model(expected, load_keras(dir.file("q.json"), dir.file("q.h5")));
  // What QKeras itself sees (the JSON without hwprune's block) is already exact.
  arch.erase("hwprune");
  write_file_atomic(dir.file("plain.json"), arch.dump());
  expect_same_model(expected, load_keras(dir.file("plain.json"), dir.file("q.h5")));
}

TEST(KerasRoundTrip, HlsDefaultPrecisionsSurviveThroughTheExtension) {
  ScratchDir dir;
  Model m = make_builtin_model("fmnist-cnn", 10, 5);
  m.set_precision(FixedType::parse("ap_fixed<16,6>"));
  m.layers.back().precision = LayerPrecision{};  // float softmax
  prune(m.layer("conv1"), 0.5, 9);
  save_keras(m, dir.file("c.json"), dir.file("c.h5"), kQKeras);
  json arch = read_json(dir.file("c.json"));
  std::vector<std::string> classes;
  for (const auto& e : arch["config"]["layers"]) classes.push_back(e["class_name"]);
  EXPECT_EQ(classes, (std::vector<std::string>{"InputLayer", "QConv2D", "QActivation",
                                               "MaxPooling2D", "QConv2D", "QActivation",
                                               "MaxPooling2D", "Flatten", "QDense", "Activation"}));
  const Model back = load_keras(dir.file("c.json"), dir.file("c.h5"));
  expect_same_model(test::as_exported(m), back);
  EXPECT_EQ(back.layer("relu1").activation, ActivationKind::ReLU);
  EXPECT_EQ(str(back.input_precision), "ap_fixed<16,6>");
  save_keras_h5(m, dir.file("c_full.h5"), kQKeras);
  expect_same_model(test::as_exported(m), load_keras(dir.file("c_full.h5")));

  // Without the block, a loader sees what QKeras computes: rounding and saturation.
  arch.erase("hwprune");
  write_file_atomic(dir.file("plain.json"), arch.dump());
  const Model q = load_keras(dir.file("plain.json"), dir.file("c.h5"));
  EXPECT_EQ(str(q.layer("conv1").precision.weight), "ap_fixed<16,6,AP_RND_CONV,AP_SAT>");
  EXPECT_FALSE(q.layer("conv1").precision.result.has_value());
  EXPECT_EQ(q.layer("relu1").activation, ActivationKind::QuantizedReLU);
  EXPECT_EQ(str(q.layer("relu1").precision.result), "ap_ufixed<15,5,AP_RND_CONV,AP_SAT>");
  EXPECT_FALSE(q.input_precision.has_value());

  // A quantizer changed after export wins over the stale block entry.
  json edited = read_json(dir.file("c.json"));
  edited["config"]["layers"][1]["config"]["kernel_quantizer"]["config"]["bits"] = 8;
  write_file_atomic(dir.file("edited.json"), edited.dump());
  const Model e = load_keras(dir.file("edited.json"), dir.file("c.h5"));
  EXPECT_EQ(str(e.layer("conv1").precision.weight), "ap_fixed<8,6,AP_RND_CONV,AP_SAT>");
  EXPECT_EQ(str(e.layer("conv2").precision.weight), "ap_fixed<16,6>");
}

TEST(KerasRoundTrip, BatchNormAndNoBiasConvsInOneFile) {
  ScratchDir dir;
  Model m = make_builtin_model("svhn-cnn", 10, 2);
  // Non-trivial BN statistics so a swapped gamma/beta/mean/variance would show.
  uint64_t seed = 100;
  for (auto& l : m.layers)
    if (l.kind == LayerKind::BatchNorm)
      for (auto& [key, t] : l.weights)
        t = random_tensor(t.shape, seed++, key == "moving_variance" ? 0.1f : -1.0f, 2.0f);
  save_keras_h5(m, dir.file("svhn.h5"));
  const Model back = load_keras(dir.file("svhn.h5"));
  expect_same_model(m, back);
  EXPECT_FALSE(back.layers[0].use_bias);
}

TEST(KerasRoundTrip, PlainFlavourOfAQuantizedModel) {
  // The default flavour: plain Keras layers, no QKeras quantizers, no hwprune block; the
  // weights on their grids; a BatchNorm after a Dense folded as the integer model folds it.
  ScratchDir dir;
  Model m = make_builtin_model("mlp:8", 3, 4, {6});
  m.set_precision(FixedType::parse("ap_fixed<8,3>"));  // AP_TRN, AP_WRAP
  Layer bn;
  bn.name = "bn";
  bn.kind = LayerKind::BatchNorm;
  const int64_t c = m.layers[0].units;
  bn.weights = {{"gamma", random_tensor({c}, 1, 0.5f, 1.5f)},
                {"beta", random_tensor({c}, 2, -0.2f, 0.2f)},
                {"moving_mean", random_tensor({c}, 3, -0.5f, 0.5f)},
                {"moving_variance", random_tensor({c}, 4, 0.5f, 2.0f)}};
  bn.precision.result = FixedType::parse("ap_fixed<10,4>");
  m.layers.insert(m.layers.begin() + 1, bn);
  m.layers[0].weight("kernel").data[0] = 100.0f;  // saturates (the type would wrap)
  prune(m.layers[0], 0.5, 6);
  m.infer_shapes();
  save_keras(m, dir.file("p.json"), dir.file("p.h5"));
  const json arch = read_json(dir.file("p.json"));
  EXPECT_FALSE(arch.contains("hwprune"));
  std::vector<std::string> classes;
  for (const auto& e : arch["config"]["layers"]) classes.push_back(e["class_name"]);
  EXPECT_EQ(classes,
            (std::vector<std::string>{"InputLayer", "Dense", "Activation", "Dense", "Activation"}));
  const Model back = load_keras(dir.file("p.json"), dir.file("p.h5"));
  Model expected = test::as_exported(fold_batchnorm(m));
  expected.input_precision.reset();  // the file has no precisions: they are in the hls4ml YAML
  for (auto& l : expected.layers) l.precision = LayerPrecision{};
  expect_same_model(expected, back);
  EXPECT_EQ(back.layers[0].weight("kernel").data[0], 3.96875f);  // ap_fixed<8,3> max, saturated
}

TEST(KerasExport, ActivationsAsHls4mlReadsThem) {
  ScratchDir dir;
  Model m = make_builtin_model("mlp:4", 2, 1, {3});
  auto with_activation = [&](ActivationKind a, double alpha, double beta) {
    Model x = m;
    x.layers[1].activation = a;
    x.layers[1].alpha = alpha;
    x.layers[1].beta = beta;
    save_keras(x, dir.file("a.json"), dir.file("a.h5"));
    return read_json(dir.file("a.json"))["config"]["layers"][2];
  };
  json l = with_activation(ActivationKind::Sigmoid, 0, 0);
  EXPECT_EQ(l["class_name"], "Activation");
  EXPECT_EQ(l["config"]["activation"], "sigmoid");
  EXPECT_EQ(with_activation(ActivationKind::Tanh, 0, 0)["config"]["activation"], "tanh");
  EXPECT_EQ(with_activation(ActivationKind::SELU, 0, 0)["config"]["activation"], "selu");
  EXPECT_EQ(with_activation(ActivationKind::HardSigmoid, 0.2, 0.5)["config"]["activation"],
            "hard_sigmoid");
  EXPECT_EQ(with_activation(ActivationKind::ELU, 1.0, 0)["config"]["activation"], "elu");
  l = with_activation(ActivationKind::ELU, 0.5, 0);
  EXPECT_EQ(l["class_name"], "ELU");
  EXPECT_EQ(l["config"]["alpha"], 0.5);
  l = with_activation(ActivationKind::LeakyReLU, 0.3, 0);
  EXPECT_EQ(l["class_name"], "LeakyReLU");
  EXPECT_EQ(l["config"]["alpha"], 0.3);
  EXPECT_THAT(error_of([&] { with_activation(ActivationKind::HardSigmoid, 0.25, 0.5); }),
              HasSubstr("layer 'relu1': hard_sigmoid with alpha=0.25 beta=0.5 has no Keras layer"));
}

// ---- errors ----------------------------------------------------------------------------

// A Sequential JSON in Keras 2.4 style with the given layers after an InputLayer of `shape`.
json sequential(const json& layers, const json& shape = json::array({nullptr, 4})) {
  json all = json::array(
      {{{"class_name", "InputLayer"},
        {"config", {{"name", "in"}, {"batch_input_shape", shape}, {"dtype", "float32"}}}}});
  for (const auto& l : layers) all.push_back(l);
  return {{"class_name", "Sequential"},
          {"config", {{"name", "seq"}, {"layers", all}}},
          {"keras_version", "2.4.0"}};
}

json dense(const std::string& name, int units, const std::string& activation = "linear") {
  return {{"class_name", "Dense"},
          {"config", {{"name", name}, {"units", units}, {"activation", activation}}}};
}

// Writes an architecture JSON into the scratch folder.
std::string write_arch(const ScratchDir& dir, const std::string& name, const json& arch) {
  return dir.write(name, arch.dump());
}

TEST(KerasErrors, MalformedOrMissingFiles) {
  ScratchDir dir;
  const std::string bad = dir.write("bad.json", "{ \"class_name\": \"Sequential\", ");
  std::string msg = error_of([&] { load_keras(bad); });
  EXPECT_THAT(msg, HasSubstr(bad + ": invalid JSON"));

  msg = error_of([&] { load_keras(dir.file("absent.json")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("absent.json")));

  const std::string notkeras = dir.write("x.json", R"({"layers": []})");
  EXPECT_THAT(error_of([&] { load_keras(notkeras); }), HasSubstr("not a Keras model JSON"));

  // An architecture without weights beside it.
  const std::string lone = write_arch(dir, "lone.json", sequential(json::array({dense("fc", 3)})));
  msg = error_of([&] { load_keras(lone); });
  EXPECT_THAT(msg, HasSubstr(lone + ": no weights file found"));
  EXPECT_THAT(msg, HasSubstr("lone_weights.h5"));
  EXPECT_THAT(error_of([&] { load_keras(lone, dir.file("nope.h5")); }),
              HasSubstr(dir.file("nope.h5") + ": weights file does not exist"));

  // A file that is not HDF5 as weights.
  const std::string junk = dir.write("junk.h5", "not hdf5 at all");
  EXPECT_THAT(error_of([&] { load_keras(lone, junk); }),
              HasSubstr(junk + ": not a readable HDF5 file"));
}

TEST(KerasErrors, WeightsThatDoNotFitTheArchitecture) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 1);
  save_keras(m, dir.file("jet.json"), dir.file("jet.h5"));
  json arch = read_json(dir.file("jet.json"));
  arch["config"]["layers"][1]["config"]["units"] = 32;  // fc1: 64 -> 32
  const std::string js = write_arch(dir, "wrong.json", arch);
  std::string msg = error_of([&] { load_keras(js, dir.file("jet.h5")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("jet.h5") + ": layer 'fc1': kernel has shape (16, 64), the "
                                                  "architecture needs (16, 32)"));

  // A layer the weights file does not hold.
  arch = read_json(dir.file("jet.json"));
  arch["config"]["layers"][3]["config"]["name"] = "fc2b";
  msg = error_of([&] { load_keras(write_arch(dir, "renamed.json", arch), dir.file("jet.h5")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("jet.h5") + ": layer 'fc2b': no weights for this layer"));

  // A bias the file does not have.
  Model nb = make_builtin_model("jet-mlp", 5, 1);
  nb.layers[0].use_bias = false;
  nb.layers[0].weights.erase("bias");
  save_keras(nb, dir.file("nb.json"), dir.file("nb.h5"));
  msg = error_of([&] { load_keras(dir.file("jet.json"), dir.file("nb.h5")); });
  EXPECT_THAT(msg, HasSubstr("layer 'fc1': the file holds 1 weights (fc1/kernel:0), the "
                             "architecture needs 2 (kernel, bias)"));
}

TEST(KerasErrors, UnsupportedLayersAttributesAndQuantizers) {
  ScratchDir dir;
  struct Case {
    json layer;
    std::string what;
  };
  json conv = {{"class_name", "Conv1D"},
               {"config",
                {{"name", "c1"},
                 {"filters", 2},
                 {"kernel_size", json::array({3})},
                 {"padding", "valid"},
                 {"dilation_rate", json::array({2})}}}};
  json conv_cf = conv;
  conv_cf["config"]["dilation_rate"] = json::array({1});
  conv_cf["config"]["data_format"] = "channels_first";
  json causal = conv_cf;
  causal["config"]["data_format"] = "channels_last";
  causal["config"]["padding"] = "causal";
  json qd = {{"class_name", "QDense"},
             {"config",
              {{"name", "qd"},
               {"units", 4},
               {"kernel_quantizer",
                {{"class_name", "quantized_bits"},
                 {"config", {{"bits", 6}, {"integer", 0}, {"alpha", "auto"}}}}}}}};
  json qd_po2 = qd;
  qd_po2["config"]["kernel_quantizer"] = "quantized_po2(4)";
  json qact = {{"class_name", "QActivation"},
               {"config", {{"name", "qa"}, {"activation", "quantized_tanh(4)"}}}};
  json relu6 = {{"class_name", "ReLU"}, {"config", {{"name", "r6"}, {"max_value", 6.0}}}};
  json bn = {{"class_name", "BatchNormalization"}, {"config", {{"name", "bn"}, {"axis", 0}}}};
  const std::vector<Case> cases = {
      {{{"class_name", "LSTM"}, {"config", {{"name", "lstm_1"}, {"units", 4}}}},
       "layer 'lstm_1': unsupported layer type 'LSTM'"},
      {dense("fc", 3, "swish"), "layer 'fc': activation: unsupported activation 'swish'"},
      {conv, "layer 'c1': dilation_rate [2] is not supported"},
      {conv_cf, "layer 'c1': data_format 'channels_first' is not supported"},
      {causal, "layer 'c1': padding 'causal' is not supported"},
      {qd, "layer 'qd': kernel_quantizer: quantized_bits: alpha='auto'"},
      {qd_po2, "layer 'qd': kernel_quantizer: unsupported quantizer 'quantized_po2'"},
      {qact, "layer 'qa': activation: unsupported quantizer 'quantized_tanh'"},
      {relu6, "layer 'r6': ReLU max_value=6.0 is not supported"},
      {bn, "layer 'bn': axis 0 is not supported"},
  };
  Model weights = make_builtin_model("jet-mlp", 5, 1);  // a valid weights file to point at
  save_keras(weights, dir.file("w.json"), dir.file("w.h5"));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string js = write_arch(
        dir, "case.json", sequential(json::array({c.layer}), json::array({nullptr, 4, 4})));
    const std::string msg = error_of([&] { load_keras(js, dir.file("w.h5")); });
    EXPECT_THAT(msg, HasSubstr(js + ": " + c.what));
  }
}

TEST(KerasErrors, QKerasExampleWithAutoAlphaIsRefused) {
  REQUIRE_EXAMPLES();
  ScratchDir dir;
  json arch = read_json(ex("qkeras_3layer.json"));
  arch["config"]["layers"][1]["config"]["kernel_quantizer"]["config"]["alpha"] = "auto";
  const std::string js = write_arch(dir, "auto.json", arch);
  const std::string msg = error_of([&] { load_keras(js, ex("qkeras_3layer_weights.h5")); });
  EXPECT_THAT(msg, HasSubstr(js + ": layer 'fc1': kernel_quantizer: quantized_bits: "
                                  "alpha='auto'"));
}

TEST(KerasErrors, FunctionalModelsMustBeOneChain) {
  REQUIRE_EXAMPLES();
  ScratchDir dir;
  const json base = read_json(ex("KERAS_3layer.json"));
  // fc3_relu takes its input from fc1_relu: fc2_relu is a dead branch.
  json branch = base;
  branch["config"]["layers"][3]["inbound_nodes"][0][0][0] = "fc1_relu";
  std::string js = write_arch(dir, "branch.json", branch);
  std::string msg = error_of([&] { load_keras(js, ex("KERAS_3layer_weights.h5")); });
  EXPECT_THAT(msg, HasSubstr(js + ": layer 'fc3_relu': takes its input from 'fc1_relu', not "
                                  "from the previous layer 'fc2_relu'"));
  // A merge: two inputs.
  json merge = base;
  merge["config"]["layers"][3]["inbound_nodes"][0].push_back({"fc1_relu", 0, 0, json::object()});
  js = write_arch(dir, "merge.json", merge);
  msg = error_of([&] { load_keras(js, ex("KERAS_3layer_weights.h5")); });
  EXPECT_THAT(msg, HasSubstr(js + ": layer 'fc3_relu': has 2 inputs"));
  // Two outputs.
  json outs = base;
  outs["config"]["output_layers"].push_back({"fc3_relu", 0, 0});
  js = write_arch(dir, "outs.json", outs);
  EXPECT_THAT(error_of([&] { load_keras(js, ex("KERAS_3layer_weights.h5")); }),
              HasSubstr(js + ": model has 2 output_layers"));
  // A variable-size input.
  json var = base;
  var["config"]["layers"][0]["config"]["batch_input_shape"] = {nullptr, nullptr};
  js = write_arch(dir, "var.json", var);
  EXPECT_THAT(error_of([&] { load_keras(js, ex("KERAS_3layer_weights.h5")); }),
              HasSubstr(js + ": layer 'input_1': input dimension 1 is None"));
}

TEST(KerasErrors, FailedSavesLeaveExistingFilesUntouched) {
  ScratchDir dir;
  const std::string js = dir.write("out.json", "old json");
  const std::string h5 = dir.write("out.h5", "old h5");
  const std::string full = dir.write("full.h5", "old full");
  auto unchanged = [&] {
    EXPECT_EQ(read_file(js), "old json");
    EXPECT_EQ(read_file(h5), "old h5");
    EXPECT_EQ(read_file(full), "old full");
  };
  // An invalid model: nothing is written.
  Model bad = make_builtin_model("jet-mlp", 5, 1);
  bad.layers[2].weights["kernel"] = Tensor({3, 3});
  EXPECT_THAT(error_of([&] { save_keras(bad, js, h5); }),
              HasSubstr(js + ": layer 'fc2' (Dense): weight 'kernel' has shape (3, 3)"));
  EXPECT_THAT(error_of([&] { save_keras_h5(bad, full); }), HasSubstr(full + ": layer 'fc2'"));
  unchanged();
  // A precision QKeras has no quantizer for.
  Model one_bit = make_builtin_model("jet-mlp", 5, 1);
  one_bit.layers[0].precision.weight = FixedType::parse("ap_fixed<1,1>");
  EXPECT_THAT(error_of([&] { save_keras(one_bit, js, h5, kQKeras); }),
              HasSubstr(js + ": layer 'fc1': ap_fixed<1,1> has no QKeras equivalent"));
  unchanged();
  // The weights cannot be written: the JSON is not touched either.
  const Model ok = make_builtin_model("jet-mlp", 5, 1);
  const std::string msg = error_of([&] { save_keras(ok, js, dir.file("missing/dir/w.h5")); });
  EXPECT_THAT(msg, HasSubstr(dir.file("missing/dir/w.h5")));
  unchanged();
  // And a successful save replaces both.
  save_keras(ok, js, h5);
  EXPECT_NE(read_file(js), "old json");
  expect_same_model(ok, load_keras(js, h5));
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"full.h5", "out.h5", "out.json"}));  // no temporaries
}

}  // namespace
}  // namespace hwprune
