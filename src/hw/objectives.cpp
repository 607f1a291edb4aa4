// The built-in objectives. Each reports the estimator's figure for a layer and charges each
// group what removing it saves (docs/hardware-model.md, "Objectives").
#include "hwprune/hw/objectives.hpp"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/hw/widths.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::hw {

namespace {

// A multiplier lane can be removed by pruning when the design drops all-zero lanes.
bool prunes_lanes(const LayerHw& hw) {
  return hw.strategy != Strategy::Latency && hw.reuse_factor > 1;
}

// Multiplier units (DSPs or LUT multipliers) one weight or lane stands for.
double multipliers_per_weight(const LayerHw& hw) {
  const double per_instance = hw.strategy == Strategy::Latency ? 1.0 / hw.reuse_factor : 1.0;
  return per_instance * static_cast<double>(hw.instances());
}

// BRAM18 one packed lane occupies: W/36 of a column per 512 words (one ROM copy serves every
// kernel instance).
double bram_per_lane(const LayerHw& hw, const Device& device) {
  if (!hw.uses_rom()) return 0.0;
  return static_cast<double>(hw.weight.width) / device.bram18_width *
         static_cast<double>(ceil_div(hw.reuse_factor, device.bram18_depth));
}

// Lanes a group covers (pattern: 1; bram-columns: up to c; unstructured: one weight).
double lanes_in(const LayerHw& hw, const GroupSet& groups, size_t g) {
  const double size = static_cast<double>(groups.group(g).size());
  return groups.kind == GroupKind::Unstructured ? 1.0 : size / hw.reuse_factor;
}

// BRAM18 columns an hls4ml column group frees (groups start on a column boundary).
double bram_columns_of(const LayerHw& hw, const Device& device, const GroupSet& groups, size_t g) {
  if (!hw.uses_rom()) return 0.0;
  const int64_t lanes = static_cast<int64_t>(groups.group(g).size()) / hw.reuse_factor;
  return static_cast<double>(ceil_div(lanes * hw.weight.width, device.bram18_width) *
                             ceil_div(hw.reuse_factor, device.bram18_depth));
}

// An objective defined by a few functions; the fixed part of its cost model is whatever
// the dense design costs beyond the groups' summed costs.
class BuiltinObjective final : public Objective {
 public:
  using Structure = std::function<GroupKind(const LayerHw&)>;
  using Resources =
      std::function<std::vector<double>(const Layer&, const LayerHw&, const Device&, bool)>;
  using Cost =
      std::function<void(const LayerHw&, const Device&, const GroupSet&, size_t, double* out)>;

  BuiltinObjective(std::string name, std::vector<std::string> dims, Structure structure,
                   Resources resources, Cost cost)
      : name_(std::move(name)),
        dims_(std::move(dims)),
        structure_(std::move(structure)),
        resources_(std::move(resources)),
        cost_(std::move(cost)) {}

  std::string name() const override { return name_; }
  std::vector<std::string> dimensions() const override { return dims_; }
  GroupKind structure(const LayerHw& hw) const override { return structure_(hw); }
  std::vector<double> resources(const Layer& layer, const LayerHw& hw, const Device& device,
                                bool sparse) const override {
    return resources_(layer, hw, device, sparse);
  }
  GroupCosts group_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                         const GroupSet& groups) const override {
    const size_t d = dims_.size();
    GroupCosts c;
    c.cost.assign(groups.size() * d, 0.0);
    for (size_t g = 0; g < groups.size(); ++g) cost_(hw, device, groups, g, &c.cost[g * d]);
    c.fixed = resources_(layer, hw, device, /*sparse=*/false);
    for (size_t g = 0; g < groups.size(); ++g)
      for (size_t k = 0; k < d; ++k) c.fixed[k] -= c.cost[g * d + k];
    for (auto& f : c.fixed)
      if (f < 0 && f > -1e-9) f = 0;  // rounding of fractional sums
    return c;
  }

 private:
  std::string name_;
  std::vector<std::string> dims_;
  Structure structure_;
  Resources resources_;
  Cost cost_;
};

