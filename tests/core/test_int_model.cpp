// The bit-exact integer model (int_model.hpp): hand-computed networks (per-product casts,
// wrapping and saturating accumulators, accumulation order under reuse), agreement with the
// float-domain reference when the accumulator is exact, masks, BatchNorm folding, errors.
#include "hwprune/ir/int_model.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using test::make_layer;
using test::random_tensor;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

FixedType T(const char* s) {
  return FixedType::parse(s);
}

Layer dense(const std::string& name, int64_t n_in, int64_t n_out, std::vector<float> kernel,
            std::vector<float> bias, LayerPrecision p) {
  Layer l = make_layer(name, LayerKind::Dense);
  l.units = n_out;
  l.weights["kernel"] = Tensor({n_in, n_out}, std::move(kernel));
  if (bias.empty())
    l.use_bias = false;
  else
    l.weights["bias"] = Tensor({n_out}, std::move(bias));
  l.precision = p;
  return l;
}

Layer relu(const std::string& name, const Precision& result) {
  Layer l = make_layer(name, LayerKind::Activation);
  l.activation = ActivationKind::ReLU;
  l.precision.result = result;
  return l;
}

// 2 inputs at ap_fixed<6,3> (F 3) -> Dense 2 -> ReLU, with the given accumulator.
//   weights ap_fixed<6,2> (F 4): kernel (in, out) [[0.8125, -0.5625], [0.4375, 1.25]]
//                                raw [[13, -9], [7, 20]]
//   bias    ap_fixed<5,2> (F 3): [0.4, -0.25] -> raw [3 (0.4 * 8 = 3.2, truncated), -2]
//   result  ap_fixed<10,4> (F 6); ReLU result ap_ufixed<6,2> (F 4)
Model tiny_model(const FixedType& accum) {
  Model m;
  m.name = "tiny";
  m.input_shape = {2};
  m.input_precision = T("ap_fixed<6,3>");
  LayerPrecision p{T("ap_fixed<6,2>"), T("ap_fixed<5,2>"), accum, T("ap_fixed<10,4>")};
  m.layers = {dense("fc", 2, 2, {0.8125f, -0.5625f, 0.4375f, 1.25f}, {0.4f, -0.25f}, p),
              relu("relu", T("ap_ufixed<6,2>"))};
  m.infer_shapes();
  return m;
}

TEST(IntModel, TinyNetworkHandComputed) {
  // Input x = [1.375, -0.625] -> raw [11, -5] (F 3). Products w * x are exact at F 4 + 3 = 7:
  //   out 0: 13 * 11 = 143 (1.1171875), 7 * -5 = -35 (-0.2734375)
  //   out 1: -9 * 11 = -99, 20 * -5 = -100
  // Accumulator ap_fixed<8,4> (F 4, AP_TRN): each product is truncated to F 4 on its own:
  //   143 -> floor(143 / 8) = 17, -35 -> floor(-4.375) = -5, -99 -> -13, -100 -> -13.
  //   bias: 3 at F 3 -> 6 at F 4; -2 -> -4.
  //   acc 0 = 6 + 17 - 5 = 18 (1.125); acc 1 = -4 - 13 - 13 = -30 (-1.875)
  // Result F 6: 72, -120. ReLU to ap_ufixed<6,2> (F 4): 72 -> 18 (1.125), -120 -> 0.
  // With an exact accumulator the sum would be 0.375 + 1.1171875 - 0.2734375 = 1.21875:
  // result 78 at F 6, ReLU 19 (1.1875) -- what reference_forward computes.
  const Model m = tiny_model(T("ap_fixed<8,4>"));
  const IntNetwork net = make_int_network(m);
  ASSERT_EQ(net.layers.size(), 1u);
  const IntDense& d = net.dense(0);
  EXPECT_THAT(d.w, ElementsAre(13, -9, 7, 20));
  EXPECT_THAT(d.b, ElementsAre(3, -2));
  EXPECT_EQ(d.input, T("ap_fixed<6,3>"));
  EXPECT_TRUE(d.relu);
  EXPECT_EQ(net.output_type(), T("ap_ufixed<6,2>"));

  const float x[2] = {1.375f, -0.625f};
  const auto raw_in = net.quantize_input(x);
  EXPECT_THAT(raw_in, ElementsAre(11, -5));
  std::vector<std::vector<int64_t>> trace;
  EXPECT_THAT(net.run(raw_in, &trace), ElementsAre(18, 0));
  ASSERT_EQ(trace.size(), 1u);
  EXPECT_THAT(trace[0], ElementsAre(18, 0));

  const Tensor y = net.forward(Tensor({1, 2}, {1.375f, -0.625f}));
  EXPECT_THAT(y.data, ElementsAre(1.125f, 0.0f));
  const Tensor ref = reference_forward(m, Tensor({1, 2}, {1.375f, -0.625f}), true);
  EXPECT_THAT(ref.data, ElementsAre(1.1875f, 0.0f));  // the float reference has no accumulator

  // Accumulator ap_fixed<5,1> (F 4, raw -16..15). AP_WRAP:
  //   out 0: 6; product 17 wraps to -15; 6 - 15 = -9; -9 - 5 = -14 -> result -56 -> ReLU 0
  //   out 1: -4; -4 - 13 = -17 wraps to 15; 15 - 13 = 2 -> result 8 -> ReLU 2 (0.125)
  EXPECT_THAT(make_int_network(tiny_model(T("ap_fixed<5,1>"))).run(raw_in), ElementsAre(0, 2));
  // AP_SAT:
  //   out 0: 6; product 17 saturates to 15; 6 + 15 = 21 -> 15; 15 - 5 = 10 -> 40 -> ReLU 10
  //   out 1: -4; -17 -> -16; -16 - 13 = -29 -> -16 -> result -64 -> ReLU 0
  EXPECT_THAT(make_int_network(tiny_model(T("ap_fixed<5,1,AP_TRN,AP_SAT>"))).run(raw_in),
              ElementsAre(10, 0));
  // AP_RND accumulator (F 4): 143 / 8 = 17.875 -> 18, -4.375 -> -4, -12.375 -> -12,
  // -12.5 -> -12 (ties up): acc 0 = 6 + 18 - 4 = 20 -> 80 -> ReLU 20;
  // acc 1 = -4 - 12 - 12 = -28 -> ReLU 0.
  EXPECT_THAT(make_int_network(tiny_model(T("ap_fixed<8,4,AP_RND>"))).run(raw_in),
              ElementsAre(20, 0));
}

