// Zero-structure removal: which Dense neurons / Conv filters are removed, the new shapes, and
// bit-identical outputs under reference_forward (quantized and float).
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/ir/model.hpp"
#include "hwprune/structures/reduce.hpp"
#include "support/models.hpp"

namespace hwprune {
namespace {

using structures::ReduceReport;
using structures::remove_zero_structures;
using test::every_layer_model;
using test::make_layer;
using test::random_tensor;
using ::testing::ElementsAre;

const Precision kFixed = FixedType::make(16, 6);

// reference_forward of both models on n random inputs, quantized and float: bit for bit.
void expect_same_outputs(const Model& a, const Model& b, int64_t n, uint64_t seed,
                         bool float_too = true) {
  Shape shape = a.input_shape;
  shape.insert(shape.begin(), n);
  const Tensor x = random_tensor(shape, seed, -2.0f, 2.0f);
  EXPECT_TRUE(reference_forward(a, x, true) == reference_forward(b, x, true)) << "quantized";
  if (float_too) {
    EXPECT_TRUE(reference_forward(a, x, false) == reference_forward(b, x, false)) << "float";
  }
}

void add_ones_mask(Layer& l) {
  if (l.mask.empty()) l.mask = Tensor(l.weight("kernel").shape, 1.0f);
}

// Masks output channel c of a Dense/Conv kernel.
void mask_output(Layer& l, int64_t c) {
  add_ones_mask(l);
  const int64_t f = l.mask.shape.back();
  for (int64_t j = c; j < l.mask.numel(); j += f) l.mask.data[static_cast<size_t>(j)] = 0.0f;
}

// Masks input channel c of a kernel (Dense row c, or Conv kernel[..., c, :]).
void mask_input(Layer& l, int64_t c) {
  add_ones_mask(l);
  const int64_t f = l.mask.shape.back(), ch = l.mask.shape[l.mask.shape.size() - 2];
  for (int64_t j = 0; j < l.mask.numel(); ++j)
    if ((j / f) % ch == c) l.mask.data[static_cast<size_t>(j)] = 0.0f;
}

void set(Layer& l, const char* key, int64_t i, float v) {
  l.weight(key).data.at(static_cast<size_t>(i)) = v;
}

// 8-16-12-4 MLP with ReLU, random weights and biases in [0.05, 0.5].
Model mlp() {
  Model m;
  m.name = "mlp";
  m.input_shape = {8};
  const int64_t sizes[] = {8, 16, 12, 4};
  for (int i = 0; i < 3; ++i) {
    Layer d = make_layer("d" + std::to_string(i + 1), LayerKind::Dense);
    d.units = sizes[i + 1];
    d.weights = {{"kernel", random_tensor({sizes[i], sizes[i + 1]}, 10 + i)},
                 {"bias", random_tensor({sizes[i + 1]}, 20 + i, 0.05f, 0.5f)}};
    m.layers.push_back(d);
    if (i < 2) {
      Layer r = make_layer("relu" + std::to_string(i + 1), LayerKind::Activation);
      r.activation = ActivationKind::ReLU;
      m.layers.push_back(r);
    }
  }
  m.infer_shapes();
  return m;
}

// d1: 2 masked/bias 0, 5 masked/bias < 0 (ReLU gives 0), 7 masked/bias > 0 (kept),
// 11 read by no unmasked d2 weight; d2: 3 masked/bias < 0.
Model mlp_with_zeros() {
  Model m = mlp();
  Layer& d1 = m.layer("d1");
  Layer& d2 = m.layer("d2");
  for (int64_t c : {2, 5, 7}) mask_output(d1, c);
  set(d1, "bias", 2, 0.0f);
  set(d1, "bias", 5, -0.5f);
  set(d1, "bias", 7, 0.5f);
  mask_input(d2, 11);
  mask_output(d2, 3);
  set(d2, "bias", 3, -1.0f);
  m.infer_shapes();
  return m;
}

class ReduceMlp : public ::testing::TestWithParam<bool> {};

TEST_P(ReduceMlp, RemovesExactlyTheZeroNeurons) {
  Model m = mlp_with_zeros();
  if (GetParam()) m.set_precision(kFixed);
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 2u);
  EXPECT_EQ(rep.changes[0].layer, "d1");
  EXPECT_EQ(rep.changes[0].consumer, "d2");
  EXPECT_EQ(rep.changes[0].before, 16);
  EXPECT_EQ(rep.changes[0].after, 13);
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(2, 5, 11));
  EXPECT_EQ(rep.changes[1].layer, "d2");
  EXPECT_THAT(rep.changes[1].removed, ElementsAre(3));
  EXPECT_EQ(rep.refused, 0);
  EXPECT_EQ(r.layer("d1").units, 13);
  EXPECT_EQ(r.layer("d1").weight("kernel").shape, (Shape{8, 13}));
  EXPECT_EQ(r.layer("d1").mask.shape, (Shape{8, 13}));
  EXPECT_EQ(r.layer("d1").weight("bias").shape, (Shape{13}));
  EXPECT_EQ(r.layer("d2").weight("kernel").shape, (Shape{13, 11}));
  EXPECT_EQ(r.layer("d2").units, 11);
  EXPECT_EQ(r.layer("d3").weight("kernel").shape, (Shape{11, 4}));
  EXPECT_EQ(r.layer("d3").units, 4);
  // The kept masked neuron 7 (positive bias) is now neuron 5.
  EXPECT_EQ(r.layer("d1").weight("bias").data[5], 0.5f);
  expect_same_outputs(m, r, 200, 1);
}

