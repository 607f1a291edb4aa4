// The LibTorch training engine: masks, QAT forward vs the C++ reference, BatchNorm folding,
// save/load round trips, determinism, schedules, early stopping, optimizer state.
#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/io/model_file.hpp"
#include "hwprune/train/trainer.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

namespace hwprune::train {
namespace {

using test::error_of;
using test::make_blobs;
using ::testing::HasSubstr;

TrainConfig small_config(uint64_t seed = 3) {
  TrainConfig c;
  c.epochs = 3;
  c.batch_size = 32;
  c.lr = 3e-3;
  c.seed = seed;
  c.threads = 1;
  return c;
}

Model jet(int classes, const char* precision = "ap_fixed<16,6>") {
  Model m = make_builtin_model("jet-mlp", classes, 11);
  m.set_precision(parse_precision(precision));
  return m;
}

// A random 0/1 mask keeping about `keep` of the weights.
Tensor random_mask(const Shape& shape, double keep, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor m(shape);
  for (float& v : m.data) v = (rng() % 1000) < keep * 1000 ? 1.0f : 0.0f;
  return m;
}

data::Dataset rows(const data::Dataset& d, int64_t start, int64_t len) {
  std::vector<int64_t> r;
  for (int64_t i = start; i < start + len; ++i) r.push_back(i);
  return d.subset(r);
}

void expect_masked_zero_after_200_steps(OptimizerKind opt) {
  const data::Dataset d = make_blobs(256, {16}, 4, 1);
  Model m = jet(4);
  const Tensor mask1 = random_mask({16, 64}, 0.5, 1), mask2 = random_mask({64, 32}, 0.3, 2);
  m.layer("fc1").mask = mask1;
  TrainConfig cfg = small_config();
  cfg.optimizer = opt;
  cfg.lr = 1e-2;
  cfg.weight_decay = 1e-3;
  Trainer t(m, cfg);
  const Tensor fc2_before = m.layer("fc2").weight("kernel");
  for (int s = 0; s < 20; ++s) t.train_step(rows(d, (s * 32) % 256, 32));
  // A mask set after training started (non-zero weights, non-zero optimizer state).
  t.set_mask("fc2", mask2);
  for (int s = 0; s < 200; ++s) t.train_step(rows(d, (s * 32) % 256, 32));
  t.sync_to_model();
  int64_t kept_changed = 0;
  for (const auto& [name, mask] : {std::pair{"fc1", mask1}, std::pair{"fc2", mask2}}) {
    const Tensor& k = m.layer(name).weight("kernel");
    for (int64_t i = 0; i < k.numel(); ++i) {
      if (mask.data[i] == 0.0f) {
        ASSERT_EQ(k.data[i], 0.0f) << name << "[" << i << "]";
        ASSERT_FALSE(std::signbit(k.data[i])) << "-0.0 at " << name << "[" << i << "]";
      }
    }
    EXPECT_EQ(m.layer(name).mask, mask);
  }
  const Tensor& k2 = m.layer("fc2").weight("kernel");
  for (int64_t i = 0; i < k2.numel(); ++i)
    kept_changed += mask2.data[i] != 0.0f && k2.data[i] != fc2_before.data[i];
  EXPECT_GT(kept_changed, 100);  // the unmasked weights did train
}

TEST(Masks, MaskedWeightsStayExactlyZeroThrough200AdamSteps) {
  expect_masked_zero_after_200_steps(OptimizerKind::Adam);
}

TEST(Masks, MaskedWeightsStayExactlyZeroThrough200SgdMomentumSteps) {
  expect_masked_zero_after_200_steps(OptimizerKind::SGD);
}

TEST(Masks, BadMasksAreRefused) {
  Model m = jet(4);
  Trainer t(m, small_config());
  EXPECT_THAT(error_of([&] {
                t.set_mask("fc1", Tensor({16, 63}, 1.0f));
              }),
              HasSubstr("layer 'fc1': mask shape (16, 63) differs from kernel shape (16, 64)"));
  EXPECT_THAT(error_of([&] {
                t.set_mask("fc1", Tensor({16, 64}, 2.0f));
              }),
              HasSubstr("mask values must be 0 or 1"));
  EXPECT_THAT(error_of([&] { t.set_mask("relu1", Tensor({1}, 1.0f)); }),
              HasSubstr("has no kernel"));
  EXPECT_THAT(error_of([&] { t.set_mask("nope", Tensor({1}, 1.0f)); }),
              HasSubstr("no layer 'nope'"));
}

// A small Conv1D network with "same" padding, strides, BatchNorm (folded and standalone),
// average and max pooling.
Model conv1d_model() {
  Model m;
  m.name = "conv1d";
  m.input_shape = {12, 2};
  auto add = [&](Layer l) { m.layers.push_back(std::move(l)); };
  Layer c;
  c.name = "conv";
  c.kind = LayerKind::Conv1D;
  c.filters = 6;
  c.kernel_size = {3};
  c.strides = {2};
  c.padding = Padding::Same;
  add(c);
  Layer bn;
  bn.name = "bn";
  bn.kind = LayerKind::BatchNorm;
  add(bn);
  Layer relu;
  relu.name = "relu";
  relu.kind = LayerKind::Activation;
  relu.activation = ActivationKind::ReLU;
  add(relu);
  Layer bn2 = bn;
  bn2.name = "bn_standalone";
  add(bn2);
  Layer avg;
  avg.name = "avg";
  avg.kind = LayerKind::AvgPool1D;
  avg.pool_size = {2};
  avg.strides = {1};
  avg.padding = Padding::Same;
  add(avg);
  Layer mx;
  mx.name = "max";
  mx.kind = LayerKind::MaxPool1D;
  mx.pool_size = {3};
  mx.padding = Padding::Same;
  add(mx);
  Layer fl;
  fl.name = "flat";
  fl.kind = LayerKind::Flatten;
  add(fl);
  Layer d;
  d.name = "out";
  d.kind = LayerKind::Dense;
  d.units = 3;
  add(d);
  Layer sm;
  sm.name = "softmax";
  sm.kind = LayerKind::Activation;
  sm.activation = ActivationKind::Softmax;
  add(sm);
  // (12,2) -conv s2 same-> (6,6) -avg same s1-> (6,6) -max 3 same-> (2,6) -> 12
  m.layers[0].weights = {{"kernel", Tensor({3, 2, 6})}, {"bias", Tensor({6})}};
  for (size_t i : {1u, 3u})
    for (const char* k : {"gamma", "beta", "moving_mean", "moving_variance"})
      m.layers[i].weights[k] = Tensor({6});
  m.layers[7].weights = {{"kernel", Tensor({12, 3})}, {"bias", Tensor({3})}};
  for (int i = 0; i < 3; ++i) m.class_names.push_back(std::to_string(i));
  init_weights(m, 5);
  return m;
}

// Trains briefly (so BatchNorm statistics and biases are not trivial), then compares the
// engine's inference outputs with the plain C++ reference on the same inputs.
void expect_matches_reference(Model m, const char* precision, const data::Dataset& d) {
  m.set_precision(parse_precision(precision));
  TrainConfig cfg = small_config();
  cfg.epochs = 2;
  Trainer t(m, cfg);
  t.fit(d, nullptr);
  const Tensor got = t.predict(d.x);
  const bool quantized = std::string(precision) != "float";
  const Tensor want = reference_forward(m, d.x, quantized);
  ASSERT_EQ(got.shape, want.shape);
  int64_t differ = 0, argmax_differ = 0;
  const int64_t k = got.shape.back(), n = got.numel() / k;
  for (int64_t i = 0; i < got.numel(); ++i) differ += std::abs(got.data[i] - want.data[i]) > 1e-5;
  for (int64_t r = 0; r < n; ++r) {
    auto am = [&](const Tensor& t) {
      return std::max_element(t.data.begin() + r * k, t.data.begin() + (r + 1) * k) -
             (t.data.begin() + r * k);
    };
    argmax_differ += am(got) != am(want);
  }
  // Float: only summation order differs. Quantized: a sum that lands within float rounding
  // of a quantization boundary may round the other way; such flips must stay rare.
  if (!quantized) {
    EXPECT_EQ(differ, 0) << m.name;
  } else {
    EXPECT_LE(differ, got.numel() / 50) << m.name << " " << precision;
  }
  EXPECT_LE(argmax_differ, std::max<int64_t>(1, n / 100)) << m.name << " " << precision;
}

TEST(Forward, EngineMatchesReferenceJetMlp) {
  const data::Dataset d = make_blobs(300, {16}, 5, 2);
  expect_matches_reference(make_builtin_model("jet-mlp", 5, 1), "float", d);
  expect_matches_reference(make_builtin_model("jet-mlp", 5, 1), "ap_fixed<16,6>", d);
  expect_matches_reference(make_builtin_model("jet-mlp", 5, 1), "ap_fixed<8,3,AP_RND_CONV,AP_SAT>",
                           d);
}

TEST(Forward, EngineMatchesReferenceCnnWithFoldedBatchnorm) {
  const data::Dataset d = make_blobs(64, {32, 32, 3}, 10, 3, 1.0);
  expect_matches_reference(make_builtin_model("svhn-cnn", 10, 1), "float", d);
  expect_matches_reference(make_builtin_model("svhn-cnn", 10, 1), "ap_fixed<16,6>", d);
}

TEST(Forward, EngineMatchesReferenceConv1dPoolingPadding) {
  const data::Dataset d = make_blobs(200, {12, 2}, 3, 4);
  expect_matches_reference(conv1d_model(), "float", d);
  expect_matches_reference(conv1d_model(), "ap_fixed<14,5,AP_RND,AP_SAT>", d);
}

TEST(Training, LearnsAndIsDeterministicForASeed) {
  const data::Dataset d = make_blobs(1200, {16}, 4, 5, 1.2);
  const data::Dataset train = rows(d, 0, 1000), val = rows(d, 1000, 200);
  auto run = [&](uint64_t seed) {
    Model m = jet(4);
    TrainConfig cfg = small_config(seed);
    cfg.epochs = 4;
    Trainer t(m, cfg);
    auto history = t.fit(train, &val);
    return std::pair{m, history};
  };
  auto [a, ha] = run(7);
  auto [b, hb] = run(7);
  auto [c, hc] = run(8);
  EXPECT_EQ(a.layer("fc2").weight("kernel"), b.layer("fc2").weight("kernel"));
  EXPECT_NE(a.layer("fc2").weight("kernel"), c.layer("fc2").weight("kernel"));
  ASSERT_EQ(ha.size(), 4u);
  EXPECT_LT(ha.back().train_loss, ha.front().train_loss);
  EXPECT_GT(ha.back().val_metric, 0.9);  // well-separated blobs
  EXPECT_EQ(ha.back().val_loss, hb.back().val_loss);
}

TEST(Training, LearningRateSchedules) {
  const data::Dataset d = make_blobs(64, {16}, 2, 6);
  auto lrs = [&](LrSchedule s) {
    Model m = jet(2);
    TrainConfig cfg = small_config();
    cfg.epochs = 4;
    cfg.lr = 0.01;
    cfg.schedule = s;
    cfg.lr_step_epochs = 2;
    cfg.lr_gamma = 0.5;
    cfg.lr_min = 0.001;
    Trainer t(m, cfg);
    std::vector<double> out;
    for (const auto& e : t.fit(d, nullptr)) out.push_back(e.lr);
    return out;
  };
  EXPECT_THAT(lrs(LrSchedule::Constant), ::testing::ElementsAre(0.01, 0.01, 0.01, 0.01));
  EXPECT_THAT(lrs(LrSchedule::Step), ::testing::ElementsAre(0.01, 0.01, 0.005, 0.005));
  const auto cos = lrs(LrSchedule::Cosine);
  EXPECT_DOUBLE_EQ(cos[0], 0.01);
  EXPECT_DOUBLE_EQ(cos[2], 0.001 + 0.5 * 0.009);  // half way: cos(pi/2) = 0
  EXPECT_GT(cos[3], 0.001);
}

TEST(Training, EarlyStoppingRestoresTheBestEpoch) {
  // Validation labels are shuffled, so validation loss soon stops improving.
  data::Dataset train = make_blobs(400, {16}, 4, 7);
  data::Dataset val = make_blobs(200, {16}, 4, 8);
  std::mt19937_64 rng(1);
  for (auto& l : val.labels) l = static_cast<int32_t>(rng() % 4);
  Model m = jet(4);
  TrainConfig cfg = small_config();
  cfg.epochs = 40;
  cfg.lr = 0.01;
  cfg.early_stopping_patience = 2;
  Trainer t(m, cfg);
  const auto h = t.fit(train, &val);
  ASSERT_LT(h.size(), 40u);
  double best = 1e9;
  for (const auto& e : h) best = std::min(best, e.val_loss);
  EXPECT_EQ(t.evaluate(val).loss, best);
  // The model synced to the IR is the best one too.
  Trainer again(m, cfg);
  EXPECT_EQ(again.evaluate(val).loss, best);
}

TEST(Training, EarlyStoppingOnTheMetricRestoresTheMostAccurateEpoch) {
  data::Dataset train = make_blobs(400, {16}, 4, 7);
  data::Dataset val = make_blobs(200, {16}, 4, 8, 3.0);  // noisy: accuracy plateaus
  Model m = jet(4);
  TrainConfig cfg = small_config();
  cfg.epochs = 40;
  cfg.lr = 0.01;
  cfg.early_stopping_patience = 3;
  cfg.early_stopping_on_metric = true;
  Trainer t(m, cfg);
  const auto h = t.fit(train, &val);
  ASSERT_LT(h.size(), 40u);
  double best = -1;
  size_t at = 0;
  for (size_t e = 0; e < h.size(); ++e)
    if (h[e].val_metric > best) {
      best = h[e].val_metric;
      at = e;
    }
  EXPECT_EQ(h.size(), at + 1 + 3);  // stopped 3 epochs after the best
  EXPECT_EQ(t.evaluate(val).accuracy, best);
}

// CE drives logits past a narrow wrapping type; the range penalty keeps them inside.
TEST(Training, OverflowPenaltyKeepsWrappingResultsInRange) {
  const data::Dataset d = make_blobs(600, {16}, 3, 14, 0.5);
  auto wrapped_after_training = [&](double penalty) {
    Model m = jet(3, "ap_fixed<10,3>");  // results in [-4, 4)
    TrainConfig cfg = small_config();
    cfg.epochs = 12;
    cfg.lr = 0.01;
    cfg.overflow_penalty = penalty;
    Trainer t(m, cfg);
    t.fit(d, nullptr);
    const Metrics mt = t.evaluate(d);
    int64_t wrapped = 0;
    for (const auto& o : mt.overflows) {
      EXPECT_GT(o.values, 0);
      EXPECT_NE(o.layer, "input");
      EXPECT_GE(o.max_abs, 4.0) << o.layer;  // a wrapped value lay outside [-4, 4)
      wrapped += o.wrapped;
    }
    // The reference inference sees the same overflows and ranges.
    std::vector<Overflow> ref;
    ReferenceOptions ro;
    ro.overflows = &ref;
    (void)reference_forward(m, d.x, ro);
    for (const auto& o : mt.overflows) {
      bool found = false;
      for (const auto& r : ref)
        if (r.layer == o.layer) {
          found = true;
          EXPECT_NEAR(r.max_abs, o.max_abs, 1e-3 * o.max_abs) << o.layer;
        }
      EXPECT_TRUE(found) << o.layer;
    }
    // Fitting the integer bits to the observed ranges ends the wrapping (a layer that stops
    // wrapping passes larger values on: fitted again until nothing wraps).
    Model fitted = m;
    EXPECT_EQ(fit_result_ranges(fitted, d, cfg).empty(), mt.overflows.empty());
    Trainer tf(fitted, cfg);
    EXPECT_TRUE(tf.evaluate(d).overflows.empty());
    return std::pair{wrapped, mt.accuracy};
  };
  const auto [without, acc_without] = wrapped_after_training(0.0);
  const auto [with, acc_with] = wrapped_after_training(1.0);
  EXPECT_GT(without, 100);
  EXPECT_LT(with, without / 20);
  EXPECT_GT(acc_with, 0.95);
  EXPECT_GT(acc_with, acc_without);
}

// Distillation with weight 1 learns the teacher's classes, not the labels; the reported loss
// stays the labels' cross-entropy.
TEST(Distillation, TheStudentFollowsTheTeacherAndReportsTheDataLoss) {
  data::Dataset d = make_blobs(600, {16}, 4, 21, 1.0);
  Model teacher = jet(4);
  {
    TrainConfig cfg = small_config(5);
    cfg.epochs = 5;
    Trainer t(teacher, cfg);
    t.fit(d, nullptr);
  }
  Trainer tt(teacher, small_config());
  d.teacher = tt.predict(d.x, /*logits=*/true);
  const Tensor probs = tt.predict(d.x);
  ASSERT_EQ(d.teacher.shape, (Shape{600, 4}));
  // The logits are the outputs before the final Softmax.
  for (int64_t i = 0; i < 4; ++i) {
    double z = 0;
    for (int64_t c = 0; c < 4; ++c) z += std::exp(d.teacher.data[c] - d.teacher.data[i]);
    EXPECT_NEAR(probs.data[i], 1.0 / z, 1e-5);
  }
  std::vector<int32_t> taught(600);
  for (int64_t i = 0; i < 600; ++i) {
    const float* o = d.teacher.data.data() + 4 * i;
    taught[i] = static_cast<int32_t>(std::max_element(o, o + 4) - o);
  }
  // Labels that disagree with the teacher on every row.
  data::Dataset noisy = d;
  for (int64_t i = 0; i < 600; ++i) noisy.labels[i] = (taught[i] + 1 + i % 3) % 4;
  const data::Dataset half = noisy.subset({0, 2, 4});
  EXPECT_EQ(half.teacher.shape, (Shape{3, 4}));
  EXPECT_EQ(half.teacher.data[4], d.teacher.data[8]);

  auto agreement = [&](double weight) {
    Model m = jet(4);
    TrainConfig cfg = small_config(9);
    cfg.epochs = 8;
    cfg.distill_weight = weight;
    cfg.distill_temperature = 2;
    Trainer t(m, cfg);
    t.fit(noisy, nullptr);
    const Tensor out = t.predict(d.x);
    int agree = 0;
    for (int64_t i = 0; i < 600; ++i) {
      const float* o = out.data.data() + 4 * i;
      agree += std::max_element(o, o + 4) - o == taught[i];
    }
    return agree / 600.0;
  };
  EXPECT_GT(agreement(1.0), 0.9);
  EXPECT_LT(agreement(0.0), 0.5);

  // The loss before the first step is the labels' alone, whatever the weight.
  auto first_loss = [&](double weight) {
    Model m = jet(4);
    TrainConfig cfg = small_config();
    cfg.distill_weight = weight;
    Trainer t(m, cfg);
    return std::pair{t.train_step(rows(noisy, 0, 32)), t.train_step(rows(noisy, 0, 32))};
  };
  const auto [l0, l0_next] = first_loss(0.0);
  const auto [l1, l1_next] = first_loss(0.7);
  EXPECT_EQ(l0, l1);
  EXPECT_NE(l0_next, l1_next);  // the step itself followed the teacher too
}

TEST(Distillation, BadSettingsAndTeacherShapesAreRefused) {
  data::Dataset d = make_blobs(64, {16}, 4, 22);
  Model m = jet(4);
  for (double w : {-0.1, 1.5, std::nan("")}) {
    TrainConfig cfg = small_config();
    cfg.distill_weight = w;
    EXPECT_THAT(test::error_of([&] { Trainer t(m, cfg); }),
                HasSubstr("distillation weight must be in [0, 1]"));
  }
  for (double temp : {0.0, -1.0, static_cast<double>(INFINITY)}) {
    TrainConfig cfg = small_config();
    cfg.distill_temperature = temp;
    EXPECT_THAT(test::error_of([&] { Trainer t(m, cfg); }),
                HasSubstr("distillation temperature must be finite and > 0"));
  }
  TrainConfig cfg = small_config();
  cfg.distill_weight = 0.5;
  Trainer t(m, cfg);
  d.teacher = Tensor({64, 3});
  d.source = "blobs.csv";
  EXPECT_EQ(test::error_of([&] { t.fit(d, nullptr); }),
            "blobs.csv: teacher outputs of shape (64, 3), expected (64, 4)");
}

TEST(Training, RegressionWithMse) {
  data::Dataset d = make_blobs(512, {16}, 2, 9);
  d.task = Task::Regression;
  d.targets = Tensor({512, 1});
  for (int64_t i = 0; i < 512; ++i) {
    double s = 0;
    for (int j = 0; j < 4; ++j) s += d.x.data[i * 16 + j];
    d.targets.data[i] = static_cast<float>(0.5 * s);
  }
  d.labels.clear();
  d.class_names.clear();
  Model m = make_builtin_model("jet-mlp", 1, 2);
  m.layers.pop_back();  // no softmax
  m.task = Task::Regression;
  m.class_names.clear();
  TrainConfig cfg = small_config();
  cfg.epochs = 15;
  Trainer t(m, cfg);
  const auto h = t.fit(d, nullptr);
  const Metrics mt = t.evaluate(d);
  EXPECT_LT(mt.mse, 0.1 * h.front().train_loss);
  EXPECT_NEAR(mt.loss, mt.mse, 1e-6);
  // A classifier refuses regression targets.
  Model cls = jet(2);
  Trainer tc(cls, small_config());
  EXPECT_THAT(error_of([&] { tc.evaluate(d); }), HasSubstr("regression targets, but model"));
}

TEST(Training, WrongDataShapeIsAClearError) {
  Model m = jet(4);
  Trainer t(m, small_config());
  const data::Dataset d = make_blobs(10, {17}, 4, 1);
  EXPECT_THAT(error_of([&] { t.fit(d, nullptr); }),
              HasSubstr("blobs: samples have shape (17,), but model 'jet-mlp' takes (16,)"));
  // Labels may use only some of the classes (a small test subset); more classes than outputs
  // are an error.
  const data::Dataset d3 = make_blobs(10, {16}, 3, 1);
  EXPECT_EQ(t.evaluate(d3).confusion.size(), 4u);
  const data::Dataset d5 = make_blobs(10, {16}, 5, 1);
  EXPECT_THAT(error_of([&] { t.evaluate(d5); }), HasSubstr("data has 5 classes"));
}

TEST(RoundTrip, SaveLoadGivesBitIdenticalOutputs) {
  test::ScratchDir dir;
  for (const char* name : {"jet-mlp", "svhn-cnn"}) {
    Model m = make_builtin_model(name, 10, 1);
    m.set_precision(parse_precision("ap_fixed<16,6>"));
    const data::Dataset d = make_blobs(48, m.input_shape, 10, 12);
    TrainConfig cfg = small_config();
    cfg.epochs = 1;
    Trainer t(m, cfg);
    t.fit(d, nullptr);
    if (m.layers[0].has_kernel())
      t.set_mask(m.layers[0].name, random_mask(m.layers[0].weight("kernel").shape, 0.5, 3));
    t.sync_to_model();
    const Tensor before = t.predict(d.x);
    io::save_model(dir.file("m.hwp"), m);
    Model loaded = io::load_model(dir.file("m.hwp"));
    Trainer t2(loaded, cfg);
    EXPECT_EQ(t2.predict(d.x), before) << name;
    EXPECT_EQ(reference_forward(loaded, d.x, true), reference_forward(m, d.x, true)) << name;
  }
}

TEST(RoundTrip, OptimizerStateResumesExactly) {
  const data::Dataset d = make_blobs(128, {16}, 4, 13);
  Model a = jet(4);
  Trainer ta(a, small_config());
  for (int s = 0; s < 5; ++s) ta.train_step(rows(d, s * 16, 16));
  ta.sync_to_model();
  Model b = a, c = a;
  Trainer tb(b, small_config()), tc(c, small_config());
  tb.load_optimizer_state(ta.optimizer_state());
  for (int s = 5; s < 8; ++s) {
    ta.train_step(rows(d, s * 16, 16));
    tb.train_step(rows(d, s * 16, 16));
    tc.train_step(rows(d, s * 16, 16));
  }
  ta.sync_to_model();
  tb.sync_to_model();
  tc.sync_to_model();
  EXPECT_EQ(a.layer("fc1").weight("kernel"), b.layer("fc1").weight("kernel"));
  // Without the state the same steps give other weights (Adam's moments matter).
  EXPECT_NE(a.layer("fc1").weight("kernel"), c.layer("fc1").weight("kernel"));
  EXPECT_THAT(error_of([&] { tc.load_optimizer_state("not an archive"); }),
              HasSubstr("optimizer state does not fit"));
}

TEST(Blas, LibTorchRunsOnOpenBlasOpenMp) {
  // set-up (scripts/setup.sh) selects the OpenMP build of OpenBLAS for libblas.so.3.
  const std::string blas = loaded_blas_library();
  EXPECT_THAT(blas, HasSubstr("openblas"));
  EXPECT_THAT(blas, ::testing::Not(HasSubstr("/blas/libblas")));  // the reference BLAS
}

}  // namespace
}  // namespace hwprune::train