// 3 inputs at ap_fixed<8,4> (F 4), all weights 1.0 (ap_fixed<8,4>, raw 16), no bias (and a
// float bias precision, which then does not matter), result ap_fixed<8,4>.
Model order_model(const FixedType& accum) {
  Model m;
  m.name = "order";
  m.input_shape = {3};
  m.input_precision = T("ap_fixed<8,4>");
  LayerPrecision p{T("ap_fixed<8,4>"), std::nullopt, accum, T("ap_fixed<8,4>")};
  m.layers = {dense("fc", 3, 1, {1.0f, 1.0f, 1.0f}, {}, p)};
  m.infer_shapes();
  return m;
}

TEST(IntModel, ReuseFactorOrderMattersForSaturatingAccumulator) {
  // x = [3, 3, -3]: products 3, 3, -3, each raw 24 in the accumulator ap_fixed<6,3,AP_TRN,
  // AP_SAT> (F 3, raw -32..31, values -4..3.875).
  //   RF 1 (order i = 0, 1, 2): 24; 48 -> 31; 31 - 24 = 7 (0.875) -> result 14
  //   RF 2 (N 3, BF 2: cycle 0 adds t 0 and t 2, cycle 1 adds t 1; order 0, 2, 1):
  //         24; 0; 24 (3.0) -> result 48
  //   RF 3 (BF 1: order 0, 1, 2): like RF 1 -> 14
  const std::vector<int64_t> x = {48, 48, -48};
  const Model sat = order_model(T("ap_fixed<6,3,AP_TRN,AP_SAT>"));
  EXPECT_THAT(make_int_network(sat).run(x), ElementsAre(14));
  EXPECT_THAT(make_int_network(sat, {1}).run(x), ElementsAre(14));
  EXPECT_THAT(make_int_network(sat, {2}).run(x), ElementsAre(48));
  EXPECT_THAT(make_int_network(sat, {3}).run(x), ElementsAre(14));
  EXPECT_EQ(make_int_network(sat, {2}).dense(0).reuse_factor, 2);
  // AP_WRAP is modular: 24; 48 wraps to -16; -16 - 24 = -40 wraps to 24 = 3.0 in any order.
  const Model wrap = order_model(T("ap_fixed<6,3>"));
  for (int64_t rf : {1, 2, 3}) EXPECT_THAT(make_int_network(wrap, {rf}).run(x), ElementsAre(48));
}

TEST(IntModel, ReuseFactorOrderOnTransposedKernel) {
  // 2 inputs, 2 outputs, RF 3: N 4, BF 2; cycle 0 adds t 0 (out 0, in 0) and t 3 (out 1,
  // in 1), cycle 1 t 1 (out 0, in 1), cycle 2 t 2 (out 1, in 0): output 1 adds input 1
  // first. Accumulator ap_fixed<6,3,AP_TRN,AP_SAT> (raw -32..31 at F 3), weights 1.0.
  // x = [-3, 3] (raw -24, 24 in the accumulator), biases [0, 3.5] (raw 28):
  //   out 0 (order 0, 1): 0 - 24 + 24 = 0 either way
  //   out 1, RF 1 (order 0, 1): 28 - 24 = 4; 4 + 24 = 28 (3.5) -> result 56
  //   out 1, RF 3 (order 1, 0): 28 + 24 = 52 -> 31; 31 - 24 = 7 (0.875) -> result 14
  Model m;
  m.input_shape = {2};
  m.input_precision = T("ap_fixed<8,4>");
  LayerPrecision p{T("ap_fixed<8,4>"), T("ap_fixed<8,4>"), T("ap_fixed<6,3,AP_TRN,AP_SAT>"),
                   T("ap_fixed<8,4>")};
  m.layers = {dense("fc", 2, 2, {1.0f, 1.0f, 1.0f, 1.0f}, {0.0f, 3.5f}, p)};
  const std::vector<int64_t> x = {-48, 48};
  EXPECT_THAT(make_int_network(m, {1}).run(x), ElementsAre(0, 56));
  EXPECT_THAT(make_int_network(m, {3}).run(x), ElementsAre(0, 14));
  EXPECT_THAT(make_int_network(m, {4}).run(x), ElementsAre(0, 56));  // BF 1: t = ir in order
}

// jet-mlp (16-64-32-32-5, ReLU, final Softmax) at `precision`, with random biases.
Model jet_model(const std::string& precision, uint64_t seed) {
  Model m = make_builtin_model("jet-mlp", 5, seed);
  int k = 0;
  for (Layer& l : m.layers)
    if (l.kind == LayerKind::Dense)
      l.weights["bias"] = random_tensor({l.units}, seed * 100 + k++, -0.5f, 0.5f);
  m.set_precision(parse_precision(precision));
  return m;
}

Model without_softmax(Model m) {
  m.layers.pop_back();
  m.infer_shapes();
  return m;
}

