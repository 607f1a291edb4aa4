// Per-group weight widths: parsing, the type at a width, and one multiplier's cost.
#include "hwprune/hw/widths.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "hwprune/hw/lut_costs.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::hw {

namespace {
constexpr int kMaxChoiceWidth = 32;

int signed_bits(const FixedType& t) {
  return t.width + (t.is_signed ? 0 : 1);
}
}  // namespace

std::vector<int> parse_widths(std::string_view text) {
  std::vector<int> widths;
  auto bad = [&](std::string_view entry, const std::string& why) {
    return Error(fmt::format("widths \"{}\": entry \"{}\" {}", text, entry, why));
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view entry = text.substr(pos, end - pos);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    int w = 0;
    const auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), w);
    if (entry.empty() || ec != std::errc() || ptr != entry.data() + entry.size())
      throw bad(entry, "is not a whole number");
    if (w < 0 || w > kMaxChoiceWidth)
      throw bad(entry, fmt::format("is out of range (0 = pruned, 1..{} bits)", kMaxChoiceWidth));
    if (std::find(widths.begin(), widths.end(), w) != widths.end())
      throw bad(entry, "appears twice");
    widths.push_back(w);
    pos = end + 1;
  }
  std::sort(widths.begin(), widths.end());
  if (widths.back() == 0)
    throw Error(fmt::format("widths \"{}\": give at least one non-zero width", text));
  return widths;
}

MultiplierCost multiplier_cost(const LayerHw& hw, const Device& device, int bits,
                               std::optional<double> constant) {
  LayerHw at = hw;
  at.weight = at_width(hw.weight, bits);
  MultiplierCost c;
  if (bits >= device.dsp_min_weight_bits) {
    c.dsp = at.dsp_per_multiplier(device);
    return c;
  }
  const int x = signed_bits(hw.input);
  c.lut = static_cast<double>(
      constant ? lut_constant_multiplier(saturating(at.weight).quantize_raw(*constant), x)
               : lut_multiplier(signed_bits(at.weight), x));
  return c;
}

}  // namespace hwprune::hw
