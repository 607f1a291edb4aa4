// map_model and record_hardware: a model to its hardware and back (see map_model.hpp).
#include "hwprune/hw/map_model.hpp"

namespace hwprune::hw {

MappedModel map_model(const Model& model, const HardwareSpec& spec) {
  MappedModel m{fold_batchnorm(model), {}};
  m.model.infer_shapes();
  m.hardware = resolve_hardware(m.model, spec.defaults, spec.device);
  return m;
}

IntNetwork make_int_network(const MappedModel& mapped) {
  std::vector<int64_t> rfs;
  for (const auto& h : mapped.hardware.layers) rfs.push_back(h.reuse_factor);
  return hwprune::make_int_network(mapped.model, rfs);
}

void record_hardware(Model& model, const HardwareModel& hardware,
                     const HardwareDefaults& defaults) {
  for (const LayerHw& h : hardware.layers) {
    Layer& l = model.layer(h.name);
    const bool strategy_chosen =
        l.hardware.strategy || defaults.overrides.strategy || defaults.strategy;
    l.hardware.reuse_factor = h.reuse_factor;
    l.hardware.io_type = h.io_type;
    if (strategy_chosen) l.hardware.strategy = h.strategy;
    if (l.is_conv()) l.hardware.parallelization_factor = h.parallelization_factor;
  }
}

}  // namespace hwprune::hw