LayerEstimate estimate_of(const Layer& layer, const LayerHw& hw, const Device& device, bool sparse,
                          BramModel bram = BramModel::Packed) {
  return estimate_layer(layer, hw, device, EstimateOptions{bram, sparse});
}

GroupKind multiplier_structure(const LayerHw& hw) {
  return prunes_lanes(hw) ? GroupKind::Pattern : GroupKind::Unstructured;
}

std::unique_ptr<Objective> params_objective() {
  return std::make_unique<BuiltinObjective>(
      "params", std::vector<std::string>{"parameters"},
      [](const LayerHw&) { return GroupKind::Unstructured; },
      [](const Layer& l, const LayerHw& hw, const Device& dev, bool sparse) {
        const auto e = estimate_of(l, hw, dev, sparse);
        return std::vector<double>{static_cast<double>(sparse ? e.nonzero : e.parameters)};
      },
      [](const LayerHw&, const Device&, const GroupSet& gs, size_t g, double* out) {
        out[0] = static_cast<double>(gs.group(g).size());
      });
}

std::unique_ptr<Objective> dsp_objective() {
  return std::make_unique<BuiltinObjective>(
      "dsp", std::vector<std::string>{"DSP"}, multiplier_structure,
      [](const Layer& l, const LayerHw& hw, const Device& dev, bool sparse) {
        return std::vector<double>{static_cast<double>(estimate_of(l, hw, dev, sparse).dsp)};
      },
      [](const LayerHw& hw, const Device& dev, const GroupSet& gs, size_t g, double* out) {
        out[0] = lanes_in(hw, gs, g) * multipliers_per_weight(hw) * hw.dsp_per_multiplier(dev);
      });
}

std::unique_ptr<Objective> dsp_bram_objective(BramModel bram) {
  return std::make_unique<BuiltinObjective>(
      "dsp-bram", std::vector<std::string>{"DSP", "BRAM18"},
      [bram](const LayerHw& hw) {
        if (!prunes_lanes(hw)) return GroupKind::Unstructured;
        return bram == BramModel::Hls4ml ? GroupKind::BramColumns : GroupKind::Pattern;
      },
      [bram](const Layer& l, const LayerHw& hw, const Device& dev, bool sparse) {
        const auto e = estimate_of(l, hw, dev, sparse, bram);
        return std::vector<double>{static_cast<double>(e.dsp), static_cast<double>(e.bram18)};
      },
      [](const LayerHw& hw, const Device& dev, const GroupSet& gs, size_t g, double* out) {
        const double lanes = lanes_in(hw, gs, g);
        out[0] = lanes * multipliers_per_weight(hw) * hw.dsp_per_multiplier(dev);
        out[1] = gs.kind == GroupKind::BramColumns ? bram_columns_of(hw, dev, gs, g)
                                                   : lanes * bram_per_lane(hw, dev);
      });
}

