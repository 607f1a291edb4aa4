// Per-group weight widths (joint pruning and precision): the widths a group may take, the
// type a weight has at a width, and what one multiplier costs in DSPs and LUTs at a width.
// The rules are in docs/hardware-model.md, "Per-group widths".
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/fixed_point.hpp"

namespace hwprune::hw {

// The widths a group may take, as given ("0,4,6,8,16"; 0 = pruned): at least one non-zero
// width, each in 0..32, none twice; returned ascending. Error quoting the list and naming the
// bad entry.
std::vector<int> parse_widths(std::string_view text);
// The same rules for a list already parsed (a configuration): Error naming the bad entry.
void check_widths(const std::vector<int>& widths);

// The type of a weight at a width is at_width (ir/fixed_point.hpp).

// What one multiplier of a layer costs with its weight at `bits` bits: DSPs when the width
// reaches the device's threshold (LayerHw::dsp_per_multiplier's rule), else LUTs from the
// measured table (lut_costs.hpp). `constant` is the weight's real value when the layer is
// fully unrolled (RF 1): its LUTs follow that value quantized at the width (the saturating
// weight type at `bits`, hwprune's rule for weights); nullopt prices a ROM lane (a variable
// weight). Error outside the LUT table.
struct MultiplierCost {
  double dsp = 0, lut = 0;
};
MultiplierCost multiplier_cost(const LayerHw& hw, const Device& device, int bits,
                               std::optional<double> constant = std::nullopt);

}  // namespace hwprune::hw