INSTANTIATE_TEST_SUITE_P(FloatAndFixed, ReduceMlp, ::testing::Bool());

TEST(Reduce, NothingToRemoveGivesTheSameModel) {
  const Model m = mlp();
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  EXPECT_TRUE(rep.changes.empty());
  EXPECT_EQ(r.layer("d1").weight("kernel"), m.layer("d1").weight("kernel"));
  EXPECT_EQ(r.layer("d2").weight("kernel"), m.layer("d2").weight("kernel"));
}

TEST(Reduce, LastWeightLayerKeptAndOneChannelAlwaysStays) {
  Model m = mlp();
  Layer& d1 = m.layer("d1");
  for (int64_t c = 0; c < 16; ++c) {
    mask_output(d1, c);
    set(d1, "bias", c, 0.0f);
  }
  Layer& d3 = m.layer("d3");
  for (int64_t c = 0; c < 4; ++c) {
    mask_output(d3, c);
    set(d3, "bias", c, 0.0f);
  }
  m.infer_shapes();
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  // d1 keeps its highest neuron; d2 is read by no unmasked d3 weight and keeps one too.
  EXPECT_EQ(r.layer("d1").units, 1);
  EXPECT_EQ(r.layer("d2").weight("kernel").shape, (Shape{1, 1}));
  EXPECT_EQ(r.layer("d3").weight("kernel").shape, (Shape{1, 4}));
  EXPECT_EQ(r.layer("d3").units, 4);  // the network's outputs are never removed
  ASSERT_EQ(rep.changes.size(), 2u);
  EXPECT_EQ(rep.changes[0].removed.size(), 15u);
  EXPECT_EQ(rep.changes[0].removed.back(), 14);  // the highest index is the one kept
  EXPECT_EQ(rep.changes[1].after, 1);
  EXPECT_EQ(rep.refused, 0);
  expect_same_outputs(m, r, 50, 2);
}

TEST(Reduce, AcceptRefusalRemovesFewerAndCountsRefused) {
  const Model m = mlp_with_zeros();
  int calls = 0;
  const auto even = [&](const Model& c) {
    ++calls;
    return c.layer("d1").units % 2 == 0 && c.layer("d2").units % 2 == 0;
  };
  ReduceReport rep;
  const Model r = remove_zero_structures(m, even, &rep);
  // d1: {2, 5, 11} -> 13 refused, {2, 5} -> 14 accepted; d2: {3} -> 11 refused.
  ASSERT_EQ(rep.changes.size(), 1u);
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(2, 5));
  EXPECT_EQ(r.layer("d1").units, 14);
  EXPECT_EQ(r.layer("d2").units, 12);
  EXPECT_EQ(rep.refused, 2);
  EXPECT_EQ(calls, 3);
  expect_same_outputs(m, r, 100, 3);
}

