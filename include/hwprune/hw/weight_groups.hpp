// The vocabulary of weight groups: the kinds of weight sets that share one piece of hardware
// (a multiplier, a ROM lane, a neuron, a ROM word) and one layer's groups as lists of kernel
// indices. structures::make_groups builds them from the weight-to-multiplier map; the
// objectives (objectives.hpp) price them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hwprune/util/names.hpp"

namespace hwprune::hw {

enum class GroupKind {
  Unstructured,  // one weight (RF = 1, Latency strategy)
  Neuron,        // a Dense neuron's kernel column, or a Conv filter
  Pattern,       // the RF weights one multiplier processes (one ROM lane)
  Block,         // an m x n block of a Dense kernel (n_in x n_out)
  BramColumns,   // hls4ml-compatible consecutive patterns: c = 36 / gcd(W, 36) lanes whose
                 // c*W bits fill whole 36-bit BRAM columns
  Cycle,         // one ROM word: the weights every multiplier processes at cycle ir
};

inline constexpr NameTable<GroupKind, 6> kGroupKindNames{
    "structure",
    {{{"unstructured", GroupKind::Unstructured, "one weight"},
      {"neuron", GroupKind::Neuron, "a Dense neuron or a Conv filter"},
      {"pattern", GroupKind::Pattern, "the RF weights of one multiplier (one ROM lane)"},
      {"block", GroupKind::Block, "an m x n block of a Dense kernel"},
      {"bram-columns", GroupKind::BramColumns, "hls4ml's consecutive patterns (whole columns)"},
      {"cycle", GroupKind::Cycle, "one ROM word (the weights of one cycle)"}}}};

inline std::string_view to_string(GroupKind k) {
  return kGroupKindNames.name(k);
}
inline GroupKind parse_group_kind(std::string_view s) {
  return kGroupKindNames.parse(s);
}

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

}  // namespace hwprune::hw
