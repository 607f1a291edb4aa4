// Importance of weight groups for the knapsack: magnitude (l1, l2) or data-driven (oracle,
// saliency) scores summed per group, normalised per layer so that one global knapsack
// compares the groups of different layers on the same scale.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hwprune/ir/model.hpp"
#include "hwprune/structures/selection.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::prune {

enum class Ranking { L1, L2, Oracle, Saliency };
inline constexpr NameTable<Ranking, 4> kRankingNames{
    "ranking",
    {{{"l1", Ranking::L1, "sum of |w| over the group"},
      {"l2", Ranking::L2, "the group's Euclidean norm"},
      {"oracle", Ranking::Oracle, "sum of |w * dL/dw| (first-order Taylor)"},
      {"saliency", Ranking::Saliency, "w^2 * F_ii / 2 (Optimal Brain Damage, empirical Fisher)"}}}};
inline std::string_view to_string(Ranking r) {
  return kRankingNames.name(r);
}
inline Ranking parse_ranking(std::string_view s) {  // Error listing the known names
  return kRankingNames.parse(s);
}
bool needs_data(Ranking r);  // oracle, saliency

// One value per group of every plan layer (the plan was built on `model`):
//   l1        sum of |w| over the group's unmasked weights
//   l2        sqrt of the sum of w^2 over them
//   oracle, saliency  sum of the per-weight scores (train::Trainer::weight_scores), which
//             must be given for every plan layer, keyed by layer name, in kernel shape.
// Masked weights contribute nothing. Error naming the layer for missing or misshaped scores
// and for a non-finite or negative score.
std::vector<std::vector<double>> group_importance(
    const Model& model, const structures::Plan& plan, Ranking ranking,
    const std::map<std::string, Tensor>* weight_scores = nullptr);

// Per-layer normalisation: each layer's values are divided by the mean of its non-zero
// values, so every layer's typical group is worth 1 whatever the scale of its weights or
// gradients (the reference implementation compares raw scores across layers, which lets
// the layer with the largest weights keep everything). A layer whose values are all zero
// stays zero.
void normalise_per_layer(std::vector<std::vector<double>>& importance);

// What the knapsack ranks: group_importance of `model` with its BatchNorms folded (as the
// plan was built), normalised per layer.
std::vector<std::vector<double>> ranked_importance(
    const Model& model, const structures::Plan& plan, Ranking ranking,
    const std::map<std::string, Tensor>* weight_scores = nullptr);

// Joint pruning and precision: the importance of each width a group may take, the expected
// loss increase of quantizing its weights to that width (second order, empirical Fisher):
//   1/2 sum over the group's unmasked weights of F_ii (w_i - q_b(w_i))^2
// with q_b the layer's weight type at b bits (hw::at_width) and q_0 = 0, so width 0 gives
// the saliency ranking's value. w is the kernel of `model` with its BatchNorms folded (as the
// plan was built, and as the hardware quantizes it); `fisher` (train::ScoreKind::Fisher, keyed
// by layer name, kernel shape) belongs to the unfolded kernel and is carried over to the
// folded one per weight (F (w / w_folded)^2). Normalised per layer as ranked_importance: every
// value is divided by the mean of the layer's non-zero width-0 values.
// out[plan layer][g * widths.size() + j]. Error naming the layer for missing or misshaped
// Fisher values, a non-finite or negative one, or a width outside 0..FixedType::kMaxWidth.
std::vector<std::vector<double>> choice_importance(const Model& model, const structures::Plan& plan,
                                                   const std::vector<int>& widths,
                                                   const std::map<std::string, Tensor>& fisher);

}  // namespace hwprune::prune
