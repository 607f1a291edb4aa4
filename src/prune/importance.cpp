// Group importance scores and their per-layer normalisation.
#include "hwprune/prune/importance.hpp"

#include <cmath>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::prune {

bool needs_data(Ranking r) {
  return r == Ranking::Oracle || r == Ranking::Saliency;
}

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
      auto it = scores->find(gs.layer_name);
      if (it == scores->end())
        throw Error(fmt::format("layer '{}': no {} scores", gs.layer_name, to_string(ranking)));
      if (it->second.shape != kernel.shape)
        throw Error(fmt::format("layer '{}': scores of shape {} for a kernel of shape {}",
                                gs.layer_name, shape_str(it->second.shape),
                                shape_str(kernel.shape)));
      per_weight = &it->second;
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
          case Ranking::Saliency: {
            const double s = per_weight->data[idx];
            if (!std::isfinite(s) || s < 0)
              throw Error(fmt::format("layer '{}': {} score {} of weight {} (must be finite, >= 0)",
                                      gs.layer_name, to_string(ranking), s, idx));
            acc += s;
            break;
          }
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

}  // namespace hwprune::prune