int64_t argmax(const float* v, int64_t n) {
  return std::max_element(v, v + n) - v;
}

TEST(IntModel, AgreesWithReferenceWhenTheAccumulatorIsExact) {
  // The accumulator ap_fixed<40,20> (F 20 >= Fw + Fx, 19 integer bits) never rounds or
  // overflows here, so the integer model computes the exact sums the reference means.
  // reference_forward multiplies and adds in float32, which is exact only while products
  // and partial sums fit in 24 significant bits: true for these weights and inputs (products
  // of at most 21 bits, sums below 2^(24 - F) with F <= 20); the count printed shows it.
  // relu2 is a quantized_relu with an unsigned AP_RND_CONV/AP_SAT result, so fc3 multiplies
  // signed weights by unsigned inputs.
  for (const char* prec :
       {"ap_fixed<10,4>", "ap_fixed<16,6>", "ap_fixed<12,5,AP_RND_CONV,AP_SAT>"}) {
    Model m = jet_model(prec, 3);
    for (Layer& l : m.layers)
      if (l.kind == LayerKind::Dense) l.precision.accum = T("ap_fixed<40,20>");
    m.layer("relu2").activation = ActivationKind::QuantizedReLU;
    m.layer("relu2").precision.result = T("ap_ufixed<8,3,AP_RND_CONV,AP_SAT>");
    const Tensor x = random_tensor({200, 16}, 7, -3.0f, 3.0f);
    const IntNetwork net = make_int_network(m);
    EXPECT_EQ(net.layers.size(), 4u);
    EXPECT_EQ(net.dense(2).input, T("ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"));
    EXPECT_EQ(net.output_type(), T(prec));
    const Tensor got = net.forward(x);
    const Tensor ref = reference_forward(without_softmax(m), x, true);
    ASSERT_EQ(got.shape, ref.shape);
    int64_t differ = 0;
    for (int64_t j = 0; j < got.numel(); ++j) differ += got.data[j] != ref.data[j];
    std::cout << prec << ": " << differ << " of " << got.numel()
              << " outputs differ from reference_forward\n";
    EXPECT_EQ(differ, 0) << prec;
  }
}

TEST(IntModel, PerProductTruncationBoundOnOneLayer) {
  // One Dense (16 -> 64, ReLU) with the accumulator at the result's grid (everything
  // ap_fixed<12,6>, AP_TRN, F 6; no overflow for these values, checked below). Every product is
  // truncated on its own, an error in (-step, 0]; the bias is already on the grid. So in steps, the
  // exact sum E and the integer result A satisfy E - 16 < A <= E, and the reference gives floor(E):
  // 0 <= reference - A <= 15 steps (ReLU is monotone and keeps that).
  Model m = jet_model("ap_fixed<12,6>", 5);
  m.layers.resize(2);  // fc1, relu1
  m.infer_shapes();
  const Tensor x = random_tensor({500, 16}, 11, -3.0f, 3.0f);
  const Tensor got = make_int_network(m).forward(x);
  const Tensor ref = reference_forward(m, x, true);
  const double step = T("ap_fixed<12,6>").step();
  double max_steps = 0;
  for (int64_t j = 0; j < got.numel(); ++j) {
    ASSERT_LT(std::abs(ref.data[j]), 16.0f) << j;  // far from the type's range (+-32)
    const double d = (ref.data[j] - got.data[j]) / step;
    ASSERT_GE(d, 0.0) << j;
    ASSERT_LE(d, 15.0) << j;
    EXPECT_EQ(d, std::floor(d));
    max_steps = std::max(max_steps, d);
  }
  std::cout << "largest difference: " << max_steps << " steps\n";
  EXPECT_GT(max_steps, 0.0);  // the truncation is visible
}

TEST(IntModel, DefaultAccumulatorKeepsTheArgmax) {
  // hls4ml's default: everything ap_fixed<16,6>, the accumulator included (F 10, while the
  // products have F 20). Differences are only the per-product truncations, so the class
  // rarely changes.
  const Model m = jet_model("ap_fixed<16,6>", 9);
  const int64_t n = 1000;
  const Tensor x = random_tensor({n, 16}, 13, -3.0f, 3.0f);
  const Tensor got = make_int_network(m).forward(x);
  const Tensor ref = reference_forward(without_softmax(m), x, true);
  int64_t agree = 0, equal = 0;
  for (int64_t s = 0; s < n; ++s) {
    agree += argmax(&got.data[s * 5], 5) == argmax(&ref.data[s * 5], 5);
    equal += std::equal(&got.data[s * 5], &got.data[s * 5 + 5], &ref.data[s * 5]);
  }
  std::cout << "argmax agrees on " << agree << " of " << n << " samples; all 5 logits equal on "
            << equal << "\n";
  EXPECT_GT(agree, n * 95 / 100);
  EXPECT_LT(equal, n);  // the accumulator casts are modelled
}

TEST(IntModel, MaskedWeightsAreZero) {
  Model m = jet_model("ap_fixed<16,6>", 4);
  Layer& fc2 = m.layer("fc2");
  Tensor& k = fc2.weight("kernel");
  fc2.mask = Tensor(k.shape, 1.0f);
  std::mt19937_64 rng(5);
  for (float& v : fc2.mask.data) v = rng() % 2 ? 1.0f : 0.0f;
  Model zeroed = m;
  Layer& z = zeroed.layer("fc2");
  for (size_t j = 0; j < k.data.size(); ++j)
    if (z.mask.data[j] == 0.0f) z.weight("kernel").data[j] = 0.0f;
  z.mask = Tensor();

  const IntNetwork a = make_int_network(m), b = make_int_network(zeroed);
  const IntDense& d = a.dense(1);
  int64_t masked = 0;
  for (size_t j = 0; j < d.w.size(); ++j)
    if (fc2.mask.data[j] == 0.0f) {
      ++masked;
      ASSERT_EQ(d.w[j], 0) << j;
      ASSERT_NE(k.data[j], 0.0f);
    }
  EXPECT_GT(masked, 0);
  EXPECT_EQ(d.w, b.dense(1).w);
  const Tensor x = random_tensor({50, 16}, 6, -3.0f, 3.0f);
  EXPECT_EQ(a.forward(x), b.forward(x));
}

