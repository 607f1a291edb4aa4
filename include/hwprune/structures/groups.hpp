// Hardware-aware weight groups (structures): the sets of kernel weights that are pruned
// together because together they make a piece of hardware disappear, and masks built from
// a selection of groups.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::structures {

enum class GroupKind {
  Unstructured,  // one weight (RF = 1, Latency strategy)
  Neuron,        // a Dense neuron's kernel column, or a Conv filter
  Pattern,       // the RF weights one multiplier processes (one ROM lane)
  Block,         // an m x n block of a Dense kernel (n_in x n_out)
  BramColumns,   // hls4ml-compatible consecutive patterns: c = 36 / gcd(W, 36) lanes whose
                 // c*W bits fill whole 36-bit BRAM columns
  Cycle,         // one ROM word: the weights every multiplier processes at cycle ir
};
std::string_view to_string(GroupKind k);  // "unstructured", "neuron", "pattern", ...
GroupKind parse_group_kind(std::string_view s);

// The groups of one layer, as lists of flat Keras-layout kernel indices (CSR layout).
// Every kernel weight belongs to exactly one group.
struct GroupSet {
  size_t layer = 0;  // index in Model::layers
  std::string layer_name;
  GroupKind kind = GroupKind::Pattern;
  std::vector<int64_t> offsets{0};  // size() + 1 entries
  std::vector<int64_t> members;

  size_t size() const { return offsets.size() - 1; }
  std::span<const int64_t> group(size_t g) const {
    return {members.data() + offsets[g], static_cast<size_t>(offsets[g + 1] - offsets[g])};
  }
};

struct BlockShape {
  int64_t rows = 1;  // along n_in
  int64_t cols = 1;  // along n_out
};

// The groups of kind `kind` of the layer `hw` describes (`layer` = model.layers[hw.layer]).
// Pattern, BramColumns and Cycle follow the weight-to-multiplier map; Block needs a Dense
// layer. Error naming the layer for a structure the layer cannot have.
GroupSet make_groups(const Layer& layer, const hw::LayerHw& hw, GroupKind kind,
                     BlockShape block = {});

// Lanes per hls4ml-compatible BRAM group for W-bit weights: 36 / gcd(W, 36).
int64_t bram_group_lanes(int64_t weight_bits, int64_t column_bits = 36);

// Zeroes the mask of every weight in a group with keep[g] == 0 (creating an all-ones mask
// first if the layer has none). Kept groups keep their current mask values.
void apply_selection(Layer& layer, const GroupSet& groups, const std::vector<uint8_t>& keep);

}  // namespace hwprune::structures
