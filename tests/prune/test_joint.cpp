// Joint pruning and precision, the ranking side: the importance of each width a group may
// take (second order, empirical Fisher) against the saliency ranking it extends, on models
// with and without a BatchNorm to fold.
#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/objectives.hpp"
#include "hwprune/hw/widths.hpp"
#include "hwprune/prune/importance.hpp"
#include "hwprune/structures/selection.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using ::testing::HasSubstr;

// Seeded positive Fisher values for every Dense/Conv kernel.
std::map<std::string, Tensor> random_fisher(const Model& m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.01f, 2.0f);
  std::map<std::string, Tensor> out;
  for (const Layer& l : m.layers)
    if (l.has_kernel()) {
      Tensor f(l.weight("kernel").shape);
      for (float& v : f.data) v = u(rng);
      out[l.name] = std::move(f);
    }
  return out;
}

// A quantized model, its hardware at RF 2 and the dsp-lut plan.
struct Joint {
  Model model;
  hw::HardwareModel hardware;
  structures::Plan plan;
};
Joint setup(const std::string& name, const Shape& input = {}) {
  Joint s{make_builtin_model(name, 5, 11, input), {}, {}};
  std::mt19937_64 rng(9);  // BatchNorms that scale each channel differently
  std::uniform_real_distribution<float> u(0.3f, 3.0f);
  for (Layer& l : s.model.layers)
    if (l.kind == LayerKind::BatchNorm)
      for (const char* key : {"gamma", "moving_variance"})
        for (float& v : l.weight(key).data) v = u(rng);
  s.model.set_precision(parse_precision("ap_fixed<10,3,AP_RND,AP_SAT>"));
  hw::HardwareDefaults d;
  d.reuse_factor = 2;
  d.closest_valid_rf = true;
  const Model folded = fold_batchnorm(s.model);  // as the pruning plan sees the model
  s.hardware = hw::resolve_hardware(folded, d);
  const auto obj = hw::make_objective("dsp-lut");
  s.plan = structures::make_plan(folded, s.hardware, *obj);
  return s;
}

TEST(ChoiceImportance, WidthZeroIsTheSaliencyAndNarrowerWidthsLoseMore) {
  for (const char* name : {"jet-mlp", "svhn-cnn"}) {
    const Joint s = name == std::string("svhn-cnn") ? setup(name, {24, 24, 3}) : setup(name);
    Model m = s.model;
    const auto fisher = random_fisher(m, 4);
    // Mask a few weights of the first plan layer: they count nowhere.
    Layer& first = m.layer(s.plan.layers[0].groups.layer_name);
    first.mask = Tensor(first.weight("kernel").shape);
    for (size_t k = 0; k < first.mask.data.size(); ++k) first.mask.data[k] = k % 7 ? 1.0f : 0.0f;

    const std::vector<int> widths{0, 2, 4, 6, 10};
    const auto imp = prune::choice_importance(m, s.plan, widths, fisher);
    // The saliency scores the trainer would give: 1/2 F w^2 on the unfolded kernel.
    std::map<std::string, Tensor> saliency;
    for (const auto& [layer, f] : fisher) {
      Tensor t = f;
      const Layer& l = m.layer(layer);
      for (size_t k = 0; k < t.data.size(); ++k) {
        const double w = l.mask.empty() || l.mask.data[k] != 0 ? l.weight("kernel").data[k] : 0;
        t.data[k] = static_cast<float>(0.5 * f.data[k] * w * w);
      }
      saliency[layer] = std::move(t);
    }
    const auto sal = prune::ranked_importance(m, s.plan, prune::Ranking::Saliency, &saliency);
    ASSERT_EQ(imp.size(), s.plan.layers.size());
    for (size_t li = 0; li < imp.size(); ++li) {
      const size_t n = s.plan.layers[li].groups.size();
      ASSERT_EQ(imp[li].size(), n * widths.size());
      for (size_t g = 0; g < n; ++g) {
        EXPECT_NEAR(imp[li][g * widths.size()], sal[li][g], 1e-4 * (1 + sal[li][g]))
            << name << " layer " << li << " group " << g;
        // Nested grids, round to nearest: a wider width never loses more.
        for (size_t j = 1; j < widths.size(); ++j)
          EXPECT_LE(imp[li][g * widths.size() + j], imp[li][g * widths.size() + j - 1] + 1e-12)
              << name << " layer " << li << " group " << g << " width " << widths[j];
        EXPECT_GE(imp[li][g * widths.size() + widths.size() - 1], 0.0);
      }
    }
  }
}

TEST(ChoiceImportance, BadFisherValuesAndWidthsAreErrors) {
  const Joint s = setup("jet-mlp");
  auto fisher = random_fisher(s.model, 1);
  const std::vector<int> widths{0, 4, 8};
  auto missing = fisher;
  missing.erase("fc2");
  EXPECT_THAT(error_of([&] { prune::choice_importance(s.model, s.plan, widths, missing); }),
              HasSubstr("layer 'fc2': no Fisher information"));
  auto shaped = fisher;
  shaped["fc1"] = Tensor({3});
  EXPECT_THAT(error_of([&] { prune::choice_importance(s.model, s.plan, widths, shaped); }),
              HasSubstr("Fisher values of shape"));
  auto negative = fisher;
  negative["fc3"].data[5] = -1;
  EXPECT_THAT(error_of([&] { prune::choice_importance(s.model, s.plan, widths, negative); }),
              HasSubstr("Fisher value -1 of weight 5"));
  EXPECT_THAT(error_of([&] {
                prune::choice_importance(s.model, s.plan, {0, 70}, fisher);
              }),
              HasSubstr("width 70 is out of range"));
  Model f = s.model;
  f.set_precision(std::nullopt);
  EXPECT_THAT(error_of([&] { prune::choice_importance(f, s.plan, widths, fisher); }),
              HasSubstr("need a fixed-point weight type"));
}

}  // namespace
}  // namespace hwprune
