// Pruning support of the training engine: the group regulariser (group lasso and variance,
// Keras -> torch index mapping), shared weight groups, dead channels held at zero, and the
// data-driven weight scores (Oracle, Saliency) checked against hand-written backprop.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/train/trainer.hpp"
#include "support/models.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

namespace hwprune::train {
namespace {

using hw::GroupSet;
using test::error_of;
using test::make_blobs;
using test::make_layer;
using test::random_tensor;
using ::testing::HasSubstr;

TrainConfig small_config() {
  TrainConfig c;
  c.epochs = 1;
  c.batch_size = 16;
  c.lr = 1e-2;
  c.seed = 3;
  c.threads = 1;
  return c;
}

void finish(Model& m, int classes = 3) {
  for (int c = 0; c < classes; ++c) m.class_names.push_back(std::to_string(c));
  m.infer_shapes();
}

Layer softmax() {
  Layer s = make_layer("softmax", LayerKind::Activation);
  s.activation = ActivationKind::Softmax;
  return s;
}

Layer relu(const char* name = "relu") {
  Layer r = make_layer(name, LayerKind::Activation);
  r.activation = ActivationKind::ReLU;
  return r;
}

// (5) -> Dense fc 4 -> ReLU -> Dense out 3 -> softmax; float, non-zero biases.
Model tiny_mlp() {
  Model m;
  m.name = "tiny-mlp";
  m.input_shape = {5};
  Layer fc = make_layer("fc", LayerKind::Dense);
  fc.units = 4;
  fc.weights = {{"kernel", random_tensor({5, 4}, 1, -0.8f, 0.8f)},
                {"bias", random_tensor({4}, 2, -0.5f, 0.5f)}};
  Layer out = make_layer("out", LayerKind::Dense);
  out.units = 3;
  out.weights = {{"kernel", random_tensor({4, 3}, 3, -0.8f, 0.8f)},
                 {"bias", random_tensor({3}, 4, -0.5f, 0.5f)}};
  m.layers = {fc, relu(), out, softmax()};
  finish(m);
  return m;
}

// (5, 5, 2) -> Conv2D conv 3 filters 2x2 valid [-> BatchNorm bn] -> ReLU -> Flatten -> Dense
// out 3 -> softmax.
Model tiny_cnn(bool batchnorm) {
  Model m;
  m.name = "tiny-cnn";
  m.input_shape = {5, 5, 2};
  Layer c = make_layer("conv", LayerKind::Conv2D);
  c.filters = 3;
  c.kernel_size = {2, 2};
  c.strides = {1, 1};
  c.weights = {{"kernel", random_tensor({2, 2, 2, 3}, 5, -0.6f, 0.6f)},
               {"bias", random_tensor({3}, 6, -0.3f, 0.3f)}};
  m.layers.push_back(c);
  if (batchnorm) {
    Layer bn = make_layer("bn", LayerKind::BatchNorm);
    bn.weights = {{"gamma", random_tensor({3}, 7, 0.5f, 1.5f)},
                  {"beta", random_tensor({3}, 8, -0.5f, 0.5f)},
                  {"moving_mean", random_tensor({3}, 9, -0.2f, 0.2f)},
                  {"moving_variance", random_tensor({3}, 10, 0.5f, 1.5f)}};
    m.layers.push_back(bn);
  }
  m.layers.push_back(relu());
  m.layers.push_back(make_layer("flat", LayerKind::Flatten));
  Layer out = make_layer("out", LayerKind::Dense);
  out.units = 3;
  out.weights = {{"kernel", random_tensor({48, 3}, 11, -0.3f, 0.3f)},
                 {"bias", random_tensor({3}, 12, -0.1f, 0.1f)}};
  m.layers.push_back(out);
  m.layers.push_back(softmax());
  finish(m);
  return m;
}

// (6, 2) -> Conv1D conv 4 filters k3 valid -> Flatten -> Dense out 3 -> softmax.
Model tiny_conv1d() {
  Model m;
  m.name = "tiny-conv1d";
  m.input_shape = {6, 2};
  Layer c = make_layer("conv", LayerKind::Conv1D);
  c.filters = 4;
  c.kernel_size = {3};
  c.strides = {1};
  c.weights = {{"kernel", random_tensor({3, 2, 4}, 13)}, {"bias", random_tensor({4}, 14)}};
  Layer out = make_layer("out", LayerKind::Dense);
  out.units = 3;
  out.weights = {{"kernel", random_tensor({16, 3}, 15)}, {"bias", random_tensor({3}, 16)}};
  m.layers = {c, make_layer("flat", LayerKind::Flatten), out, softmax()};
  finish(m);
  return m;
}

GroupSet groups_of(const std::string& layer, const std::vector<std::vector<int64_t>>& gs) {
  GroupSet g;
  g.layer_name = layer;
  for (const auto& members : gs) {
    g.members.insert(g.members.end(), members.begin(), members.end());
    g.offsets.push_back(static_cast<int64_t>(g.members.size()));
  }
  return g;
}

// The indices 0..n-1 shuffled and cut into groups of the given sizes (irregular groups, so
// that a wrong Keras -> torch index mapping changes the penalty).
GroupSet random_groups(const std::string& layer, int64_t n, const std::vector<int64_t>& sizes,
                       uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::shuffle(idx.begin(), idx.end(), std::mt19937_64(seed));
  std::vector<std::vector<int64_t>> gs;
  size_t at = 0;
  for (int64_t s : sizes) {
    gs.emplace_back(idx.begin() + static_cast<int64_t>(at),
                    idx.begin() + static_cast<int64_t>(at + static_cast<size_t>(s)));
    at += static_cast<size_t>(s);
  }
  return groups_of(layer, gs);
}

// The header's formula, in double on the Keras-layout kernel (masked weights count as 0).
double hand_penalty(const Layer& l, const GroupSet& g, double alpha, double beta) {
  const Tensor& k = l.weight("kernel");
  double total = 0;
  for (size_t gi = 0; gi < g.size(); ++gi) {
    const auto members = g.group(gi);
    if (members.empty()) continue;
    std::vector<double> w;
    for (int64_t i : members)
      w.push_back(!l.mask.empty() && l.mask.data[i] == 0.0f ? 0.0 : k.data[i]);
    const double n = static_cast<double>(w.size());
    double sq = 0, sum = 0;
    for (double v : w) sq += v * v, sum += v;
    const double mean = sum / n;
    double var = 0;
    for (double v : w) var += (v - mean) * (v - mean);
    total += alpha * std::sqrt(n) * std::sqrt(sq) + beta * var / n;
  }
  return total;
}

Tensor ones_with_zeros(const Shape& shape, const std::vector<int64_t>& zeros) {
  Tensor m(shape, 1.0f);
  for (int64_t i : zeros) m.data[static_cast<size_t>(i)] = 0.0f;
  return m;
}

// Keras flat indices of output channel c of a kernel (the last axis is the output channel).
std::vector<int64_t> channel(const Tensor& kernel, int64_t c) {
  const int64_t out = kernel.shape.back();
  std::vector<int64_t> r;
  for (int64_t i = c; i < kernel.numel(); i += out) r.push_back(i);
  return r;
}

bool all_finite(const Tensor& t) {
  return std::all_of(t.data.begin(), t.data.end(), [](float v) { return std::isfinite(v); });
}

// --- the regulariser ---------------------------------------------------------------------

TEST(Regulariser, ValueMatchesHandComputationDenseConv2dConv1d) {
  struct Case {
    Model model;
    std::vector<int64_t> sizes;
    std::vector<int64_t> masked;
  };
  std::vector<Case> cases;
  cases.push_back({tiny_mlp(), {3, 1, 7, 0, 5}, {2, 9}});                 // 20 weights, 16 used
  cases.push_back({tiny_cnn(false), {5, 3, 7, 1, 8}, {0, 5, 6, 17}});     // 24 weights
  cases.push_back({tiny_conv1d(), {4, 4, 4, 4, 4, 4}, {1, 2, 3, 4, 5}});  // 24 weights
  for (auto& [m, sizes, masked] : cases) {
    Layer& l = m.layers[0];
    const int64_t n = l.weight("kernel").numel();
    const GroupSet g = random_groups(l.name, n, sizes, 21);
    l.mask = ones_with_zeros(l.weight("kernel").shape, masked);
    Trainer t(m, small_config());
    EXPECT_EQ(t.regulariser_value(), 0.0);
    for (auto [alpha, beta] : {std::pair{1.0, 0.0}, {0.0, 1.0}, {0.3, 0.7}}) {
      t.set_regulariser({{g, alpha, beta}});
      const double want = hand_penalty(l, g, alpha, beta);
      ASSERT_GT(want, 0.01);
      EXPECT_NEAR(t.regulariser_value(), want, 1e-5 * want) << m.name << " " << alpha << beta;
    }
    // Two penalties add; an empty list removes the regulariser.
    const GroupSet g2 = random_groups(l.name, n, {2, 2, 2}, 22);
    t.set_regulariser({{g, 0.5, 0.0}, {g2, 0.0, 2.0}});
    EXPECT_NEAR(t.regulariser_value(), hand_penalty(l, g, 0.5, 0) + hand_penalty(l, g2, 0, 2),
                1e-5);
    t.set_regulariser({});
    EXPECT_EQ(t.regulariser_value(), 0.0);
  }
}

TEST(Regulariser, AllZeroGroupGivesFiniteGradientAndReportedLossExcludesThePenalty) {
  const data::Dataset d = make_blobs(16, {5}, 3, 1);
  Model m = tiny_mlp();
  // Column 0 of fc is exactly zero (not masked): its norm is 0 where sqrt is not smooth.
  for (int64_t i : channel(m.layer("fc").weight("kernel"), 0))
    m.layer("fc").weight("kernel").data[i] = 0.0f;
  Model m2 = m;
  Trainer t(m, small_config()), plain(m2, small_config());
  GroupSet columns;
  columns.layer_name = "fc";
  for (int64_t c = 0; c < 4; ++c) {
    for (int64_t i : channel(m.layer("fc").weight("kernel"), c)) columns.members.push_back(i);
    columns.offsets.push_back(static_cast<int64_t>(columns.members.size()));
  }
  t.set_regulariser({{columns, 1.0, 1.0}});
  ASSERT_GT(t.regulariser_value(), 0.1);
  // The loss before the step is reported without the penalty.
  EXPECT_DOUBLE_EQ(t.train_step(d), plain.train_step(d));
  for (int s = 0; s < 3; ++s) EXPECT_TRUE(std::isfinite(t.train_step(d)));
  t.sync_to_model();
  EXPECT_TRUE(all_finite(m.layer("fc").weight("kernel")));
  EXPECT_TRUE(std::isfinite(t.regulariser_value()));
}

// Per-neuron group lasso: a large alpha zeroes most fc columns, alpha = 0 none.
TEST(Regulariser, LargeAlphaDrivesGroupNormsToZero) {
  const data::Dataset d = make_blobs(64, {5}, 3, 2);
  auto small_columns = [&](double alpha) {
    Model m = tiny_mlp();
    Trainer t(m, small_config());
    GroupSet columns;
    columns.layer_name = "fc";
    for (int64_t c = 0; c < 4; ++c) {
      for (int64_t i : channel(m.layer("fc").weight("kernel"), c)) columns.members.push_back(i);
      columns.offsets.push_back(static_cast<int64_t>(columns.members.size()));
    }
    t.set_regulariser({{columns, alpha, 0.0}});
    for (int s = 0; s < 150; ++s) t.train_step(d);
    t.sync_to_model();
    int small = 0;
    for (int64_t c = 0; c < 4; ++c) {
      double sq = 0;
      for (int64_t i : channel(m.layer("fc").weight("kernel"), c))
        sq += std::pow(m.layer("fc").weight("kernel").data[i], 2);
      small += std::sqrt(sq) < 0.05;
    }
    return small;
  };
  EXPECT_EQ(small_columns(0.0), 0);
  EXPECT_GE(small_columns(1.0), 3);
}

TEST(Regulariser, BadPenaltiesAreRefused) {
  Model m = tiny_cnn(true);
  Trainer t(m, small_config());
  const GroupSet ok = random_groups("conv", 24, {4, 4}, 1);
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{groups_of("nope", {{0}}), 1.0, 0.0}});
              }),
              HasSubstr("no layer 'nope'"));
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{groups_of("bn", {{0}}), 1.0, 0.0}});
              }),
              HasSubstr("layer 'bn' (BatchNormalization) has no kernel"));
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{groups_of("conv", {{0, 24}}), 1.0, 0.0}});
              }),
              HasSubstr("layer 'conv': group member 24 is outside the kernel (24 weights)"));
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{groups_of("conv", {{-1}}), 1.0, 0.0}});
              }),
              HasSubstr("layer 'conv': group member -1"));
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{ok, -0.1, 0.0}});
              }),
              HasSubstr("layer 'conv': alpha and beta must be finite and >= 0"));
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{ok, 0.0, std::nan("")}});
              }),
              HasSubstr("layer 'conv': alpha and beta"));
  GroupSet by_index = ok;
  by_index.layer_name.clear();
  by_index.layer = 9;
  EXPECT_THAT(error_of([&] {
                t.set_regulariser({{by_index, 1.0, 0.0}});
              }),
              HasSubstr("has no layer 9"));
  EXPECT_THAT(error_of([&] { t.add_shared_groups(groups_of("relu", {{0}})); }),
              HasSubstr("add_shared_groups: layer 'relu' (Activation) has no kernel"));
  EXPECT_THAT(error_of([&] { t.add_shared_groups(groups_of("out", {{144}})); }),
              HasSubstr("layer 'out': group member 144"));
  // A failed call leaves the previous regulariser in place.
  t.set_regulariser({{ok, 1.0, 0.0}});
  EXPECT_ANY_THROW(t.set_regulariser({{ok, -1.0, 0.0}}));
  EXPECT_GT(t.regulariser_value(), 0.0);
  by_index.layer = 0;  // by index is fine too
  t.set_regulariser({{by_index, 1.0, 0.0}});
  EXPECT_GT(t.regulariser_value(), 0.0);
}