TEST(IntModel, BatchNormAfterDenseIsFolded) {
  Model m;
  m.name = "bn";
  m.input_shape = {6};
  Layer bn = make_layer("bn", LayerKind::BatchNorm);
  bn.weights = {{"gamma", random_tensor({4}, 1, 0.5f, 1.5f)},
                {"beta", random_tensor({4}, 2)},
                {"moving_mean", random_tensor({4}, 3)},
                {"moving_variance", random_tensor({4}, 4, 0.2f, 2.0f)}};
  m.layers = {dense("fc1", 6, 4, random_tensor({6, 4}, 5).data, random_tensor({4}, 6).data, {}), bn,
              relu("relu", {}), dense("fc2", 4, 3, random_tensor({4, 3}, 7).data, {}, {})};
  m.set_precision(T("ap_fixed<16,6>"));
  m.layer("bn").precision.result = T("ap_fixed<12,5>");
  m.infer_shapes();

  const IntNetwork a = make_int_network(m), b = make_int_network(fold_batchnorm(m));
  ASSERT_EQ(a.layers.size(), 2u);
  EXPECT_EQ(a.dense(0).result, T("ap_fixed<12,5>"));  // the BatchNorm's result precision
  EXPECT_EQ(a.dense(1).input, T("ap_fixed<16,6>"));   // the ReLU's
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(a.dense(k).w, b.dense(k).w);
    EXPECT_EQ(a.dense(k).b, b.dense(k).b);
  }
  EXPECT_THAT(a.dense(1).b, ElementsAre(0, 0, 0));  // use_bias = false
  const Tensor x = random_tensor({40, 6}, 8, -2.0f, 2.0f);
  EXPECT_EQ(a.forward(x), b.forward(x));
}

TEST(IntModel, IdentityLayersAndFinalSoftmax) {
  // Dropout, Flatten of a vector and a linear activation at the same precision change
  // nothing; the final Softmax is dropped.
  Model base = jet_model("ap_fixed<16,6>", 2);
  Model m = base;
  Layer drop = make_layer("drop", LayerKind::Dropout);
  Layer flat = make_layer("flat", LayerKind::Flatten);
  Layer lin = make_layer("lin", LayerKind::Activation);
  lin.precision.result = T("ap_fixed<16,6,AP_RND,AP_SAT>");  // same grid: the identity
  m.layers.insert(m.layers.begin() + 1, {drop, flat, lin});
  flat.name = "flat0";
  m.layers.insert(m.layers.begin(), flat);
  m.infer_shapes();
  const Tensor x = random_tensor({30, 16}, 3, -3.0f, 3.0f);
  EXPECT_EQ(make_int_network(m).forward(x), make_int_network(base).forward(x));
  EXPECT_EQ(make_int_network(base).forward(x), make_int_network(without_softmax(base)).forward(x));
}

// Every value of `got` equals `ref`'s (the first difference is reported).
void expect_equal_values(const Tensor& got, const Tensor& ref) {
  ASSERT_EQ(got.numel(), ref.numel());
  for (int64_t j = 0; j < got.numel(); ++j) ASSERT_EQ(got.data[j], ref.data[j]) << j;
}

Layer pool_layer(const std::string& name, LayerKind kind, std::vector<int64_t> pool,
                 std::vector<int64_t> strides, Padding padding) {
  Layer l = make_layer(name, kind);
  l.pool_size = std::move(pool);
  l.strides = std::move(strides);
  l.padding = padding;
  return l;
}

// A Conv1D of 4 filters (random weights) over a (20, 3) sequence, then `after`.
Model conv1d_model(int64_t kernel, int64_t stride, Padding padding,
                   const std::vector<Layer>& after) {
  Model m;
  m.name = "c1";
  m.input_shape = {20, 3};
  Layer conv = make_layer("conv", LayerKind::Conv1D);
  conv.filters = 4;
  conv.kernel_size = {kernel};
  conv.strides = {stride};
  conv.padding = padding;
  conv.weights["kernel"] = random_tensor({kernel, 3, 4}, 4, -1.0f, 1.0f);
  conv.weights["bias"] = random_tensor({4}, 5, -0.5f, 0.5f);
  m.layers = {conv};
  m.layers.insert(m.layers.end(), after.begin(), after.end());
  m.infer_shapes();
  return m;
}

