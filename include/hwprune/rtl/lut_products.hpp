// The LUT multiplier modules of hwprune's Verilog (a variable ROM weight or a constant times
// a signed input, full product) and their measurement with Yosys: the source of the table in
// hw/lut_costs.hpp (bench/lut_table.cpp writes it; a test re-measures part of it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hwprune/hw/hardware.hpp"

namespace hwprune::rtl {

// One product: a signed `weight_bits` variable weight (constant = false) or the odd constant
// `value` (constant = true; weight_bits is then its signed width), times a signed
// `input_bits` input.
struct ProductShape {
  bool constant = false;
  int weight_bits = 0;
  int64_t value = 0;
  int input_bits = 0;
};
// The variable-weight shape and the constant shape of `odd` (hw::odd_part's value).
ProductShape variable_product(int weight_bits, int input_bits);
ProductShape constant_product(int64_t odd, int input_bits);

// The module name of a shape: <prefix>lutmul_w<wb>_x<wa>, <prefix>lutmul_c<value>_x<wa> (m for
// minus).
std::string product_module_name(const ProductShape& s, const std::string& prefix = "");
// The module: inputs x (and w), output p of weight_bits + input_bits bits, the product
// marked (* hwprune_lut *) so the synthesis script builds it from LUTs. The generator's RF 1
// layers instantiate it (prefixed with the design's top) for narrow constants, its RF > 1
// layers for narrow lanes. A variable-weight module is marked (* hwprune_ooc *): synthesize
// maps it out of context, so it costs its table entry in every design (a constant module is
// a few LUTs, and synthesised in context).
std::string product_module(const ProductShape& s, const std::string& prefix = "");

// Synthesises every shape as its own module (one Yosys run, hierarchy kept, top
// `lutmul_top` instantiating each once; each variable-weight module before it in a run of its
// own, out of context) in `work_dir` and returns each one's LUTs, in order.
// Error for an invalid shape (widths < 1 or > 64, an even or out-of-width constant), or
// from synthesize.
std::vector<int64_t> measure_product_luts(const std::vector<ProductShape>& shapes,
                                          const hw::Device& device, const std::string& work_dir);

}  // namespace hwprune::rtl