// --- shared groups -----------------------------------------------------------------------

// Each group's unmasked weights equal, masked ones +0.0.
void expect_shared(const Layer& l, const GroupSet& g) {
  const Tensor& k = l.weight("kernel");
  for (size_t gi = 0; gi < g.size(); ++gi) {
    std::optional<float> value;
    for (int64_t i : g.group(gi)) {
      if (!l.mask.empty() && l.mask.data[i] == 0.0f) {
        EXPECT_EQ(k.data[i], 0.0f);
        EXPECT_FALSE(std::signbit(k.data[i]));
        continue;
      }
      if (!value) value = k.data[i];
      EXPECT_EQ(k.data[i], *value) << l.name << " group " << gi << " member " << i;
    }
  }
}

TEST(SharedGroups, UnmaskedWeightsOfAGroupStayEqualThroughTraining) {
  const data::Dataset d = make_blobs(48, {5, 5, 2}, 3, 3);
  Model m = tiny_cnn(true);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  Layer& conv = m.layer("conv");
  const GroupSet g = random_groups("conv", 24, {4, 4, 4, 4, 4, 4}, 5);
  // Group 0: one weight masked (mean of the other three); group 1: all masked.
  std::vector<int64_t> masked = {g.group(0)[1]};
  for (int64_t i : g.group(1)) masked.push_back(i);
  conv.mask = ones_with_zeros(conv.weight("kernel").shape, masked);
  const Tensor before = conv.weight("kernel");
  Trainer t(m, small_config());
  t.add_shared_groups(g);
  t.sync_to_model();
  expect_shared(m.layer("conv"), g);  // at once
  {
    // The shared value is the mean of the group's unmasked weights.
    double sum = 0;
    for (int64_t i : g.group(0))
      if (i != g.group(0)[1]) sum += before.data[i];
    EXPECT_NEAR(m.layer("conv").weight("kernel").data[g.group(0)[0]], sum / 3, 1e-6);
  }
  for (int s = 0; s < 10; ++s) t.train_step(d);
  t.sync_to_model();
  expect_shared(m.layer("conv"), g);
  const Tensor shared = m.layer("conv").weight("kernel");
  EXPECT_NE(shared.data[g.group(2)[0]], before.data[g.group(2)[0]]);  // it trains
  // Without the tie the weights of a group drift apart again.
  t.clear_shared_groups();
  for (int s = 0; s < 5; ++s) t.train_step(d);
  t.sync_to_model();
  const Tensor& k = m.layer("conv").weight("kernel");
  int differ = 0;
  for (size_t gi = 2; gi < g.size(); ++gi)
    differ += k.data[g.group(gi)[0]] != k.data[g.group(gi)[1]];
  EXPECT_GT(differ, 0);
}