TEST(IntModel, CnnAgreesWithReferenceWhenTheAccumulatorIsExact) {
  // fmnist-cnn shrunk to 12x12 (Conv2D 3x3 + ReLU, MaxPool 2x2, Conv2D + ReLU, MaxPool,
  // Flatten, Dense), one Conv with "same" padding and stride 2; exact accumulators as
  // above. Conv1D likewise on a (20, 3) sequence.
  Model m = make_builtin_model("fmnist-cnn", 4, 5, {12, 12, 1});
  m.layer("conv1").padding = Padding::Same;
  m.layer("conv2").strides = {2, 1};
  m.layer("conv2").padding = Padding::Same;
  // 12x12x16 -> pool 6x6x16 -> conv2 3x6x32 -> pool 1x3x32: 96 values
  m.layer("output").weights["kernel"] = random_tensor({96, 4}, 6, -0.3f, 0.3f);
  m.infer_shapes();
  for (Layer& l : m.layers)
    if (l.has_kernel())
      l.weights["bias"] = random_tensor({l.weights["bias"].numel()}, 3, -.5f, .5f);
  m.set_precision(T("ap_fixed<10,4>"));
  for (Layer& l : m.layers)
    if (l.has_kernel()) l.precision.accum = T("ap_fixed<40,20>");
  const Tensor x = random_tensor({40, 12, 12, 1}, 8, -2.0f, 2.0f);
  const IntNetwork net = make_int_network(m);
  EXPECT_EQ(net.n_in(), 144);
  EXPECT_EQ(net.n_out(), 4);
  expect_equal_values(net.forward(x), reference_forward(without_softmax(m), x, true));

  Model c1 = conv1d_model(5, 2, Padding::Same,
                          {relu("relu", std::nullopt),
                           pool_layer("pool", LayerKind::MaxPool1D, {2}, {2}, Padding::Valid),
                           make_layer("flat", LayerKind::Flatten)});
  c1.set_precision(T("ap_fixed<12,5>"));
  c1.layer("conv").precision.accum = T("ap_fixed<40,20>");
  const Tensor x1 = random_tensor({30, 20, 3}, 9, -3.0f, 3.0f);
  expect_equal_values(make_int_network(c1).forward(x1), reference_forward(c1, x1, true));

  // The trace holds every stage's outputs: conv (+relu), pool.
  std::vector<std::vector<int64_t>> trace;
  make_int_network(c1).run(std::vector<int64_t>(60, 100), &trace);
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[0].size(), 40u);  // (10, 4)
  EXPECT_EQ(trace[1].size(), 20u);  // (5, 4)
}

// One average pooling layer on an (L, C) or (H, W, C) input of type `in`.
Model avg_model(const Shape& input, std::vector<int64_t> pool, std::vector<int64_t> strides,
                Padding padding, const FixedType& in, const FixedType& result) {
  Model m;
  m.name = "avg";
  m.input_shape = input;
  m.input_precision = in;
  Layer p = pool_layer("avg", input.size() == 2 ? LayerKind::AvgPool1D : LayerKind::AvgPool2D,
                       std::move(pool), std::move(strides), padding);
  p.precision.result = result;
  m.layers = {p};
  m.infer_shapes();
  return m;
}

// The real values of raw inputs at `type`, as one sample of `shape`.
Tensor real_sample(const Shape& shape, const std::vector<int64_t>& raw, const FixedType& type) {
  Shape s = shape;
  s.insert(s.begin(), 1);
  Tensor t(s);
  for (size_t i = 0; i < raw.size(); ++i) t.data[i] = static_cast<float>(type.to_real(raw[i]));
  return t;
}

TEST(IntModel, AveragePooling1DHandComputed) {
  // (5, 2) input at ap_fixed<6,3> (F 3), pool 3, stride 2, valid: windows 0..2 and 2..4.
  // e = ceil(log2 3) = 2: accumulator ap_fixed<10,5> (F 5); inputs move onto it (x 4).
  //   raw channel 0: [3, -2, 4, 1, -7]; channel 1: [-1, -1, -2, 5, 0]
  //   sums at F 5: ch0 (3 - 2 + 4) * 4 = 20, (4 + 1 - 7) * 4 = -8
  //                ch1 (-1 - 1 - 2) * 4 = -16, (-2 + 5 + 0) * 4 = 12
  //   / 3 truncated towards zero: 20 -> 6 (6.67), -8 -> -2 (-2.67), -16 -> -5 (-5.33), 12 -> 4
  // Result ap_fixed<6,3> (F 3, AP_TRN): floor(q / 4): 1, -1, -2, 1 -- also the floor of the
  // exact means (1.67, -0.67, -1.33, 1 steps), what the float reference computes.
  const FixedType in = T("ap_fixed<6,3>");
  const Model m = avg_model({5, 2}, {3}, {2}, Padding::Valid, in, in);
  const IntNetwork net = make_int_network(m);
  ASSERT_EQ(net.layers.size(), 1u);
  const IntPool& p = std::get<IntPool>(net.layers[0]);
  EXPECT_EQ(p.op, IntPool::Op::Average);
  EXPECT_EQ(p.type, in);
  EXPECT_EQ(p.accum, T("ap_fixed<10,5>"));
  EXPECT_EQ(p.result, in);
  EXPECT_THAT(p.out_shape, ElementsAre(2, 2));
  EXPECT_THAT(p.pad_begin, ElementsAre(0));
  EXPECT_EQ(net.output_type(), in);
  const std::vector<int64_t> x{3, -1, -2, -1, 4, -2, 1, 5, -7, 0};  // position-major
  // Outputs position-major: (0, ch0), (0, ch1), (1, ch0), (1, ch1).
  EXPECT_THAT(net.run(x), ElementsAre(1, -2, -1, 1));
  const Tensor xr = real_sample({5, 2}, x, in);
  EXPECT_EQ(net.forward(xr).data, reference_forward(m, xr, true).data);

  // Result AP_RND (nearest, ties up) on the truncated quotient: 6 / 4 = 1.5 -> 2,
  // -5 / 4 = -1.25 -> -1, -2 / 4 = -0.5 -> 0, 4 / 4 -> 1. The exact mean -0.67 would round to
  // -1: hls4ml truncates the quotient first, and the float reference differs there.
  const Model rnd = avg_model({5, 2}, {3}, {2}, Padding::Valid, in, T("ap_fixed<6,3,AP_RND>"));
  EXPECT_THAT(make_int_network(rnd).run(x), ElementsAre(2, -1, 0, 1));
  EXPECT_THAT(reference_forward(rnd, xr, true).data, ElementsAre(0.25f, -0.125f, -0.125f, 0.125f));
}

