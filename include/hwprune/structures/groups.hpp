// Hardware-aware weight groups (structures): building the sets of kernel weights that are
// pruned together because together they make a piece of hardware disappear (the vocabulary,
// GroupKind and GroupSet, is hw/weight_groups.hpp), and masks built from a selection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/hw/weight_groups.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::structures {

struct BlockShape {
  int64_t rows = 1;  // along n_in
  int64_t cols = 1;  // along n_out
};

// The groups of kind `kind` of the layer `hw` describes (`layer` = model.layers[hw.layer]).
// Pattern, BramColumns and Cycle follow the weight-to-multiplier map; Block needs a Dense
// layer. Error naming the layer for a structure the layer cannot have.
hw::GroupSet make_groups(const Layer& layer, const hw::LayerHw& hw, hw::GroupKind kind,
                         BlockShape block = {});

// Lanes per hls4ml-compatible BRAM group for W-bit weights: 36 / gcd(W, 36).
int64_t bram_group_lanes(int64_t weight_bits, int64_t column_bits = 36);

// Zeroes the mask of every weight in a group with keep[g] == 0 (creating an all-ones mask
// first if the layer has none). Kept groups keep their current mask values.
void apply_selection(Layer& layer, const hw::GroupSet& groups, const std::vector<uint8_t>& keep);

}  // namespace hwprune::structures