// DSP slices and the LUTs of LUT multipliers. A group's cost at a width is its multipliers'
// (widths.hpp: DSP at or above the device's threshold, else the measured LUT table, by the
// weight's value at that width when the layer is fully unrolled).
class DspLutObjective final : public Objective {
 public:
  std::string name() const override { return "dsp-lut"; }
  std::vector<std::string> dimensions() const override { return {"DSP", "LUT"}; }
  GroupKind structure(const LayerHw& hw) const override { return multiplier_structure(hw); }
  std::vector<double> resources(const Layer& layer, const LayerHw& hw, const Device& device,
                                bool sparse) const override {
    const auto e = estimate_of(layer, hw, device, sparse);
    if (e.lut_multipliers < 0)
      throw Error(fmt::format(
          "layer '{}': the measured LUT table (hw/lut_costs.hpp) does not cover its {} weights "
          "times {} inputs",
          layer.name, hw.weight.str(), hw.input.str()));
    return {static_cast<double>(e.dsp), static_cast<double>(e.lut_multipliers)};
  }
  GroupCosts group_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                         const GroupSet& groups) const override {
    ChoiceCosts c = choice_costs(layer, hw, device, groups, {hw.weight.width});
    return GroupCosts{std::move(c.fixed), std::move(c.cost)};
  }
  ChoiceCosts choice_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                           const GroupSet& groups, const std::vector<int>& widths) const override {
    const size_t nw = widths.size();
    const bool constants = hw.reuse_factor == 1;
    const Tensor* kernel = constants ? &layer.weight("kernel") : nullptr;
    const double per_weight = multipliers_per_weight(hw);
    auto cost_at = [&](size_t g, int bits, double* out) {
      out[0] = out[1] = 0.0;
      if (bits == 0) return;
      if (!constants) {
        const MultiplierCost m = multiplier_cost(hw, device, bits);
        const double n = lanes_in(hw, groups, g) * per_weight;
        out[0] = n * m.dsp;
        out[1] = n * m.lut;
        return;
      }
      for (int64_t k : groups.group(g)) {
        const MultiplierCost m = multiplier_cost(
            hw, device, bits, static_cast<double>(kernel->data[static_cast<size_t>(k)]));
        out[0] += per_weight * m.dsp;
        out[1] += per_weight * m.lut;
      }
    };
    ChoiceCosts c;
    c.cost.assign(groups.size() * nw * 2, 0.0);
    c.fixed = resources(layer, hw, device, /*sparse=*/false);
    double own[2];
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t j = 0; j < nw; ++j) cost_at(g, widths[j], &c.cost[(g * nw + j) * 2]);
      cost_at(g, hw.weight.width, own);
      c.fixed[0] -= own[0];
      c.fixed[1] -= own[1];
    }
    for (auto& f : c.fixed)
      if (f < 0 && f > -1e-6) f = 0;  // rounding of fractional sums
    return c;
  }
};

// One number: the LUTs of LUT multipliers plus `lut_per_dsp` LUTs for every DSP slice
// (ObjectiveOptions), the dsp-lut costs weighted and summed.
class LutEquivalentObjective final : public Objective {
 public:
  explicit LutEquivalentObjective(double lut_per_dsp) : rate_(lut_per_dsp) {}
  std::string name() const override { return "lut-eq"; }
  std::vector<std::string> dimensions() const override { return {"LUT-eq"}; }
  GroupKind structure(const LayerHw& hw) const override { return parts_.structure(hw); }
  std::vector<double> resources(const Layer& layer, const LayerHw& hw, const Device& device,
                                bool sparse) const override {
    return combined(parts_.resources(layer, hw, device, sparse));
  }
  GroupCosts group_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                         const GroupSet& groups) const override {
    GroupCosts c = parts_.group_costs(layer, hw, device, groups);
    return GroupCosts{combined(c.fixed), combined(c.cost)};
  }
  ChoiceCosts choice_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                           const GroupSet& groups, const std::vector<int>& widths) const override {
    ChoiceCosts c = parts_.choice_costs(layer, hw, device, groups, widths);
    return ChoiceCosts{combined(c.fixed), combined(c.cost)};
  }

 private:
  // (DSP, LUT) pairs to LUT + rate * DSP.
  std::vector<double> combined(const std::vector<double>& pairs) const {
    std::vector<double> out(pairs.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) out[i] = pairs[2 * i + 1] + rate_ * pairs[2 * i];
    return out;
  }
  DspLutObjective parts_;
  double rate_;
};

std::unique_ptr<Objective> ff_objective() {
  return std::make_unique<BuiltinObjective>(
      "ff", std::vector<std::string>{"FF"}, multiplier_structure,
      [](const Layer& l, const LayerHw& hw, const Device& dev, bool sparse) {
        return std::vector<double>{static_cast<double>(estimate_of(l, hw, dev, sparse).ff)};
      },
      [](const LayerHw& hw, const Device& dev, const GroupSet& gs, size_t g, double* out) {
        // A removed LUT multiplier takes its product register; a DSP one's is in the DSP48
        // and the ROM's output register in the block RAM, so they free no FF.
        out[0] = hw.dsp_per_multiplier(dev) == 0
                     ? lanes_in(hw, gs, g) * multipliers_per_weight(hw) *
                           (hw.weight.width + hw.input.width)
                     : 0.0;
      });
}