TEST(IntModel, AveragePooling2DHandComputed) {
  // (2, 4, 1) input at ap_fixed<8,4> (F 4), pool 2x2: e = 2, accumulator ap_fixed<12,6>
  // (F 6). Raw rows [5, -3, 7, 8] and [-6, -1, 0, 2].
  // Stride 2: sums -5 and 17 steps, at F 6 -20 and 68, / 4 = -5 and 17 (exact).
  //   result ap_fixed<8,4> (F 4, AP_TRN): floor(-5 / 4) = -2, floor(17 / 4) = 4
  //   result ap_fixed<10,4> (F 6): -5 and 17, the quotient's two extra bits kept
  //   result ap_fixed<8,4,AP_TRN_ZERO>: -1.25 -> -1, 4.25 -> 4
  // Stride 1 (stride != pool, io_parallel in hls4ml): a third window in the middle,
  //   -3 + 7 - 1 + 0 = 3 -> 12 / 4 = 3 at F 6 -> floor(3 / 4) = 0.
  const FixedType in = T("ap_fixed<8,4>");
  const std::vector<int64_t> x{5, -3, 7, 8, -6, -1, 0, 2};
  const Model m = avg_model({2, 4, 1}, {2, 2}, {2, 2}, Padding::Valid, in, in);
  const IntNetwork net = make_int_network(m);
  const IntPool& p = std::get<IntPool>(net.layers.at(0));
  EXPECT_EQ(p.accum, T("ap_fixed<12,6>"));
  EXPECT_THAT(p.out_shape, ElementsAre(1, 2, 1));
  EXPECT_THAT(net.run(x), ElementsAre(-2, 4));
  EXPECT_THAT(make_int_network(
                  avg_model({2, 4, 1}, {2, 2}, {2, 2}, Padding::Valid, in, T("ap_fixed<10,4>")))
                  .run(x),
              ElementsAre(-5, 17));
  EXPECT_THAT(make_int_network(avg_model({2, 4, 1}, {2, 2}, {2, 2}, Padding::Valid, in,
                                         T("ap_fixed<8,4,AP_TRN_ZERO>")))
                  .run(x),
              ElementsAre(-1, 4));
  const Model s1 = avg_model({2, 4, 1}, {2, 2}, {1, 1}, Padding::Valid, in, in);
  EXPECT_THAT(make_int_network(s1).run(x), ElementsAre(-2, 0, 4));
  const Tensor xr = real_sample({2, 4, 1}, x, in);
  EXPECT_EQ(make_int_network(s1).forward(xr).data, reference_forward(s1, xr, true).data);

  // An unsigned input keeps its sign: ap_ufixed<6,2> (F 4) -> ap_ufixed<10,4> (F 6).
  EXPECT_EQ(average_pool_accum_type(T("ap_ufixed<6,2>"), 4), T("ap_ufixed<10,4>"));
  // 9 values: e = 4; 1 value: e = 0.
  EXPECT_EQ(average_pool_accum_type(T("ap_fixed<16,6>"), 9), T("ap_fixed<24,10>"));
  EXPECT_EQ(average_pool_accum_type(T("ap_fixed<16,6>"), 1), T("ap_fixed<16,6>"));
}

TEST(IntModel, AveragePoolingSamePaddingDividesByTheValidCount) {
  // (3, 3, 1) at ap_fixed<6,3> (F 3), pool 2x2 stride 2 "same": out (2, 2), one zero row and
  // column after the input, not counted: windows of 4, 2, 2 and 1 values. e = 2 (F 5).
  //   raw rows [1, 2, -3], [4, -5, 6], [-7, 0, 3]
  //   (0, 0): 1 + 2 + 4 - 5 = 2 -> 8 / 4 = 2 -> floor(2 / 4) = 0
  //   (0, 1): -3 + 6 = 3 -> 12 / 2 = 6 -> 1
  //   (1, 0): -7 + 0 = -7 -> -28 / 2 = -14 -> floor(-3.5) = -4
  //   (1, 1): 3 -> 12 / 1 = 12 -> 3
  const FixedType in = T("ap_fixed<6,3>");
  const Model m = avg_model({3, 3, 1}, {2, 2}, {2, 2}, Padding::Same, in, in);
  const IntNetwork net = make_int_network(m);
  EXPECT_THAT(std::get<IntPool>(net.layers.at(0)).pad_begin, ElementsAre(0, 0));
  const std::vector<int64_t> x{1, 2, -3, 4, -5, 6, -7, 0, 3};
  EXPECT_THAT(net.run(x), ElementsAre(0, 1, -4, 3));
  const Tensor xr = real_sample({3, 3, 1}, x, in);
  EXPECT_EQ(net.forward(xr).data, reference_forward(m, xr, true).data);

  // (4, 1), pool 3, stride 1 "same": one zero before and one after (pad_begin 1); windows of
  // 2, 3, 3, 2 values. Raw [5, -4, 1, -6]:
  //   5 - 4 = 1 -> 4 / 2 = 2 -> 0;  5 - 4 + 1 = 2 -> 8 / 3 = 2 -> 0;
  //   -4 + 1 - 6 = -9 -> -36 / 3 = -12 -> -3;  1 - 6 = -5 -> -20 / 2 = -10 -> floor(-2.5) = -3
  const Model m1 = avg_model({4, 1}, {3}, {1}, Padding::Same, in, in);
  const IntNetwork net1 = make_int_network(m1);
  EXPECT_THAT(std::get<IntPool>(net1.layers.at(0)).pad_begin, ElementsAre(1));
  const std::vector<int64_t> x1{5, -4, 1, -6};
  EXPECT_THAT(net1.run(x1), ElementsAre(0, 0, -3, -3));
  const Tensor xr1 = real_sample({4, 1}, x1, in);
  EXPECT_EQ(net1.forward(xr1).data, reference_forward(m1, xr1, true).data);
}

