// Training with sigmoid, tanh, hard_sigmoid, leaky_relu, elu and selu: one optimizer step
// moves the weights behind the activation, and the torch forward pass computes what the
// C++ reference computes (float: to float rounding; quantized: within one LSB).
#include <cmath>
#include <tuple>

#include <gtest/gtest.h>

#include "hwprune/train/trainer.hpp"
#include "net.hpp"
#include "support/synthetic.hpp"

namespace hwprune::train {
namespace {

struct Case {
  ActivationKind kind;
  double alpha, beta;
};

// input 4 -> Dense 6 -> activation -> Dense 3 -> Softmax.
Model small_model(const Case& c) {
  Model m;
  m.name = "act";
  m.input_shape = {4};
  Layer d1;
  d1.name = "d1";
  d1.kind = LayerKind::Dense;
  d1.units = 6;
  Layer a;
  a.name = "act";
  a.kind = LayerKind::Activation;
  a.activation = c.kind;
  a.alpha = c.alpha;
  a.beta = c.beta;
  Layer d2 = d1;
  d2.name = "out";
  d2.units = 3;
  Layer sm;
  sm.name = "softmax";
  sm.kind = LayerKind::Activation;
  sm.activation = ActivationKind::Softmax;
  m.layers = {d1, a, d2, sm};
  m.layers[0].weights = {{"kernel", Tensor({4, 6})}, {"bias", Tensor({6})}};
  m.layers[2].weights = {{"kernel", Tensor({6, 3})}, {"bias", Tensor({3})}};
  init_weights(m, 7);
  m.infer_shapes();
  return m;
}

// The model up to and including the activation.
Model head(const Model& m) {
  Model h = m;
  h.layers.resize(2);
  h.infer_shapes();
  return h;
}

class ActivationTraining : public ::testing::TestWithParam<Case> {};

TEST_P(ActivationTraining, OneStepAndTheForwardPassEqualsTheReference) {
  const Case& c = GetParam();
  const data::Dataset d = test::make_blobs(32, {4}, 3, 5, 1.0);
  for (const char* precision : {"float", "ap_fixed<10,3>"}) {
    SCOPED_TRACE(precision);
    const bool quantize = std::string(precision) != "float";
    Model m = small_model(c);
    m.set_precision(parse_precision(precision));
    const Tensor before = m.layer("d1").weight("kernel");
    TrainConfig cfg;
    cfg.threads = 1;
    cfg.batch_size = 32;
    cfg.lr = 1e-2;
    cfg.seed = 3;
    {
      Trainer t(m, cfg);
      const double loss = t.train_step(d);
      EXPECT_TRUE(std::isfinite(loss));
      EXPECT_GT(loss, 0.0);
      t.sync_to_model();
      // Float outputs of the whole network (probabilities).
      if (!quantize) {
        const Tensor got = t.predict(d.x), want = reference_forward(m, d.x, false);
        ASSERT_EQ(got.shape, want.shape);
        for (size_t i = 0; i < got.data.size(); ++i) EXPECT_NEAR(got.data[i], want.data[i], 1e-5);
      }
    }
    // The gradient reached the layer before the activation.
    double moved = 0;
    for (size_t i = 0; i < before.data.size(); ++i)
      moved = std::max(moved,
                       std::fabs(double(m.layer("d1").weight("kernel").data[i]) - before.data[i]));
    EXPECT_GT(moved, 1e-4) << to_string(c.kind);

    // The activation's outputs: torch vs reference.
    const Model h = head(m);
    Net net(h, quantize, GradientRule::STE, 0.0);
    torch::NoGradGuard no_grad;
    const Tensor got = from_torch(net.forward(to_torch(d.x), false));
    const Tensor want = reference_forward(h, d.x, quantize);
    ASSERT_EQ(got.shape, want.shape);
    const double tol = quantize ? std::ldexp(1.0, -7) : 1e-6;  // ap_fixed<10,3>: 7 fraction bits
    int64_t exact = 0;
    for (size_t i = 0; i < got.data.size(); ++i) {
      EXPECT_LE(std::fabs(double(got.data[i]) - want.data[i]), tol)
          << to_string(c.kind) << " value " << i;
      exact += got.data[i] == want.data[i];
    }
    // Quantized values agree exactly except where float rounding meets a grid boundary.
    if (quantize) {
      EXPECT_GE(exact, static_cast<int64_t>(got.data.size()) - 2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActivationTraining,
                         ::testing::Values(Case{ActivationKind::Sigmoid, 0, 0},
                                           Case{ActivationKind::Tanh, 0, 0},
                                           Case{ActivationKind::HardSigmoid, 0.2, 0.5},
                                           Case{ActivationKind::LeakyReLU, 0.1, 0},
                                           Case{ActivationKind::ELU, 0.7, 0},
                                           Case{ActivationKind::SELU, 0, 0}),
                         [](const auto& info) { return std::string(to_string(info.param.kind)); });

}  // namespace
}  // namespace hwprune::train
