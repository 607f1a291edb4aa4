// Lookups in the measured LUT multiplier table (lut_table.inc, written by bench/lut_table).
#include "hwprune/hw/lut_costs.hpp"

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::hw {

namespace {
#include "lut_table.inc"

void check_input(int input_bits, const std::string& what) {
  if (input_bits < 1 || input_bits > kLutInputBits)
    throw Error(fmt::format(
        "no measured LUT cost for {} times a {}-bit input: the table covers inputs of 1..{} "
        "signed bits (bench/lut_table measures more)",
        what, input_bits, kLutInputBits));
}
}  // namespace

bool lut_table_has(int weight_bits, int input_bits, bool constant) {
  return weight_bits >= 1 && weight_bits <= (constant ? kLutConstantBits : kLutWeightBits) &&
         input_bits >= 1 && input_bits <= kLutInputBits;
}

int64_t lut_multiplier(int weight_bits, int input_bits) {
  const std::string what = fmt::format("a {}-bit weight", weight_bits);
  if (weight_bits < 1 || weight_bits > kLutWeightBits)
    throw Error(
        fmt::format("no measured LUT cost for {}: the table covers weights of 1..{} signed bits",
                    what, kLutWeightBits));
  check_input(input_bits, what);
  return kVariableLuts[weight_bits - 1][input_bits - 1];
}

int64_t lut_constant_multiplier(int64_t raw, int input_bits) {
  const OddPart o = odd_part(raw);
  const std::string what = fmt::format("the constant {}", raw);
  if (o.bits > kLutConstantBits)
    throw Error(fmt::format(
        "no measured LUT cost for {}: its odd part {} needs {} signed bits, the table covers "
        "1..{}",
        what, o.value, o.bits, kLutConstantBits));
  check_input(input_bits, what);
  if (raw == 0) return 0;
  const int64_t half = int64_t{1} << (kLutConstantBits - 1);  // odd values in (-half, half)
  return kConstantLuts[(o.value + half - 1) / 2][input_bits - 1];
}

}  // namespace hwprune::hw
