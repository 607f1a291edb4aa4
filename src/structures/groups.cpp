// Building weight groups from the weight-to-multiplier map, and masks from a selection.
#include "hwprune/structures/groups.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::structures {

using hw::GroupKind;
using hw::GroupSet;

namespace {

void close_group(GroupSet& s) {
  s.offsets.push_back(static_cast<int64_t>(s.members.size()));
}

}  // namespace

int64_t bram_group_lanes(int64_t weight_bits, int64_t column_bits) {
  return column_bits / std::gcd(weight_bits, column_bits);
}

GroupSet make_groups(const Layer& layer, const hw::LayerHw& hw, GroupKind kind, BlockShape block) {
  if (layer.name != hw.name || !layer.has_kernel())
    throw Error(fmt::format("layer '{}': no hardware description for this layer", layer.name));
  GroupSet s;
  s.layer = hw.layer;
  s.layer_name = hw.name;
  s.kind = kind;
  const int64_t n = hw.n_products, rf = hw.reuse_factor, bf = hw.block_factor;
  s.members.reserve(static_cast<size_t>(n));
  // Lanes [lo, hi) of the map, each lane's weights in cycle order.
  auto add_lanes = [&](int64_t lo, int64_t hi) {
    for (int64_t m = lo; m < hi; ++m)
      for (int64_t t = m * rf; t < std::min((m + 1) * rf, n); ++t)
        s.members.push_back(hw::keras_index(hw, t));
  };
  switch (kind) {
    case GroupKind::Unstructured:
      for (int64_t k = 0; k < n; ++k) {
        s.members.push_back(k);
        close_group(s);
      }
      break;
    case GroupKind::Neuron:
      for (int64_t o = 0; o < hw.n_out; ++o) {
        for (int64_t i = 0; i < hw.n_in; ++i) s.members.push_back(i * hw.n_out + o);
        close_group(s);
      }
      break;
    case GroupKind::Pattern:
      for (int64_t m = 0; m < bf; ++m) {
        add_lanes(m, m + 1);
        close_group(s);
      }
      break;
    case GroupKind::BramColumns: {
      const int64_t c = bram_group_lanes(hw.weight.width);
      for (int64_t m = 0; m < bf; m += c) {
        add_lanes(m, std::min(m + c, bf));
        close_group(s);
      }
      break;
    }
    case GroupKind::Cycle:
      for (int64_t ir = 0; ir < rf; ++ir) {
        for (int64_t t = ir; t < n; t += rf) s.members.push_back(hw::keras_index(hw, t));
        close_group(s);
      }
      break;
    case GroupKind::Block: {
      if (layer.kind != LayerKind::Dense)
        throw Error(fmt::format("layer '{}' ({}): block structures apply to Dense layers only",
                                layer.name, to_string(layer.kind)));
      if (block.rows < 1 || block.cols < 1)
        throw Error(fmt::format("layer '{}': block shape {}x{} must be at least 1x1", layer.name,
                                block.rows, block.cols));
      for (int64_t r0 = 0; r0 < hw.n_in; r0 += block.rows)
        for (int64_t c0 = 0; c0 < hw.n_out; c0 += block.cols) {
          for (int64_t i = r0; i < std::min(r0 + block.rows, hw.n_in); ++i)
            for (int64_t o = c0; o < std::min(c0 + block.cols, hw.n_out); ++o)
              s.members.push_back(i * hw.n_out + o);
          close_group(s);
        }
      break;
    }
  }
  return s;
}

void apply_selection(Layer& layer, const GroupSet& groups, const std::vector<uint8_t>& keep) {
  if (layer.name != groups.layer_name)
    throw Error(
        fmt::format("groups of layer '{}' applied to layer '{}'", groups.layer_name, layer.name));
  if (keep.size() != groups.size())
    throw Error(fmt::format("layer '{}': selection has {} entries for {} groups", layer.name,
                            keep.size(), groups.size()));
  const Tensor& kernel = layer.weight("kernel");
  if (layer.mask.empty()) layer.mask = Tensor(kernel.shape, 1.0f);
  for (size_t g = 0; g < groups.size(); ++g) {
    if (keep[g]) continue;
    for (int64_t k : groups.group(g)) layer.mask.data[static_cast<size_t>(k)] = 0.0f;
  }
}

}  // namespace hwprune::structures
