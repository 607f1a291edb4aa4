// Group importance scores and their per-layer normalisation.
#include "hwprune/prune/importance.hpp"

#include <cmath>

#include <fmt/format.h>

#include "hwprune/hw/map_model.hpp"
#include "hwprune/hw/widths.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::prune {

bool needs_data(Ranking r) {
  return r == Ranking::Oracle || r == Ranking::Saliency;
}

namespace {

// A layer's per-weight values from `scores` (by layer name), with the kernel's shape; `none`
// and `values` name them in the errors ("no saliency scores", "scores of shape ...").
const Tensor& layer_scores(const std::map<std::string, Tensor>& scores, const std::string& layer,
                           const Tensor& kernel, const std::string& none,
                           const std::string& values) {
  auto it = scores.find(layer);
  if (it == scores.end()) throw Error(fmt::format("layer '{}': no {}", layer, none));
  if (it->second.shape != kernel.shape)
    throw Error(fmt::format("layer '{}': {} of shape {} for a kernel of shape {}", layer, values,
                            shape_str(it->second.shape), shape_str(kernel.shape)));
  return it->second;
}

// One weight's value of them, which must be finite and >= 0 (`what`: "saliency score").
double checked_score(const Tensor& values, int64_t idx, const std::string& layer,
                     const std::string& what) {
  const double s = values.data[static_cast<size_t>(idx)];
  if (!std::isfinite(s) || s < 0)
    throw Error(
        fmt::format("layer '{}': {} {} of weight {} (must be finite, >= 0)", layer, what, s, idx));
  return s;
}

}  // namespace

std::vector<std::vector<double>> group_importance(const Model& model, const structures::Plan& plan,
                                                  Ranking ranking,
                                                  const std::map<std::string, Tensor>* scores) {
  std::vector<std::vector<double>> out;
  out.reserve(plan.layers.size());
  for (const auto& lp : plan.layers) {
    const hw::GroupSet& gs = lp.groups;
    const Layer& layer = model.layer(gs.layer_name);
    const Tensor& kernel = layer.weight("kernel");
    const bool masked = !layer.mask.empty();
    const Tensor* per_weight = nullptr;
    if (needs_data(ranking)) {
      if (!scores) throw Error(fmt::format("{} ranking needs weight scores", to_string(ranking)));
      per_weight = &layer_scores(*scores, gs.layer_name, kernel,
                                 fmt::format("{} scores", to_string(ranking)), "scores");
    }
    std::vector<double> v(gs.size(), 0.0);
    for (size_t g = 0; g < gs.size(); ++g) {
      double acc = 0;
      for (int64_t idx : gs.group(g)) {
        if (masked && layer.mask.data[idx] == 0.0f) continue;
        const double w = kernel.data[idx];
        switch (ranking) {
          case Ranking::L1:
            acc += std::abs(w);
            break;
          case Ranking::L2:
            acc += w * w;
            break;
          case Ranking::Oracle:
          case Ranking::Saliency:
            acc += checked_score(*per_weight, idx, gs.layer_name,
                                 fmt::format("{} score", to_string(ranking)));
            break;
        }
      }
      v[g] = ranking == Ranking::L2 ? std::sqrt(acc) : acc;
    }
    out.push_back(std::move(v));
  }
  return out;
}

void normalise_per_layer(std::vector<std::vector<double>>& importance) {
  for (auto& layer : importance) {
    double sum = 0;
    size_t n = 0;
    for (double v : layer)
      if (v > 0) {
        sum += v;
        ++n;
      }
    if (n == 0) continue;
    const double mean = sum / static_cast<double>(n);
    for (double& v : layer) v /= mean;
  }
}

std::vector<std::vector<double>> ranked_importance(const Model& model, const structures::Plan& plan,
                                                   Ranking ranking,
                                                   const std::map<std::string, Tensor>* scores) {
  auto imp = group_importance(fold_batchnorm(model), plan, ranking, scores);
  normalise_per_layer(imp);
  return imp;
}

std::vector<std::vector<double>> choice_importance(const Model& model, const structures::Plan& plan,
                                                   const std::vector<int>& widths,
                                                   const std::map<std::string, Tensor>& fisher) {
  for (int b : widths)
    if (b < 0 || b > FixedType::kMaxWidth)
      throw Error(fmt::format("weight width {} is out of range (0..{})", b, FixedType::kMaxWidth));
  const Model folded = fold_batchnorm(model);
  const size_t nw = widths.size();
  std::vector<std::vector<double>> out;
  out.reserve(plan.layers.size());
  for (const auto& lp : plan.layers) {
    const hw::GroupSet& gs = lp.groups;
    const Layer& layer = folded.layer(gs.layer_name);
    const Tensor& kernel = layer.weight("kernel");
    const Tensor& unfolded = model.layer(gs.layer_name).weight("kernel");
    const Tensor& f_ii =
        layer_scores(fisher, gs.layer_name, kernel, "Fisher information", "Fisher values");
    if (!layer.precision.weight)
      throw Error(
          fmt::format("layer '{}': per-group widths need a fixed-point weight type, not "
                      "float",
                      gs.layer_name));
    const FixedType type = saturating(*layer.precision.weight);
    std::vector<FixedType> at(nw, type);
    for (size_t j = 0; j < nw; ++j)
      if (widths[j] > 0) at[j] = at_width(type, widths[j]);
    const bool masked = !layer.mask.empty();
    std::vector<double> v(gs.size() * nw, 0.0);
    double sal_sum = 0;  // the scale: the mean of the non-zero width-0 values (saliency)
    size_t sal_n = 0;
    for (size_t g = 0; g < gs.size(); ++g) {
      double sal = 0;
      for (int64_t idx : gs.group(g)) {
        const auto k = static_cast<size_t>(idx);
        if (masked && layer.mask.data[k] == 0.0f) continue;
        double f = checked_score(f_ii, idx, gs.layer_name, "Fisher value");
        const double w = kernel.data[k], w0 = unfolded.data[k];
        if (w != 0 && w0 != w) f *= (w0 / w) * (w0 / w);
        sal += 0.5 * f * w * w;
        for (size_t j = 0; j < nw; ++j) {
          const double e = widths[j] == 0 ? w : w - at[j].quantize(w);
          v[g * nw + j] += 0.5 * f * e * e;
        }
      }
      if (sal > 0) {
        sal_sum += sal;
        ++sal_n;
      }
    }
    if (sal_n > 0)
      for (double& x : v) x /= sal_sum / static_cast<double>(sal_n);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace hwprune::prune