TEST(Reduce, WeightsQuantizingToZeroCountAsZero) {
  Model m = mlp();
  Layer& d1 = m.layer("d1");
  // Neuron 4: every weight 1e-5 (0 in ap_fixed<16,6>), bias 0.
  for (int64_t j = 4; j < d1.weight("kernel").numel(); j += 16) set(d1, "kernel", j, 1e-5f);
  set(d1, "bias", 4, 0.0f);
  // Neuron 9: every d2 weight reading it is tiny.
  Layer& d2 = m.layer("d2");
  for (int64_t f = 0; f < 12; ++f) set(d2, "kernel", 9 * 12 + f, 2e-5f);
  m.infer_shapes();

  ReduceReport rep;
  Model r = remove_zero_structures(m, {}, &rep);  // float: nothing is exactly zero
  EXPECT_TRUE(rep.changes.empty());

  m.set_precision(kFixed);
  r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 1u);
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(4, 9));
  EXPECT_EQ(r.layer("d1").units, 14);
  expect_same_outputs(m, r, 200, 4, /*float_too=*/false);
}

TEST(Reduce, MaskWinsOverNonZeroWeights) {
  Model m = mlp();
  mask_output(m.layer("d1"), 6);  // the weights stay non-zero, only the mask is 0
  set(m.layer("d1"), "bias", 6, 0.0f);
  m.infer_shapes();
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 1u);
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(6));
  expect_same_outputs(m, r, 50, 5);
}

TEST(Reduce, OtherLayersInTheChainStopIt) {
  Model m = mlp_with_zeros();
  m.layer("relu1").activation = ActivationKind::Softmax;  // d1 -> softmax -> d2: left alone
  m.infer_shapes();
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 1u);
  EXPECT_EQ(rep.changes[0].layer, "d2");
  EXPECT_EQ(r.layer("d1").units, 16);
  expect_same_outputs(m, r, 50, 11);
}

TEST(Reduce, BiasQuantizingToZeroUnderTheResultPrecision) {
  Model m = mlp();
  mask_output(m.layer("d1"), 8);
  set(m.layer("d1"), "bias", 8, 1e-4f);  // below ap_fixed<16,6>'s step: 0 when quantized
  m.infer_shapes();
  ReduceReport rep;
  remove_zero_structures(m, {}, &rep);
  EXPECT_TRUE(rep.changes.empty());  // float: the constant 1e-4 reaches d2
  m.set_precision(kFixed);
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 1u);
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(8));
  expect_same_outputs(m, r, 100, 12, /*float_too=*/false);
}

class ReduceCnn : public ::testing::TestWithParam<bool> {};