// --- dead channels -----------------------------------------------------------------------

struct DeadCase {
  Model model;
  std::string layer, bn;  // bn: "" without a BatchNorm after the layer
};

// Masks channel 1 of `layer` fully and channel 2 partly; trains; returns the IR model.
Model train_with_dead_channel(DeadCase c, bool zero_dead, bool check_at_construction) {
  Model& m = c.model;
  Layer& l = m.layer(c.layer);
  std::vector<int64_t> masked = channel(l.weight("kernel"), 1);
  masked.push_back(channel(l.weight("kernel"), 2)[0]);
  l.mask = ones_with_zeros(l.weight("kernel").shape, masked);
  const data::Dataset d = make_blobs(48, m.input_shape, 3, 4);
  TrainConfig cfg = small_config();
  cfg.zero_dead_channels = zero_dead;
  cfg.quantize = m.is_quantized();  // float: the BatchNorm is not folded while training
  Trainer t(m, cfg);
  if (check_at_construction) {
    t.sync_to_model();
    EXPECT_EQ(m.layer(c.layer).weight("bias").data[1], 0.0f) << m.name;
    if (!c.bn.empty()) {
      EXPECT_EQ(m.layer(c.bn).weight("gamma").data[1], 0.0f) << m.name;
    }
  }
  for (int s = 0; s < 15; ++s) t.train_step(d);
  t.sync_to_model();
  return m;
}