TEST(IntModel, AveragePoolingAgreesWithReferenceForTruncatingResults) {
  // The quotient truncated at e extra bits, then floored to an AP_TRN result with no more
  // fractional bits than the input, is the floor of the exact mean (a mean of n <= 2^e
  // values is a multiple of 1/n, never within 2^-e of the next grid point without reaching
  // it): the integer model equals the float reference. fmnist-cnn at 12x12 with both pools
  // average (2x2 valid; 3x3 stride 2 "same"), and a Conv1D without ReLU (negative means)
  // into a "same" and a strided valid average pool.
  Model m = make_builtin_model("fmnist-cnn", 4, 5, {12, 12, 1});
  m.layer("pool1").kind = LayerKind::AvgPool2D;
  Layer& pool2 = m.layer("pool2");
  pool2.kind = LayerKind::AvgPool2D;
  pool2.pool_size = {3, 3};
  pool2.strides = {2, 2};
  pool2.padding = Padding::Same;
  // 12x12 -> conv 10x10x16 -> pool 5x5 -> conv 3x3x32 -> pool 2x2x32: 128 values
  m.layer("output").weights["kernel"] = random_tensor({128, 4}, 6, -0.3f, 0.3f);
  m.infer_shapes();
  m.set_precision(T("ap_fixed<10,4>"));
  for (Layer& l : m.layers)
    if (l.has_kernel()) l.precision.accum = T("ap_fixed<40,20>");
  const Tensor x = random_tensor({40, 12, 12, 1}, 8, -2.0f, 2.0f);
  expect_equal_values(make_int_network(m).forward(x),
                      reference_forward(without_softmax(m), x, true));

  // (20, 3) -> conv (18, 4) -> same (18, 4) -> strided (8, 4)
  Model c1 = conv1d_model(3, 1, Padding::Valid,
                          {pool_layer("same", LayerKind::AvgPool1D, {3}, {1}, Padding::Same),
                           pool_layer("strided", LayerKind::AvgPool1D, {3}, {2}, Padding::Valid),
                           make_layer("flat", LayerKind::Flatten)});
  c1.set_precision(T("ap_fixed<12,5>"));
  c1.layer("conv").precision.accum = T("ap_fixed<40,20>");
  const Tensor x1 = random_tensor({30, 20, 3}, 9, -3.0f, 3.0f);
  const IntNetwork net1 = make_int_network(c1);
  EXPECT_EQ(net1.n_out(), 32);
  const Tensor got1 = net1.forward(x1);
  const Tensor ref1 = reference_forward(c1, x1, true);
  ASSERT_EQ(got1.numel(), ref1.numel());
  int64_t negative = 0;
  for (int64_t j = 0; j < got1.numel(); ++j) {
    ASSERT_EQ(got1.data[j], ref1.data[j]) << j;
    negative += got1.data[j] < 0;
  }
  EXPECT_GT(negative, got1.numel() / 4);  // the truncation towards zero was exercised
}

TEST(IntModel, ActivationStagesAndTheirParameters) {
  // Dense -> sigmoid -> Dense -> leaky_relu: table and parameter stages between Dense
  // layers; the param type holds alpha with the fewest integer bits (>= 2).
  Model m = jet_model("ap_fixed<16,6>", 2);
  m.layer("relu1").activation = ActivationKind::Sigmoid;
  m.layer("relu2").activation = ActivationKind::LeakyReLU;
  m.layer("relu2").alpha = 0.3;
  const IntNetwork net = make_int_network(m);
  ASSERT_EQ(net.layers.size(), 6u);  // fc1, sigmoid, fc2, leaky, fc3 (+relu3), output
  const auto& sig = std::get<IntActivation>(net.layers[1]);
  EXPECT_EQ(sig.table.size(), 1024u);
  EXPECT_EQ(sig.table_type, T("ap_fixed<18,8>"));
  EXPECT_EQ(sig.table[512], 512);  // sigmoid(0) = 0.5 at F 10
  const auto& leaky = std::get<IntActivation>(net.layers[3]);
  EXPECT_EQ(leaky.param, T("ap_fixed<18,2>"));
  EXPECT_EQ(leaky.param_raw, static_cast<int64_t>(std::floor(0.3 * 65536)));
  Layer big = make_layer("elu", LayerKind::Activation);
  big.activation = ActivationKind::ELU;
  big.alpha = 5.0;
  EXPECT_EQ(activation_param_type(big), T("ap_fixed<18,4>"));
  // Outputs are the sigmoid's: within (0, 1) after the first stage.
  std::vector<std::vector<int64_t>> trace;
  net.run(net.quantize_input(std::vector<float>(16, 0.7f).data()), &trace);
  for (int64_t v : trace[1]) {
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 1024);  // result ap_fixed<16,6>: F 10
  }
  EXPECT_THAT(error_of([&] { net.dense(1); }), HasSubstr("'relu1' is not a Dense"));

  Model hs = jet_model("ap_fixed<16,6>", 2);
  hs.layer("relu1").activation = ActivationKind::HardSigmoid;
  hs.layer("relu1").alpha = 1.5;
  EXPECT_THAT(error_of([&] { make_int_network(hs); }),
              AllOf(HasSubstr("relu1"), HasSubstr("[0, 1)")));
}