TEST_P(ReduceCnn, FmnistFiltersThroughPoolAndFlatten) {
  Model m = make_builtin_model("fmnist-cnn", 10, 7);
  Layer& conv1 = m.layer("conv1");
  Layer& conv2 = m.layer("conv2");
  for (int64_t c = 0; c < 16; ++c) set(conv1, "bias", c, 0.1f);
  for (int64_t c = 0; c < 32; ++c) set(conv2, "bias", c, 0.1f);
  for (int64_t c : {1, 4, 9}) {
    mask_output(conv1, c);
    set(conv1, "bias", c, 0.0f);
  }
  mask_input(conv2, 6);  // conv1 filter 6 is read by no unmasked weight
  for (int64_t c : {0, 7}) {
    mask_output(conv2, c);
    set(conv2, "bias", c, -0.2f);
  }
  mask_output(conv2, 10);  // positive bias: the output is a non-zero constant, kept
  m.infer_shapes();
  if (GetParam()) m.set_precision(kFixed);

  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 2u);
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(1, 4, 6, 9));
  EXPECT_EQ(rep.changes[1].layer, "conv2");
  EXPECT_EQ(rep.changes[1].consumer, "output");
  EXPECT_THAT(rep.changes[1].removed, ElementsAre(0, 7));
  EXPECT_EQ(r.layer("conv1").filters, 12);
  EXPECT_EQ(r.layer("conv2").weight("kernel").shape, (Shape{3, 3, 12, 30}));
  EXPECT_EQ(r.layer("conv2").mask.shape, (Shape{3, 3, 12, 30}));
  EXPECT_EQ(r.layer("flatten").output_shape, (Shape{750}));  // 5x5 positions per filter
  EXPECT_EQ(r.layer("output").weight("kernel").shape, (Shape{750, 10}));
  expect_same_outputs(m, r, 20, 6);
}

TEST_P(ReduceCnn, SvhnBatchNormAfterConvWithoutBias) {
  Model m = make_builtin_model("svhn-cnn", 10, 8);
  for (Layer& l : m.layers)
    if (l.kind == LayerKind::BatchNorm) {
      const int64_t c = l.weight("gamma").numel();
      l.weight("gamma") = random_tensor({c}, 30, 0.5f, 1.5f);
      l.weight("beta") = random_tensor({c}, 31, 0.0f, 0.3f);
      l.weight("moving_mean") = random_tensor({c}, 32, -0.5f, 0.5f);
      l.weight("moving_variance") = random_tensor({c}, 33, 0.5f, 2.0f);
    }
  Layer& conv1 = m.layer("conv1");
  Layer& bn1 = m.layer("bn1");
  for (int64_t c : {3, 5, 8}) mask_output(conv1, c);
  set(bn1, "gamma", 3, 0.0f);  // gamma = beta = 0: the output is 0, removable
  set(bn1, "beta", 3, 0.0f);
  set(bn1, "beta", 5, 0.5f);  // masked but BN adds 0.5 - mean * scale > 0: kept
  set(bn1, "moving_mean", 5, 0.0f);
  set(bn1, "moving_mean", 8, 0.0f);  // beta < 0 under ReLU: removable
  set(bn1, "beta", 8, -0.5f);
  Layer& dense1 = m.layer("dense1");
  Layer& bnd = m.layer("bn_dense1");
  mask_output(dense1, 10);
  set(bnd, "moving_mean", 10, 0.0f);
  set(bnd, "beta", 10, -1.0f);
  m.infer_shapes();
  if (GetParam()) m.set_precision(kFixed);

  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_EQ(rep.changes.size(), 2u);
  EXPECT_EQ(rep.changes[0].layer, "conv1");
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(3, 8));
  EXPECT_EQ(rep.changes[1].layer, "dense1");
  EXPECT_EQ(rep.changes[1].consumer, "dense2");
  EXPECT_THAT(rep.changes[1].removed, ElementsAre(10));
  EXPECT_EQ(r.layer("conv1").weight("kernel").shape, (Shape{3, 3, 3, 14}));
  EXPECT_FALSE(r.layer("conv1").use_bias);
  EXPECT_EQ(r.layer("bn1").weight("moving_variance").shape, (Shape{14}));
  EXPECT_EQ(r.layer("conv2").weight("kernel").shape, (Shape{3, 3, 14, 16}));
  EXPECT_EQ(r.layer("bn_dense1").weight("gamma").shape, (Shape{41}));
  EXPECT_EQ(r.layer("dense2").weight("kernel").shape, (Shape{41, 64}));
  expect_same_outputs(m, r, 20, 9);
}

INSTANTIATE_TEST_SUITE_P(FloatAndFixed, ReduceCnn, ::testing::Bool());

