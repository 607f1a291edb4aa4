// Resolving layers to hardware, hls4ml's reuse-factor rules and the weight-to-multiplier map.
#include "hwprune/hw/hardware.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/util/error.hpp"

namespace hwprune::hw {

namespace {

// Pieces an s-bit signed operand splits into on a p-bit signed multiplier port: a signed
// top piece of p bits and unsigned lower pieces of p - 1 bits.
int64_t operand_pieces(int64_t s, int64_t p) {
  return s <= p ? 1 : 1 + ceil_div(s - p, p - 1);
}

// Layers whose result precision defines the data type after them.
bool sets_result(LayerKind k) {
  switch (k) {
    case LayerKind::Dense:
    case LayerKind::Conv1D:
    case LayerKind::Conv2D:
    case LayerKind::BatchNorm:
    case LayerKind::Activation:
    case LayerKind::AvgPool1D:
    case LayerKind::AvgPool2D:
      return true;
    default:
      return false;
  }
}

std::string fmt_value(int64_t v) {
  return std::to_string(v);
}
std::string fmt_value(Strategy v) {
  return std::string(to_string(v));
}
std::string fmt_value(IoType v) {
  return std::string(to_string(v));
}

FixedType require_fixed(const Precision& p, const std::string& layer, const char* what) {
  if (!p)
    throw Error(
        fmt::format("layer '{}': {} precision is float; the hardware model needs fixed-point types "
                    "(give --precision, e.g. ap_fixed<16,6>)",
                    layer, what));
  return *p;
}

}  // namespace

Device device_for_family(const std::string& family) {
  Device d;
  d.dsp_a_bits = kFamilyNames.parse(family);
  d.family = family;
  return d;
}

int64_t LayerHw::instances() const {
  return io_type == IoType::Parallel ? parallelization_factor : 1;
}

namespace {

// DSP slices of a w x x-bit signed product (operands tiled over the DSP's ports).
int dsp_for_widths(int64_t w, int64_t x, const Device& device) {
  const int64_t a = device.dsp_a_bits, b = device.dsp_b_bits;
  const int64_t straight = operand_pieces(w, a) * operand_pieces(x, b);
  const int64_t swapped = operand_pieces(w, b) * operand_pieces(x, a);
  return static_cast<int>(std::min(straight, swapped));
}

}  // namespace

int LayerHw::dsp_per_multiplier(const Device& device) const {
  return dsp_at_width(weight.width, device);
}

int LayerHw::dsp_at_width(int weight_bits, const Device& device) const {
  if (weight_bits < device.dsp_min_weight_bits) return 0;
  // Signed operand widths (an unsigned b-bit operand needs b + 1 signed bits).
  return dsp_for_widths(weight_bits + (weight.is_signed ? 0 : 1), signed_width(input), device);
}

OddPart odd_part(int64_t raw) {
  if (raw == 0) return {};
  // Trailing zero bits are a shift (wiring), not multiplier width.
  const int64_t odd = raw >> std::countr_zero(static_cast<uint64_t>(raw));
  const auto magnitude = static_cast<uint64_t>(odd < 0 ? ~odd : odd);
  return {odd, static_cast<int>(std::bit_width(magnitude)) + 1};  // with the sign bit
}

int LayerHw::dsp_per_constant(int64_t raw, const Device& device) const {
  if (raw == 0 || weight.width < device.dsp_min_weight_bits) return 0;
  const int bits = odd_part(raw).bits;
  if (bits < device.dsp_min_weight_bits) return 0;
  return dsp_for_widths(bits, signed_width(input), device);
}

int64_t transposed_index(const LayerHw& hw, int64_t k) {
  // Keras layout: Dense (n_in, n_out) and Conv (..., C, F) both end with the output axis,
  // so k = i * n_out + o with i the flat (KH, KW, C) tap index for convolutions.
  const int64_t i = k / hw.n_out, o = k % hw.n_out;
  return o * hw.n_in + i;
}

int64_t keras_index(const LayerHw& hw, int64_t t) {
  const int64_t o = t / hw.n_in, i = t % hw.n_in;
  return i * hw.n_out + o;
}

WeightSlot weight_slot(const LayerHw& hw, int64_t k) {
  if (k < 0 || k >= hw.n_products)
    throw Error(fmt::format("layer '{}': weight index {} is outside the kernel ({} weights)",
                            hw.name, k, hw.n_products));
  WeightSlot s;
  s.transposed = transposed_index(hw, k);
  s.multiplier = s.transposed / hw.reuse_factor;
  s.cycle = s.transposed % hw.reuse_factor;
  s.rom_word = s.cycle;
  s.lane = s.multiplier;
  s.input = s.transposed % hw.n_in;
  s.output = s.transposed / hw.n_in;
  return s;
}

const LayerHw* HardwareModel::find(size_t layer_index) const {
  for (const auto& l : layers)
    if (l.layer == layer_index) return &l;
  return nullptr;
}

std::string reuse_factor_violation(int64_t n_in, int64_t n_out, int64_t rf, Strategy strategy) {
  const int64_t n = n_in * n_out;
  if (rf < 1 || rf > n) return fmt::format("it must be between 1 and N = n_in*n_out = {}", n);
  if (strategy == Strategy::Latency) return {};
  if (n % rf != 0) return fmt::format("N mod RF = {} mod {} = {}, must be 0", n, rf, n % rf);
  if (!(rf % n_in == 0 || rf < n_in))
    return fmt::format("RF must be < n_in = {} or a multiple of it ({} mod {} = {})", n_in, rf,
                       n_in, rf % n_in);
  if (rf < n_in && ceil_div(n, rf) % n_out != 0)
    return fmt::format("ceil(N / min(n_in, RF)) mod n_out = ceil({} / {}) mod {} = {}, must be 0",
                       n, rf, n_out, ceil_div(n, rf) % n_out);
  return {};
}

bool is_valid_reuse_factor(int64_t n_in, int64_t n_out, int64_t rf, Strategy strategy) {
  return reuse_factor_violation(n_in, n_out, rf, strategy).empty();
}

std::vector<int64_t> valid_reuse_factors(int64_t n_in, int64_t n_out, Strategy strategy) {
  std::vector<int64_t> out;
  for (int64_t rf = 1; rf <= n_in * n_out; ++rf)
    if (is_valid_reuse_factor(n_in, n_out, rf, strategy)) out.push_back(rf);
  return out;
}

std::vector<int64_t> nearest_valid_reuse_factors(int64_t n_in, int64_t n_out, int64_t rf,
                                                 Strategy strategy) {
  std::vector<int64_t> out;
  for (int64_t r = std::min(rf, n_in * n_out); r >= 1; --r)
    if (is_valid_reuse_factor(n_in, n_out, r, strategy)) {
      out.push_back(r);
      break;
    }
  for (int64_t r = std::max<int64_t>(rf, 1); r <= n_in * n_out; ++r)
    if (is_valid_reuse_factor(n_in, n_out, r, strategy)) {
      if (out.empty() || out.back() != r) out.push_back(r);
      break;
    }
  return out;
}

void check_reuse_factor(const std::string& layer, int64_t n_in, int64_t n_out, int64_t rf,
                        Strategy strategy) {
  const std::string why = reuse_factor_violation(n_in, n_out, rf, strategy);
  if (why.empty()) return;
  const auto near = nearest_valid_reuse_factors(n_in, n_out, rf, strategy);
  throw Error(fmt::format(
      "layer '{}' (n_in {}, n_out {}): reuse factor {} is invalid for the {} strategy: {} "
      "(hls4ml's rule); nearest valid: {} (--closest-rf takes the closest)",
      layer, n_in, n_out, rf, to_string(strategy), why, fmt::join(near, ", ")));
}

std::vector<BramAspect> bram18_aspects(const Device& device) {
  std::vector<BramAspect> out;
  // Widths below 9 drop the parity bits (4, 2, 1).
  const int64_t widths[] = {36, 18, 9, 4, 2, 1};
  for (int k = 0; k < 6; ++k) {
    const int64_t w = widths[k] * device.bram18_width / 36;
    if (w >= 1) out.push_back({w, int64_t{device.bram18_depth} << k});
  }
  return out;
}

int64_t bram18_for(int64_t depth, int64_t width_bits, const Device& device) {
  if (depth <= 0 || width_bits <= 0) return 0;
  int64_t best = -1;
  for (const BramAspect& a : bram18_aspects(device)) {
    const int64_t n = ceil_div(depth, a.depth) * ceil_div(width_bits, a.width);
    if (best < 0 || n < best) best = n;
  }
  return best;
}

HardwareModel resolve_hardware(const Model& model_in, const HardwareDefaults& defaults,
                               const Device& device) {
  // Shapes are needed; copy the model only when they have not been inferred yet.
  Model copy;
  const bool inferred = std::all_of(model_in.layers.begin(), model_in.layers.end(),
                                    [](const Layer& l) { return !l.output_shape.empty(); });
  if (!inferred) {
    copy = model_in;
    copy.infer_shapes();
  }
  const Model& model = inferred ? model_in : copy;
  HardwareModel out;
  out.device = device;
  Precision data = model.input_precision;
  for (size_t li = 0; li < model.layers.size(); ++li) {
    const Layer& l = model.layers[li];
    const Precision layer_input = data;
    if (sets_result(l.kind) && l.precision.result) data = l.precision.result;
    if (!l.has_kernel()) continue;

    LayerHw hw;
    hw.layer = li;
    hw.name = l.name;
    hw.kind = l.kind;
    const Shape& ks = l.weight("kernel").shape;
    hw.n_out = ks.back();
    hw.n_in = shape_numel(ks) / hw.n_out;
    hw.n_products = hw.n_in * hw.n_out;
    hw.positions = shape_numel(l.output_shape) / hw.n_out;

    const LayerHardware& own = l.hardware;
    const LayerHardware& over = defaults.overrides;
    // A requested value that replaces the layer's own one is reported.
    auto requested = [&](const char* what, const auto& mine, const auto& asked) {
      if (mine && asked && *mine != *asked)
        out.adjustments.push_back(fmt::format("layer '{}': {} {} (the model's) -> {} (requested)",
                                              l.name, what, fmt_value(*mine), fmt_value(*asked)));
      return asked ? asked : mine;
    };
    const auto rf = requested("reuse factor", own.reuse_factor, over.reuse_factor);
    const auto io = requested("io type", own.io_type, over.io_type);
    const auto strategy = requested("strategy", own.strategy, over.strategy);
    hw.reuse_factor = rf.value_or(defaults.reuse_factor);
    hw.io_type = io.value_or(defaults.io_type);
    hw.strategy = strategy ? *strategy
                  : defaults.strategy
                      ? *defaults.strategy
                      : (hw.reuse_factor > 1 ? Strategy::Resource : Strategy::Latency);
    if (own.parallelization_factor && !l.is_conv())
      throw Error(
          fmt::format("layer '{}' ({}): a parallelization factor applies to Conv layers only",
                      l.name, to_string(l.kind)));
    const auto pf = l.is_conv() ? requested("parallelization factor", own.parallelization_factor,
                                            over.parallelization_factor)
                                : std::optional<int64_t>{};
    hw.parallelization_factor = l.is_conv() ? pf.value_or(defaults.parallelization_factor) : 1;
    if (hw.reuse_factor < 1)
      throw Error(
          fmt::format("layer '{}': reuse factor must be >= 1, got {}", l.name, hw.reuse_factor));
    const bool rf_is_layers_own = own.reuse_factor && !over.reuse_factor;
    if (!rf_is_layers_own && defaults.closest_valid_rf &&
        !is_valid_reuse_factor(hw.n_in, hw.n_out, hw.reuse_factor, hw.strategy)) {
      const auto near =
          nearest_valid_reuse_factors(hw.n_in, hw.n_out, hw.reuse_factor, hw.strategy);
      int64_t pick = near.front();
      if (near.size() == 2 && near[1] - hw.reuse_factor < hw.reuse_factor - near[0]) pick = near[1];
      out.adjustments.push_back(fmt::format("layer '{}': reuse factor {} -> {} (closest valid)",
                                            l.name, hw.reuse_factor, pick));
      hw.reuse_factor = pick;
    }
    check_reuse_factor(l.name, hw.n_in, hw.n_out, hw.reuse_factor, hw.strategy);
    if (hw.parallelization_factor < 1 || hw.positions % hw.parallelization_factor != 0)
      throw Error(
          fmt::format("layer '{}': parallelization factor {} must divide the {} output positions",
                      l.name, hw.parallelization_factor, hw.positions));
    hw.block_factor = ceil_div(hw.n_products, hw.reuse_factor);

    hw.weight = require_fixed(l.precision.weight, l.name, "weight");
    hw.bias = l.use_bias ? require_fixed(l.precision.bias, l.name, "bias") : hw.weight;
    hw.accum = require_fixed(l.precision.accum, l.name, "accumulator");
    hw.result = require_fixed(l.precision.result, l.name, "result");
    hw.input = require_fixed(layer_input, l.name, "input");
    out.layers.push_back(std::move(hw));
  }
  return out;
}

}  // namespace hwprune::hw