TEST(DeadChannels, BiasAndFoldedBatchNormOfAFullyMaskedChannelStayExactlyZero) {
  std::vector<DeadCase> cases = {
      {tiny_mlp(), "fc", ""}, {tiny_cnn(false), "conv", ""}, {tiny_cnn(true), "conv", "bn"}};
  cases.push_back({tiny_cnn(true), "conv", "bn"});
  cases.back().model.set_precision(parse_precision("ap_fixed<16,6>"));  // BN folded for QAT
  cases[1].model.set_precision(parse_precision("ap_fixed<12,4>"));
  for (const DeadCase& c : cases) {
    const std::string what = c.model.name + (c.model.is_quantized() ? " quantized" : " float");
    const Model before = c.model;
    const Model m = train_with_dead_channel(c, true, true);
    const Tensor& bias = m.layer(c.layer).weight("bias");
    EXPECT_EQ(bias.data[1], 0.0f) << what;
    EXPECT_FALSE(std::signbit(bias.data[1])) << what;
    // Channels with a weight left (channel 2 is only partly masked) keep training: their
    // bias, or with a BatchNorm after the layer (which cancels the bias's gradient) gamma
    // and beta.
    if (c.bn.empty()) {
      for (int64_t ch : {0, 2}) {
        EXPECT_NE(bias.data[ch], 0.0f) << what;
        EXPECT_NE(bias.data[ch], before.layer(c.layer).weight("bias").data[ch]) << what;
      }
    } else {
      for (const char* p : {"gamma", "beta"}) {
        const Tensor& v = m.layer(c.bn).weight(p);
        EXPECT_EQ(v.data[1], 0.0f) << what << " " << p;
        EXPECT_FALSE(std::signbit(v.data[1])) << what << " " << p;
        for (int64_t ch : {0, 2}) {
          EXPECT_NE(v.data[ch], 0.0f) << what << " " << p;
          EXPECT_NE(v.data[ch], before.layer(c.bn).weight(p).data[ch]) << what << " " << p;
        }
      }
      EXPECT_NE(bias.data[0], 0.0f) << what;
    }
    // Off (the default): the dead channel's bias trains like the others.
    const Model off = train_with_dead_channel(c, false, false);
    EXPECT_NE(off.layer(c.layer).weight("bias").data[1], 0.0f) << what;
  }
}

