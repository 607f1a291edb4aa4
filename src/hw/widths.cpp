// Per-group weight widths: parsing, the type at a width, and one multiplier's cost.
#include "hwprune/hw/widths.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/hw/lut_costs.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::hw {

namespace {
constexpr int kMaxChoiceWidth = 32;
}  // namespace

namespace {
Error bad_entry(std::string_view text, std::string_view entry, const std::string& why) {
  return Error(fmt::format("widths \"{}\": entry \"{}\" {}", text, entry, why));
}

// check_widths with `text` the list as the user wrote it (for the messages).
void check_widths(const std::vector<int>& widths, std::string_view text) {
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string entry = std::to_string(widths[i]);
    if (widths[i] < 0 || widths[i] > kMaxChoiceWidth)
      throw bad_entry(text, entry,
                      fmt::format("is out of range (0 = pruned, 1..{} bits)", kMaxChoiceWidth));
    if (std::find(widths.begin(), widths.begin() + static_cast<long>(i), widths[i]) !=
        widths.begin() + static_cast<long>(i))
      throw bad_entry(text, entry, "appears twice");
  }
  if (std::none_of(widths.begin(), widths.end(), [](int w) { return w > 0; }))
    throw Error(fmt::format("widths \"{}\": give at least one non-zero width", text));
}
}  // namespace

void check_widths(const std::vector<int>& widths) {
  check_widths(widths, fmt::format("{}", fmt::join(widths, ",")));
}

std::vector<int> parse_widths(std::string_view text) {
  std::vector<int> widths;
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
      throw bad_entry(text, entry, "is not a whole number");
    widths.push_back(w);
    pos = end + 1;
  }
  check_widths(widths, text);
  std::sort(widths.begin(), widths.end());
  return widths;
}

MultiplierCost multiplier_cost(const LayerHw& hw, const Device& device, int bits,
                               std::optional<double> constant) {
  const FixedType narrow = at_width(hw.weight, bits);  // checks the width
  MultiplierCost c;
  if (bits >= device.dsp_min_weight_bits) {
    c.dsp = hw.dsp_at_width(bits, device);
    return c;
  }
  const int x = signed_width(hw.input);
  c.lut = static_cast<double>(
      constant ? lut_constant_multiplier(saturating(narrow).quantize_raw(*constant), x)
               : lut_multiplier(signed_width(narrow), x));
  return c;
}

}  // namespace hwprune::hw