std::unique_ptr<Objective> flops_objective() {
  return std::make_unique<BuiltinObjective>(
      "flops", std::vector<std::string>{"FLOPs"}, [](const LayerHw&) { return GroupKind::Neuron; },
      [](const Layer& l, const LayerHw& hw, const Device& dev, bool sparse) {
        (void)dev;
        int64_t live = hw.n_products;
        if (sparse) {
          const auto w = live_weights(l, hw);
          live = std::count(w.begin(), w.end(), uint8_t{1});
        }
        return std::vector<double>{2.0 * static_cast<double>(live * hw.positions)};
      },
      [](const LayerHw& hw, const Device&, const GroupSet& gs, size_t g, double* out) {
        out[0] = 2.0 * static_cast<double>(gs.group(g).size()) * hw.positions;
      });
}

std::unique_ptr<Objective> latency_objective() {
  return std::make_unique<BuiltinObjective>(
      "latency", std::vector<std::string>{"cycles"},
      [](const LayerHw&) { return GroupKind::Cycle; },
      [](const Layer& l, const LayerHw& hw, const Device& dev, bool sparse) {
        return std::vector<double>{static_cast<double>(estimate_of(l, hw, dev, sparse).latency)};
      },
      [](const LayerHw& hw, const Device&, const GroupSet&, size_t, double* out) {
        // Only a design that skips all-zero ROM words (Unrolled) gets faster.
        const bool skips = hw.strategy == Strategy::Unrolled && hw.reuse_factor > 1;
        const int64_t passes =
            hw.io_type == IoType::Parallel ? hw.positions / hw.instances() : hw.positions;
        out[0] = skips ? static_cast<double>(passes) : 0.0;
      });
}

}  // namespace

const ObjectiveTable& objective_table() {
  static const ObjectiveTable table{
      "objective",
      {{{"params", [](const ObjectiveOptions&) { return params_objective(); },
         "non-zero parameters (unstructured)"},
        {"dsp", [](const ObjectiveOptions&) { return dsp_objective(); },
         "DSP slices: multiplier patterns at RF > 1, single weights at RF 1"},
        {"dsp-bram", [](const ObjectiveOptions& o) { return dsp_bram_objective(o.bram); },
         "DSP slices and BRAM18 (ROM lanes, --bram-model) together"},
        {"dsp-lut",
         [](const ObjectiveOptions&) -> std::unique_ptr<Objective> {
           return std::make_unique<DspLutObjective>();
         },
         "DSP slices and the LUTs of LUT multipliers (per-group widths: --widths)"},
        {"lut-eq",
         [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
           return std::make_unique<LutEquivalentObjective>(o.lut_per_dsp);
         },
         "one number: LUTs of LUT multipliers + --lut-per-dsp LUTs per DSP slice"},
        {"ff", [](const ObjectiveOptions&) { return ff_objective(); },
         "flip-flops (only LUT multipliers' product registers can go)"},
        {"flops", [](const ObjectiveOptions&) { return flops_objective(); },
         "multiply-accumulates, in whole neurons/filters"},
        {"latency", [](const ObjectiveOptions&) { return latency_objective(); },
         "clock cycles (ROM words skipped by the Unrolled strategy)"}}}};
  return table;
}

ChoiceCosts Objective::choice_costs(const Layer& layer, const LayerHw&, const Device&,
                                    const GroupSet&, const std::vector<int>&) const {
  throw Error(fmt::format(
      "objective '{}' prices one weight width per layer (layer '{}'); joint pruning and "
      "precision (per-group widths) needs the dsp-lut or lut-eq objective",
      name(), layer.name));
}

std::unique_ptr<Objective> make_objective(const std::string& name,
                                          const ObjectiveOptions& options) {
  return objective_table().parse(name)(options);
}

std::vector<double> model_resources(const Objective& objective, const Model& model,
                                    const HardwareModel& hardware, bool sparse) {
  std::vector<double> total(objective.dimensions().size(), 0.0);
  for (const LayerHw& hw : hardware.layers) {
    const auto r = objective.resources(model.layers.at(hw.layer), hw, hardware.device, sparse);
    for (size_t k = 0; k < total.size(); ++k) total[k] += r[k];
  }
  return total;
}

}  // namespace hwprune::hw
