// LUTs of the LUT multipliers hwprune's Verilog builds, from a table measured with Yosys
// (synth_xilinx, family xc7) by bench/lut_table.cpp on the product modules of
// rtl/lut_products.hpp, kept in src/hw/lut_table.inc and re-measured in part by a test.
// Widths are the signed operand widths Yosys sees (an unsigned type counts one bit more).
#pragma once

#include <cstdint>

#include "hwprune/hw/hardware.hpp"

namespace hwprune::hw {

// What the table covers: weights of 1..kLutWeightBits signed bits (variable, read from a
// ROM), constants whose odd part has 1..kLutConstantBits signed bits, inputs of
// 1..kLutInputBits signed bits.
inline constexpr int kLutWeightBits = 12;
inline constexpr int kLutConstantBits = 8;
inline constexpr int kLutInputBits = 24;

// Whether the table holds a product of a `weight_bits` weight (for a constant: its odd
// part's signed bits) and an `input_bits` input.
bool lut_table_has(int weight_bits, int input_bits, bool constant);

// LUTs of a full-width signed `weight_bits` x `input_bits` product whose weight is a
// variable (a ROM lane). Error naming both widths and the table's range outside it.
int64_t lut_multiplier(int weight_bits, int input_bits);

// LUTs of `raw` times a signed `input_bits` input, `raw` a constant (RF 1): 0 for 0, and the
// cost of its odd part (a power-of-two factor is a shift, free). Error outside the table.
int64_t lut_constant_multiplier(int64_t raw, int input_bits);

}  // namespace hwprune::hw