TEST(Reduce, ConvSamePaddingAvgPoolAndBatchNorm) {
  Model m = every_layer_model();  // conv-bn-relu-avg(same)-max-flat-drop-dense-bn2-lin-out
  mask_output(m.layer("conv"), 1);
  set(m.layer("conv"), "bias", 1, 0.0f);
  set(m.layer("bn"), "moving_mean", 1, 0.0f);
  set(m.layer("bn"), "beta", 1, -0.3f);
  mask_output(m.layer("dense"), 2);
  set(m.layer("dense"), "bias", 2, 0.0f);
  set(m.layer("bn2"), "gamma", 2, 0.0f);
  set(m.layer("bn2"), "beta", 2, 0.0f);
  m.infer_shapes();
  for (bool fixed : {false, true}) {
    Model mm = m;
    if (fixed) mm.set_precision(kFixed);
    ReduceReport rep;
    const Model r = remove_zero_structures(mm, {}, &rep);
    ASSERT_EQ(rep.changes.size(), 2u);
    EXPECT_THAT(rep.changes[0].removed, ElementsAre(1));
    EXPECT_THAT(rep.changes[1].removed, ElementsAre(2));
    EXPECT_EQ(r.layer("dense").weight("kernel").shape, (Shape{6, 4}));  // 2 positions x 3
    EXPECT_EQ(r.layer("out").weight("kernel").shape, (Shape{4, 3}));
    expect_same_outputs(mm, r, 100, 10);
  }
}

// A masked neuron outputs its bias b; after the activation f the consumer reads f(b), so the
// neuron is removable only where f(b) is exactly 0: sigmoid(0) = 0.5 and hard_sigmoid(0) = 0.5
// keep neuron 2 (bias 0), which ReLU, tanh, leaky ReLU, ELU and SELU remove.
struct ActivationCase {
  ActivationKind kind;
  std::vector<int64_t> removed;  // of d1: 2 (bias 0), 5 (bias -0.5), 7 (bias 0.5), 11 (unread)
};

class ReduceActivation : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ReduceActivation, DeadNeuronOutputsTheActivationOfItsBias) {
  Model m = mlp_with_zeros();
  Layer& act = m.layer("relu1");
  act.activation = GetParam().kind;
  std::tie(act.alpha, act.beta) = default_activation_params(act.activation);
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_FALSE(rep.changes.empty());
  EXPECT_EQ(rep.changes[0].layer, "d1");
  EXPECT_EQ(rep.changes[0].removed, GetParam().removed) << to_string(act.activation);
  expect_same_outputs(m, r, 200, 3);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ReduceActivation,
                         ::testing::Values(ActivationCase{ActivationKind::ReLU, {2, 5, 11}},
                                           ActivationCase{ActivationKind::Linear, {2, 11}},
                                           ActivationCase{ActivationKind::Sigmoid, {11}},
                                           ActivationCase{ActivationKind::HardSigmoid, {11}},
                                           ActivationCase{ActivationKind::Tanh, {2, 11}},
                                           ActivationCase{ActivationKind::LeakyReLU, {2, 11}},
                                           ActivationCase{ActivationKind::ELU, {2, 11}},
                                           ActivationCase{ActivationKind::SELU, {2, 11}}),
                         [](const auto& info) { return std::string(to_string(info.param.kind)); });

TEST(Reduce, SigmoidOfAVeryNegativeBiasQuantizesToZero) {
  // sigmoid(-20) = 2e-9 truncates to 0 in ap_fixed<16,6> (10 fractional bits): neuron 5 goes;
  // sigmoid(0) = 0.5 (neuron 2) stays.
  Model m = mlp_with_zeros();
  m.layer("relu1").activation = ActivationKind::Sigmoid;
  set(m.layer("d1"), "bias", 5, -20.0f);
  m.set_precision(kFixed);
  ReduceReport rep;
  const Model r = remove_zero_structures(m, {}, &rep);
  ASSERT_FALSE(rep.changes.empty());
  EXPECT_THAT(rep.changes[0].removed, ElementsAre(5, 11));
  expect_same_outputs(m, r, 200, 4, false);
}

}  // namespace
}  // namespace hwprune