TEST(IntModel, Errors) {
  Model cnn = make_builtin_model("fmnist-cnn", 10, 1);
  cnn.set_precision(T("ap_fixed<16,6>"));
  Model avg = cnn;
  avg.layer("pool1").kind = LayerKind::AvgPool2D;
  avg.layer("pool1").precision.result = std::nullopt;
  EXPECT_THAT(error_of([&] { make_int_network(avg); }),
              AllOf(HasSubstr("pool1"), HasSubstr("result precision is float")));
  // The accumulator of a 2x2 average of 60-bit values needs 64 bits; of 59-bit values 63.
  const FixedType w60 = T("ap_fixed<60,30>"), w59 = T("ap_fixed<59,30>");
  EXPECT_THAT(error_of([&] {
                make_int_network(avg_model({2, 2, 1}, {2, 2}, {2, 2}, Padding::Valid, w60, w60));
              }),
              AllOf(HasSubstr("'avg'"), HasSubstr("ap_fixed<64,32>")));
  EXPECT_THAT(error_of([&] {
                make_int_network(avg_model({2, 2, 1}, {2, 2}, {2, 2}, Padding::Valid, w59, w59));
              }),
              AllOf(HasSubstr("'avg'"), HasSubstr("63 bits")));
  Model same = cnn;
  same.layer("pool1").padding = Padding::Same;
  same.infer_shapes();
  EXPECT_THAT(error_of([&] { make_int_network(same); }),
              AllOf(HasSubstr("pool1"), HasSubstr("same")));

  Model f = jet_model("ap_fixed<16,6>", 1);
  f.layer("fc2").precision.weight = std::nullopt;
  EXPECT_THAT(error_of([&] { make_int_network(f); }),
              AllOf(HasSubstr("fc2"), HasSubstr("weight precision is float")));
  Model fa = jet_model("ap_fixed<16,6>", 1);
  fa.layer("relu3").precision.result = std::nullopt;
  EXPECT_THAT(error_of([&] { make_int_network(fa); }),
              AllOf(HasSubstr("relu3"), HasSubstr("result precision is float")));
  Model fi = jet_model("ap_fixed<16,6>", 1);
  fi.input_precision = std::nullopt;
  EXPECT_THAT(error_of([&] { make_int_network(fi); }), HasSubstr("input precision is float"));

  // 40-bit weights times 40-bit inputs: 80-bit products.
  Model wide = jet_model("ap_fixed<40,20>", 1);
  EXPECT_THAT(error_of([&] { make_int_network(wide); }),
              AllOf(HasSubstr("fc1"), HasSubstr("80 bits")));
  Model wide_acc = jet_model("ap_fixed<16,6>", 1);
  wide_acc.layer("output").precision.accum = T("ap_fixed<62,30>");
  EXPECT_THAT(error_of([&] { make_int_network(wide_acc); }),
              AllOf(HasSubstr("output"), HasSubstr("63 bits")));

  Model sm = jet_model("ap_fixed<16,6>", 1);
  std::swap(sm.layers[6], sm.layers[7]);  // softmax before the output Dense
  EXPECT_THAT(error_of([&] { make_int_network(sm); }),
              AllOf(HasSubstr("softmax"), HasSubstr("last layer")));

  Model lin = jet_model("ap_fixed<16,6>", 1);
  Layer l = make_layer("lin", LayerKind::Activation);
  l.precision.result = T("ap_fixed<8,3>");
  lin.layers.insert(lin.layers.begin() + 1, l);
  // A linear activation to another grid is a cast stage.
  ASSERT_EQ(make_int_network(lin).layers.size(), 6u);  // relu1 is no longer fused
  EXPECT_EQ(std::get<IntActivation>(make_int_network(lin).layers[1]).result, T("ap_fixed<8,3>"));

  Model bn = jet_model("ap_fixed<16,6>", 1);
  Layer b = make_layer("bn0", LayerKind::BatchNorm);
  b.weights = {{"gamma", Tensor({16}, 1.0f)},
               {"beta", Tensor({16}, 0.0f)},
               {"moving_mean", Tensor({16}, 0.0f)},
               {"moving_variance", Tensor({16}, 1.0f)}};
  bn.layers.insert(bn.layers.begin(), b);
  EXPECT_THAT(error_of([&] { make_int_network(bn); }), HasSubstr("bn0"));

  const Model ok = jet_model("ap_fixed<16,6>", 1);
  EXPECT_THAT(error_of([&] {
                make_int_network(ok, {1, 2});
              }),
              HasSubstr("2 reuse factors for 4 Dense/Conv layers"));
  EXPECT_THAT(error_of([&] {
                make_int_network(ok, {1, 2, 1, 1, 1});
              }),
              HasSubstr("5 reuse factors for 4 Dense/Conv layers"));
  EXPECT_THAT(error_of([&] {
                make_int_network(cnn, {1, 2});
              }),
              HasSubstr("2 reuse factors for 3 Dense/Conv layers"));
  const IntNetwork net = make_int_network(ok);
  std::vector<float> x(16, 0.5f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT(error_of([&] { net.quantize_input(x.data()); }), HasSubstr("input 3"));
  EXPECT_THAT(error_of([&] { net.run(std::vector<int64_t>(15, 0)); }), HasSubstr("15 inputs"));
  EXPECT_THAT(error_of([&] { net.run(std::vector<int64_t>(16, 1 << 20)); }), HasSubstr("outside"));
  EXPECT_THAT(error_of([&] { net.forward(Tensor({2, 8})); }), HasSubstr("(2, 8)"));
}

}  // namespace
}  // namespace hwprune