TEST(DeadChannels, ChannelMaskedLaterViaSetMask) {
  const data::Dataset d = make_blobs(48, {5}, 3, 5);
  Model m = tiny_mlp();
  TrainConfig cfg = small_config();
  cfg.zero_dead_channels = true;
  Trainer t(m, cfg);
  for (int s = 0; s < 3; ++s) t.train_step(d);
  t.set_mask("fc", ones_with_zeros({5, 4}, channel(m.layer("fc").weight("kernel"), 3)));
  t.sync_to_model();
  EXPECT_EQ(m.layer("fc").weight("bias").data[3], 0.0f);
  for (int s = 0; s < 5; ++s) t.train_step(d);
  t.sync_to_model();
  EXPECT_EQ(m.layer("fc").weight("bias").data[3], 0.0f);
  EXPECT_NE(m.layer("fc").weight("bias").data[0], 0.0f);
}

// --- weight scores -----------------------------------------------------------------------

// Hand-written backprop of tiny_mlp (float, cross-entropy) in double: the gradients of the
// mean loss over samples [start, start + len) for fc's and out's kernels (Keras layout).
struct MlpGrads {
  std::vector<double> fc, out;
};

MlpGrads mlp_grads(const Model& m, const data::Dataset& d, int64_t start, int64_t len) {
  const Layer& fc = m.layer("fc");
  const Layer& out = m.layer("out");
  auto w1 = [&](int64_t i, int64_t j) {
    const int64_t k = i * 4 + j;
    return fc.mask.empty() || fc.mask.data[k] != 0.0f ? double(fc.weight("kernel").data[k]) : 0.0;
  };
  auto w2 = [&](int64_t j, int64_t o) { return double(out.weight("kernel").data[j * 3 + o]); };
  MlpGrads g{std::vector<double>(20, 0.0), std::vector<double>(12, 0.0)};
  for (int64_t s = start; s < start + len; ++s) {
    const float* x = d.x.ptr() + s * 5;
    double pre[4], h[4], z[3], dz[3], dh[4];
    for (int64_t j = 0; j < 4; ++j) {
      pre[j] = fc.weight("bias").data[j];
      for (int64_t i = 0; i < 5; ++i) pre[j] += x[i] * w1(i, j);
      h[j] = std::max(pre[j], 0.0);
    }
    double zmax = -1e300, zsum = 0;
    for (int64_t o = 0; o < 3; ++o) {
      z[o] = out.weight("bias").data[o];
      for (int64_t j = 0; j < 4; ++j) z[o] += h[j] * w2(j, o);
      zmax = std::max(zmax, z[o]);
    }
    for (double v : z) zsum += std::exp(v - zmax);
    for (int64_t o = 0; o < 3; ++o)
      dz[o] = (std::exp(z[o] - zmax) / zsum - (d.labels[s] == o ? 1.0 : 0.0)) / double(len);
    for (int64_t j = 0; j < 4; ++j) {
      dh[j] = 0;
      for (int64_t o = 0; o < 3; ++o) {
        g.out[j * 3 + o] += h[j] * dz[o];
        dh[j] += dz[o] * w2(j, o);
      }
      if (pre[j] <= 0) dh[j] = 0;
      for (int64_t i = 0; i < 5; ++i) g.fc[i * 4 + j] += x[i] * dh[j];
    }
  }
  return g;
}

