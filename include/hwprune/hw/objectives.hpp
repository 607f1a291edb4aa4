// Resource objectives: the plugin interface that turns a layer and its hardware attributes
// into a resource vector and into the saving of each weight group (or of each width a group
// may take), and the built-in objectives (params, dsp, dsp-bram, dsp-lut, lut-eq, ff, flops,
// latency).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/hardware.hpp"
#include "hwprune/hw/weight_groups.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::hw {

// What an objective charges for one layer's groups, linear in the kept groups:
//   resources(layer) ~= fixed + sum over kept groups g of cost[g * dims + d].
// cost[g] is therefore also what pruning group g saves.
struct GroupCosts {
  std::vector<double> fixed;  // dims
  std::vector<double> cost;   // groups.size() * dims, group-major
};

// What an objective charges for one layer's groups when each group takes one width of a
// list (joint pruning and precision, widths ascending, 0 = pruned):
//   resources(layer) ~= fixed + sum over groups g of cost[(g * widths + j) * dims + d]
// for the width j each group takes. A pruned group costs 0; `fixed` is what the dense design
// at the layer's own weight type costs beyond its groups' costs at that width.
struct ChoiceCosts {
  std::vector<double> fixed;  // dims
  std::vector<double> cost;   // groups.size() * widths.size() * dims
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  // Names of the resource dimensions, e.g. {"DSP", "BRAM18"}.
  virtual std::vector<std::string> dimensions() const = 0;
  // The structure this objective prunes the layer in.
  virtual GroupKind structure(const LayerHw& hw) const = 0;
  // The layer's resources: with sparse = true the zeros (mask or quantized 0) cost nothing,
  // with sparse = false every weight counts (the unpruned design).
  virtual std::vector<double> resources(const Layer& layer, const LayerHw& hw, const Device& device,
                                        bool sparse) const = 0;
  // The linear cost model for the groups `structure(hw)` gives (ignoring the current mask).
  virtual GroupCosts group_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                                 const GroupSet& groups) const = 0;
  // The cost model per width (hw/widths.hpp). The default is an error: only objectives that
  // price widths (dsp-lut, lut-eq) take part in joint pruning and precision.
  virtual ChoiceCosts choice_costs(const Layer& layer, const LayerHw& hw, const Device& device,
                                   const GroupSet& groups, const std::vector<int>& widths) const;
};

// LUTs a DSP slice is worth (lut-eq): hls4ml's default part xcvu9p has 1,182,240 LUTs and
// 6,840 DSP slices, so one DSP is as large a share of it as 173 LUTs.
inline constexpr double kDefaultLutPerDsp = 173.0;

struct ObjectiveOptions {
  BramModel bram = BramModel::Packed;      // dsp-bram: packed lanes or hls4ml's column groups
  double lut_per_dsp = kDefaultLutPerDsp;  // lut-eq: the exchange rate
};

// The built-in objectives by name (params, dsp, dsp-bram, dsp-lut, lut-eq, ff, flops, latency),
// each with a one-line description and its factory: the one list the parser, --help and errors use.
using ObjectiveFactory = std::unique_ptr<Objective> (*)(const ObjectiveOptions&);
using ObjectiveTable = NameTable<ObjectiveFactory, 8>;
const ObjectiveTable& objective_table();
// Error listing the known objectives if `name` is not one of them.
std::unique_ptr<Objective> make_objective(const std::string& name,
                                          const ObjectiveOptions& options = {});

// Sum of an objective's resources over the model's Dense/Conv layers.
std::vector<double> model_resources(const Objective& objective, const Model& model,
                                    const HardwareModel& hardware, bool sparse);

}  // namespace hwprune::hw
