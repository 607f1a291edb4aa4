// Seeded random pattern masks for the hardware tests: each multiplier's group (a single
// weight at RF 1) of every Dense/Conv layer is dropped with probability 0.4.
#pragma once

#include <random>
#include <vector>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/structures/groups.hpp"

namespace hwprune::test {

inline void mask_patterns(Model& m, const hw::HardwareModel& hwm, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (const auto& h : hwm.layers) {
    Layer& l = m.layers[h.layer];
    const auto kind = h.reuse_factor > 1 ? hw::GroupKind::Pattern : hw::GroupKind::Unstructured;
    const auto groups = structures::make_groups(l, h, kind);
    std::vector<uint8_t> keep(groups.size());
    for (auto& k : keep) k = (rng() % 10) >= 4;
    structures::apply_selection(l, groups, keep);
  }
}

}  // namespace hwprune::test