TEST(WeightScores, OracleAndSaliencyMatchHandWrittenBackprop) {
  const data::Dataset d = make_blobs(40, {5}, 3, 6);
  Model m = tiny_mlp();
  m.layer("fc").mask = ones_with_zeros({5, 4}, {0, 5, 11});
  Trainer t(m, small_config());  // batch size 16
  const int64_t n = 30;          // batches of 16 and 14
  const auto oracle = t.weight_scores(d, ScoreKind::Oracle, n);
  const auto saliency = t.weight_scores(d, ScoreKind::Saliency, n);
  ASSERT_EQ(oracle.size(), 2u);
  ASSERT_EQ(saliency.size(), 2u);
  std::vector<double> want_o_fc(20, 0.0), want_o_out(12, 0.0), fisher_fc(20, 0.0),
      fisher_out(12, 0.0);
  for (int64_t start = 0; start < n; start += 16) {
    const MlpGrads g = mlp_grads(m, d, start, std::min<int64_t>(16, n - start));
    for (int64_t k = 0; k < 20; ++k)
      if (m.layer("fc").mask.data[k] != 0.0f)
        want_o_fc[k] += std::abs(m.layer("fc").weight("kernel").data[k] * g.fc[k]);
    for (int64_t k = 0; k < 12; ++k)
      want_o_out[k] += std::abs(m.layer("out").weight("kernel").data[k] * g.out[k]);
  }
  for (int64_t s = 0; s < n; ++s) {
    const MlpGrads g = mlp_grads(m, d, s, 1);
    for (int64_t k = 0; k < 20; ++k) fisher_fc[k] += g.fc[k] * g.fc[k] / double(n);
    for (int64_t k = 0; k < 12; ++k) fisher_out[k] += g.out[k] * g.out[k] / double(n);
  }
  auto check = [&](const Tensor& got, const std::vector<double>& want, const char* what) {
    ASSERT_EQ(static_cast<size_t>(got.numel()), want.size()) << what;
    double max = 0;
    for (double w : want) max = std::max(max, w);
    ASSERT_GT(max, 1e-3) << what;
    for (size_t k = 0; k < want.size(); ++k)
      EXPECT_NEAR(got.data[k], want[k], 1e-5 * max + 1e-4 * want[k]) << what << "[" << k << "]";
  };
  EXPECT_EQ(oracle.at("fc").shape, (Shape{5, 4}));
  check(oracle.at("fc"), want_o_fc, "oracle fc");
  check(oracle.at("out"), want_o_out, "oracle out");
  std::vector<double> want_s_fc(20), want_s_out(12);
  for (int64_t k = 0; k < 20; ++k) {
    const double w =
        m.layer("fc").mask.data[k] == 0.0f ? 0.0 : m.layer("fc").weight("kernel").data[k];
    want_s_fc[k] = w * w * fisher_fc[k] / 2;
  }
  for (int64_t k = 0; k < 12; ++k)
    want_s_out[k] = std::pow(m.layer("out").weight("kernel").data[k], 2) * fisher_out[k] / 2;
  check(saliency.at("fc"), want_s_fc, "saliency fc");
  check(saliency.at("out"), want_s_out, "saliency out");
  for (int64_t k : {0, 5, 11}) {
    EXPECT_EQ(oracle.at("fc").data[k], 0.0f);
    EXPECT_EQ(saliency.at("fc").data[k], 0.0f);
  }
  // The Fisher diagonal itself (joint pruning and precision); masked weights get no gradient.
  const auto fisher = t.weight_scores(d, ScoreKind::Fisher, n);
  for (int64_t k : {0, 5, 11}) fisher_fc[k] = 0;
  check(fisher.at("fc"), fisher_fc, "fisher fc");
  check(fisher.at("out"), fisher_out, "fisher out");
}

// A CNN with BatchNorm (folded when quantized, standalone in float), masks: scores are
// finite, >= 0, 0 where masked, reach the first layer through the BatchNorm, and leave the
// trainer exactly as it was (weights, running statistics, gradients, optimizer).
TEST(WeightScores, CnnScoresAreSaneAndLeaveTheTrainerUntouched) {
  const data::Dataset d = make_blobs(24, {5, 5, 2}, 3, 7);
  for (const char* precision : {"float", "ap_fixed<16,6>"}) {
    Model m = tiny_cnn(true);
    if (std::string(precision) != "float") m.set_precision(parse_precision(precision));
    m.layer("conv").mask = ones_with_zeros({2, 2, 2, 3}, {1, 4, 7, 20});
    Model m2 = m;
    TrainConfig cfg = small_config();
    cfg.batch_size = 8;
    cfg.quantize = m.is_quantized();  // float: the BatchNorm stands alone
    Trainer t(m, cfg), fresh(m2, cfg);
    for (int s = 0; s < 2; ++s) {  // non-trivial optimizer state and statistics
      t.train_step(d);
      fresh.train_step(d);
    }
    const Tensor pred = t.predict(d.x);
    for (ScoreKind kind : {ScoreKind::Oracle, ScoreKind::Saliency}) {
      const auto scores = t.weight_scores(d, kind, 16);
      ASSERT_EQ(scores.size(), 2u);
      const Tensor& conv = scores.at("conv");
      ASSERT_EQ(conv.shape, (Shape{2, 2, 2, 3}));
      int positive = 0;
      for (int64_t k = 0; k < conv.numel(); ++k) {
        ASSERT_TRUE(std::isfinite(conv.data[k]) && conv.data[k] >= 0.0f) << precision;
        if (m.layer("conv").mask.data[k] == 0.0f)
          EXPECT_EQ(conv.data[k], 0.0f) << precision << " " << k;
        else
          positive += conv.data[k] > 0.0f;
      }
      EXPECT_GE(positive, 15) << precision;
      for (float v : scores.at("out").data) ASSERT_TRUE(std::isfinite(v) && v >= 0.0f);
    }
    EXPECT_EQ(t.predict(d.x), pred) << precision;
    // The next step is the same as on a trainer that never scored.
    EXPECT_EQ(t.train_step(d), fresh.train_step(d)) << precision;
    t.sync_to_model();
    fresh.sync_to_model();
    EXPECT_EQ(m.layer("conv").weight("kernel"), m2.layer("conv").weight("kernel")) << precision;
    EXPECT_EQ(m.layer("bn").weight("moving_mean"), m2.layer("bn").weight("moving_mean"));
  }
}

TEST(WeightScores, RegressionMseAndBadArguments) {
  // Linear regression y = x w + b, MSE: dL/dw = 2/B x^T (y - t) for one output.
  data::Dataset d = make_blobs(20, {5}, 2, 8);
  d.task = Task::Regression;
  d.targets = Tensor({20, 1});
  for (int64_t i = 0; i < 20; ++i) d.targets.data[i] = d.x.data[i * 5] - 0.5f * d.x.data[i * 5 + 1];
  d.labels.clear();
  d.class_names.clear();
  Model m;
  m.name = "linear";
  m.input_shape = {5};
  m.task = Task::Regression;
  Layer fc = make_layer("fc", LayerKind::Dense);
  fc.units = 1;
  fc.weights = {{"kernel", random_tensor({5, 1}, 17)}, {"bias", random_tensor({1}, 18)}};
  m.layers = {fc};
  m.infer_shapes();
  Trainer t(m, small_config());
  const Tensor oracle = t.weight_scores(d, ScoreKind::Oracle).at("fc");  // batches 16 and 4
  const Tensor& w = m.layer("fc").weight("kernel");
  std::vector<double> want(5, 0.0);
  for (int64_t start : {0, 16}) {
    const int64_t len = start == 0 ? 16 : 4;
    std::vector<double> g(5, 0.0);
    for (int64_t s = start; s < start + len; ++s) {
      double y = m.layer("fc").weight("bias").data[0];
      for (int64_t i = 0; i < 5; ++i) y += d.x.data[s * 5 + i] * w.data[i];
      for (int64_t i = 0; i < 5; ++i)
        g[i] += 2.0 / double(len) * d.x.data[s * 5 + i] * (y - d.targets.data[s]);
    }
    for (int64_t i = 0; i < 5; ++i) want[i] += std::abs(w.data[i] * g[i]);
  }
  for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(oracle.data[i], want[i], 1e-5 * (1 + want[i]));
  EXPECT_THAT(error_of([&] { t.weight_scores(d, ScoreKind::Oracle, 0); }),
              HasSubstr("max_samples must be >= 1"));
  EXPECT_THAT(error_of([&] { t.weight_scores(make_blobs(4, {5}, 2, 1), ScoreKind::Oracle); }),
              HasSubstr("class labels, but the loss is MSE"));
}

}  // namespace
}  // namespace hwprune::train

namespace hwprune::train {
namespace {

// Per-weight widths (joint pruning and precision): widths 3, 6 and the full width side by
// side in one kernel, through training with and without a folded BatchNorm.
Tensor mixed_widths(const Shape& shape) {
  Tensor w(shape);
  for (size_t k = 0; k < w.data.size(); ++k)
    w.data[k] = k % 3 == 0 ? 3.0f : k % 3 == 1 ? 6.0f : 10.0f;
  return w;
}

TEST(Widths, AWidthStaysExactThroughTrainingAndTheReferenceComputesWithIt) {
  const data::Dataset blobs = make_blobs(64, {5}, 3, 21);
  const data::Dataset images = make_blobs(48, {5, 5, 2}, 3, 22);
  for (const bool cnn : {false, true}) {
    Model m = cnn ? tiny_cnn(true) : tiny_mlp();
    const data::Dataset& d = cnn ? images : blobs;
    m.set_precision(parse_precision("ap_fixed<10,2,AP_RND,AP_SAT>"));
    const std::string layer = cnn ? "conv" : "fc";
    const Tensor widths = mixed_widths(m.layer(layer).weight("kernel").shape);
    m.layer(layer).mask = ones_with_zeros(widths.shape, {1, 2});
    TrainConfig cfg = small_config();
    cfg.epochs = 3;
    Trainer t(m, cfg);
    const Tensor before = t.predict(d.x);
    t.set_widths(layer, widths);
    const Tensor narrowed = t.predict(d.x);
    EXPECT_NE(before.data, narrowed.data) << layer;  // 3-bit weights change the outputs
    t.fit(d, nullptr);
    t.sync_to_model();
    const Layer& l = m.layer(layer);
    ASSERT_EQ(l.widths.data, widths.data);
    // The hardware's kernel (BatchNorm folded when there is one): every weight on its grid.
    const Model folded = fold_batchnorm(m);
    const Tensor k = effective_kernel(folded.layer(layer), true);
    for (size_t i = 0; i < k.data.size(); ++i) {
      const double step = std::ldexp(1.0, 2 - static_cast<int>(widths.data[i]));
      EXPECT_EQ(std::fmod(static_cast<double>(k.data[i]), step), 0.0) << layer << " " << i;
      if (i == 1 || i == 2) {
        EXPECT_EQ(k.data[i], 0.0f);
      }
    }
    // Training's inference is the reference's, widths included (rare rounding flips only).
    const Tensor got = t.predict(d.x), want = reference_forward(m, d.x, true);
    ASSERT_EQ(got.shape, want.shape);
    int64_t differ = 0;
    for (int64_t i = 0; i < got.numel(); ++i) differ += std::abs(got.data[i] - want.data[i]) > 1e-5;
    EXPECT_LE(differ, got.numel() / 50) << layer;
    Model without = m;
    without.layer(layer).widths = Tensor();
    EXPECT_NE(reference_forward(without, d.x, true).data, want.data) << layer;
  }
}

TEST(Widths, BadWidthsAreRefusedNamingTheLayer) {
  Model m = tiny_mlp();
  m.set_precision(parse_precision("ap_fixed<8,2>"));
  Trainer t(m, small_config());
  EXPECT_THAT(error_of([&] {
                t.set_widths("fc", Tensor({2, 2}, 4.0f));
              }),
              HasSubstr("layer 'fc': widths shape"));
  EXPECT_THAT(error_of([&] {
                t.set_widths("fc", Tensor({5, 4}, 0.0f));
              }),
              HasSubstr("whole numbers of bits in 1..63, found 0"));
  EXPECT_THAT(error_of([&] { t.set_widths("fc", Tensor({5, 4}, 2.5f)); }), HasSubstr("found 2.5"));
  EXPECT_THAT(error_of([&] {
                t.set_widths("nope", Tensor({5, 4}, 4.0f));
              }),
              HasSubstr("no layer 'nope'"));
  Model f = tiny_mlp();
  Trainer tf(f, small_config());
  EXPECT_THAT(error_of([&] {
                tf.set_widths("fc", Tensor({5, 4}, 4.0f));
              }),
              HasSubstr("need a fixed-point weight precision"));
  // The model itself refuses widths that do not fit.
  m.layer("out").widths = Tensor({4, 3}, 64.0f);
  EXPECT_THAT(error_of([&] { m.infer_shapes(); }), HasSubstr("found 64"));
}

}  // namespace
}  // namespace hwprune::train
