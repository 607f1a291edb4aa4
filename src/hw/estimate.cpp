// The estimator's formulas (docs/hardware-model.md).
#include "hwprune/hw/estimate.hpp"

#include "hwprune/hw/lut_costs.hpp"

#include <algorithm>
#include <bit>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "hwprune/hw/stream.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::hw {

namespace {

// Register stages around a layer's kernel in hls4ml's pipeline: the input register and the
// output register.
constexpr int64_t kPipelineDepth = 2;

// A Dense layer as the Verilog generator builds it (rtl/verilog.hpp): io_parallel, RF 1 or the
// Resource/Unrolled strategy.
bool generated_dense(const LayerHw& hw) {
  return hw.kind == LayerKind::Dense && hw.positions == 1 && hw.io_type == IoType::Parallel &&
         (hw.reuse_factor == 1 || hw.strategy != Strategy::Latency);
}

// A Conv layer, streamed by the Verilog generator whatever its io type (docs/rtl.md), around a
// kernel that is the generated Dense module of its (F, KH*KW*C) core.
bool streamed(const LayerHw& hw) {
  return hw.kind == LayerKind::Conv1D || hw.kind == LayerKind::Conv2D;
}

int64_t count(const std::vector<uint8_t>& v) {
  return std::count(v.begin(), v.end(), uint8_t{1});
}

// Inputs an RF > 1 layer keeps in its input register (per kernel instance). The generated
// Dense module (a Dense layer or a Conv kernel) reads the first ROM word's inputs straight
// from its input port, so it keeps those the multipliers read in the later words (input
// (ir + m*RF) mod n_in in word ir; all of them live, so the figure does not move with
// pruning); hls4ml keeps all n_in.
int64_t registered_inputs(const LayerHw& hw) {
  if (!generated_dense(hw) && !streamed(hw)) return hw.n_in;
  std::vector<uint8_t> read(static_cast<size_t>(hw.n_in), 0);
  for (int64_t t = 0; t < hw.n_products; ++t)
    if (t % hw.reuse_factor != 0) read[static_cast<size_t>(t % hw.n_in)] = 1;
  return count(read);
}

}  // namespace

nlohmann::json to_json(const LayerEstimate& e) {
  return {{"name", e.name},
          {"reuse_factor", e.reuse_factor},
          {"block_factor", e.block_factor},
          {"multipliers", e.multipliers},
          {"dsp", e.dsp},
          {"bram18", e.bram18},
          {"parameters", e.parameters},
          {"nonzero", e.nonzero},
          {"ff", e.ff},
          {"latency_cycles", e.latency},
          {"lut_multipliers",
           e.lut_multipliers < 0 ? nlohmann::json() : nlohmann::json(e.lut_multipliers)},
          {"weight_widths", [&] {
             nlohmann::json w = nlohmann::json::object();
             for (const auto& [bits, n] : e.widths) w[std::to_string(bits)] = n;
             return w;
           }()}};
}

std::vector<int64_t> raw_weights(const Layer& layer, const LayerHw& hw) {
  const Tensor& kernel = layer.weight("kernel");
  if (kernel.numel() != hw.n_products)
    throw Error(fmt::format("layer '{}': kernel has {} weights, the hardware model expects {}",
                            layer.name, kernel.numel(), hw.n_products));
  const FixedType type = saturating(hw.weight);
  const Tensor k =
      layer.widths.empty() && layer.mask.empty() ? kernel : effective_kernel(layer, true);
  std::vector<int64_t> raw(k.data.size());
  for (size_t i = 0; i < raw.size(); ++i)
    raw[i] = type.quantize_raw(static_cast<double>(k.data[i]));
  return raw;
}

std::vector<uint8_t> live_weights(const Layer& layer, const LayerHw& hw) {
  const std::vector<int64_t> raw = raw_weights(layer, hw);
  std::vector<uint8_t> live(raw.size());
  for (size_t k = 0; k < raw.size(); ++k) live[k] = raw[k] != 0;
  return live;
}

std::vector<int> weight_bits(const Layer& layer, const LayerHw& hw) {
  std::vector<int> bits(static_cast<size_t>(hw.n_products));
  for (size_t k = 0; k < bits.size(); ++k) bits[k] = kernel_weight_bits(layer, k);
  return bits;
}

std::vector<int> lane_bits(const LayerHw& hw, const std::vector<uint8_t>& live,
                           const std::vector<int>& bits) {
  std::vector<int> lanes(static_cast<size_t>(hw.block_factor), 0);
  for (int64_t k = 0; k < hw.n_products; ++k) {
    const auto ks = static_cast<size_t>(k);
    if (!live[ks]) continue;
    int& b = lanes[static_cast<size_t>(transposed_index(hw, k) / hw.reuse_factor)];
    b = std::max(b, bits[ks]);
  }
  return lanes;
}

std::vector<uint8_t> live_lanes(const LayerHw& hw, const std::vector<uint8_t>& live) {
  std::vector<uint8_t> lanes(static_cast<size_t>(hw.block_factor), 0);
  for (int64_t k = 0; k < hw.n_products; ++k)
    if (live[static_cast<size_t>(k)])
      lanes[static_cast<size_t>(transposed_index(hw, k) / hw.reuse_factor)] = 1;
  return lanes;
}

int64_t nonconstant_rom_bits(const Layer& layer, const LayerHw& hw,
                             const std::vector<uint8_t>& lanes) {
  const std::vector<int64_t> raw = raw_weights(layer, hw);
  const int64_t w = hw.weight.width, rf = hw.reuse_factor;
  const uint64_t all = w >= 64 ? ~uint64_t{0} : (uint64_t{1} << w) - 1;
  // Per lane: bits that are 1 in some word (ones) and 0 in some word (zeros). A lane at a
  // narrower width (Layer::widths) holds its weights on a coarser grid: its low bits are
  // constant 0 and drop out here as Yosys drops them.
  std::vector<uint64_t> ones(lanes.size(), 0), zeros(lanes.size(), 0);
  std::vector<int64_t> words(lanes.size(), 0);
  for (int64_t k = 0; k < hw.n_products; ++k) {
    const auto m = static_cast<size_t>(transposed_index(hw, k) / rf);
    if (!lanes[m]) continue;
    const uint64_t bits = static_cast<uint64_t>(raw[static_cast<size_t>(k)]) & all;
    ones[m] |= bits;
    zeros[m] |= ~bits & all;
    ++words[m];
  }
  int64_t n = 0;
  for (size_t m = 0; m < lanes.size(); ++m) {
    if (!lanes[m]) continue;
    // A lane with fewer weights than ROM words holds 0 in the missing words.
    if (words[m] < rf) zeros[m] = all;
    n += std::popcount(ones[m] & zeros[m]);
  }
  return n;
}

int64_t rom_bram18(const LayerHw& hw, const Device& device, const std::vector<uint8_t>& lanes,
                   BramModel model, const std::vector<int>* bits) {
  if (!hw.uses_rom()) return 0;
  const int64_t w = hw.weight.width;
  const int64_t depth = hw.reuse_factor;
  if (model != BramModel::Hls4ml) {
    int64_t total = count(lanes) * w;
    if (bits) {
      total = 0;
      for (size_t m = 0; m < lanes.size(); ++m)
        if (lanes[m]) total += (*bits)[m];
    }
    return bram18_for(depth, total, device);
  }
  // hls4ml layout: lane m keeps bits [m*W, (m+1)*W); a column of the chosen aspect ratio
  // disappears only if no live lane has a bit in it.
  int64_t best = -1;
  for (const BramAspect& a : bram18_aspects(device)) {
    std::vector<uint8_t> used(static_cast<size_t>(ceil_div(hw.block_factor * w, a.width)), 0);
    for (size_t m = 0; m < lanes.size(); ++m) {
      if (!lanes[m]) continue;
      const int64_t lo = static_cast<int64_t>(m) * w, hi = lo + w - 1;
      for (int64_t c = lo / a.width; c <= hi / a.width; ++c) used[static_cast<size_t>(c)] = 1;
    }
    const int64_t n = ceil_div(depth, a.depth) * count(used);
    if (best < 0 || n < best) best = n;
  }
  return best;
}

std::vector<int64_t> run_words(const LayerHw& hw, const std::vector<uint8_t>& live) {
  const bool skip = hw.strategy == Strategy::Unrolled && hw.reuse_factor > 1;
  std::vector<uint8_t> run(static_cast<size_t>(hw.reuse_factor), !skip);
  if (skip)
    for (int64_t k = 0; k < hw.n_products; ++k)
      if (live[static_cast<size_t>(k)])
        run[static_cast<size_t>(transposed_index(hw, k) % hw.reuse_factor)] = 1;
  std::vector<int64_t> words;
  for (int64_t ir = 0; ir < hw.reuse_factor; ++ir)
    if (run[static_cast<size_t>(ir)]) words.push_back(ir);
  if (words.empty()) words.push_back(0);
  return words;
}

int64_t kernel_cycles(const LayerHw& hw, const std::vector<uint8_t>& live) {
  return static_cast<int64_t>(run_words(hw, live).size());
}

int64_t generated_kernel_latency(const LayerHw& hw, int64_t cycles) {
  // RF 1 is one register stage; at RF > 1 the edge that samples the input reads the first ROM
  // word and the last accumulation writes the output register.
  return hw.reuse_factor > 1 ? cycles + 1 : 1;
}

int64_t layer_latency(const LayerHw& hw, int64_t cycles_per_position) {
  if (generated_dense(hw)) return generated_kernel_latency(hw, cycles_per_position);
  const int64_t passes =
      hw.io_type == IoType::Parallel ? hw.positions / hw.instances() : hw.positions;
  return passes * cycles_per_position + kPipelineDepth;
}

LayerEstimate estimate_layer(const Layer& layer, const LayerHw& hw, const Device& device,
                             const EstimateOptions& options) {
  const std::vector<uint8_t> live =
      options.sparse ? live_weights(layer, hw) : std::vector<uint8_t>(hw.n_products, uint8_t{1});
  LayerEstimate e;
  e.name = hw.name;
  e.kind = hw.kind;
  e.reuse_factor = hw.reuse_factor;
  e.block_factor = hw.block_factor;
  e.parallelization_factor = hw.instances();
  e.strategy = hw.strategy;

  const int64_t n_live = count(live);
  std::vector<uint8_t> lanes;
  int64_t per_instance = 0;
  if (hw.strategy == Strategy::Latency) {
    per_instance = ceil_div(n_live, hw.reuse_factor);
  } else {
    lanes = live_lanes(hw, live);
    per_instance = count(lanes);
  }
  e.multipliers = per_instance * hw.instances();

  // Each multiplier at its weight's width (Layer::widths): per weight at RF 1 (a constant), per
  // lane at RF > 1 (a ROM lane as wide as its widest weight); the Latency strategy's shared
  // multipliers at RF > 1 and the unpruned design (sparse = false) at the type's width.
  const std::vector<int> bits =
      options.sparse ? weight_bits(layer, hw) : std::vector<int>(live.size(), hw.weight.width);
  const std::vector<int> lbits = lanes.empty() ? std::vector<int>() : lane_bits(hw, live, bits);
  const int x = signed_width(hw.input);
  int64_t dsp = 0, lut = 0, lut_ff = 0;
  bool lut_known = true;
  // A constant sized by its value (constants_by_value, what synthesis does and the generator
  // builds): a DSP product when its odd part reaches the threshold, else a LUT multiplier.
  const bool by_value = options.constants_by_value && options.sparse;
  auto add = [&](int b, const int64_t* constant) {
    const bool valued = constant && by_value;
    if (valued && *constant == 0) return;
    if (valued ? odd_part(*constant).bits >= device.dsp_min_weight_bits
               : b >= device.dsp_min_weight_bits) {
      dsp += valued ? hw.dsp_per_constant(*constant, device) : hw.dsp_at_width(b, device);
      return;
    }
    lut_ff += b + hw.input.width;  // a LUT multiplier's product register
    if (constant) {
      if (*constant == 0) return;
      if (!lut_table_has(odd_part(*constant).bits, x, true)) lut_known = false;
      if (lut_known) lut += lut_constant_multiplier(*constant, x);
      return;
    }
    const int sb = signed_width(at_width(hw.weight, b));
    if (!lut_table_has(sb, x, false)) lut_known = false;
    if (lut_known) lut += lut_multiplier(sb, x);
  };
  if (hw.reuse_factor == 1) {
    // Fully unrolled (any strategy at RF 1): every weight is a constant operand.
    std::vector<int64_t> raw;
    if (options.sparse) {
      raw = raw_weights(layer, hw);
    } else {
      const FixedType type = saturating(hw.weight);
      for (float v : layer.weight("kernel").data)
        raw.push_back(type.quantize_raw(static_cast<double>(v)));
    }
    // Sized by value, a product is one per input and odd value: the generator builds x * odd
    // once and shifts it for every weight odd * 2^s on that input (Yosys's opt_merge would
    // merge the copies anyway).
    std::set<std::pair<int64_t, int64_t>> built;
    for (size_t k = 0; k < live.size(); ++k) {
      if (!live[k]) continue;
      const int64_t input = static_cast<int64_t>(k) / hw.n_out;
      if (by_value && !built.emplace(input, odd_part(raw[k]).value).second) continue;
      add(bits[k], &raw[k]);
    }
  } else if (hw.strategy == Strategy::Latency) {
    for (int64_t i = 0; i < per_instance; ++i) add(hw.weight.width, nullptr);
  } else {
    for (size_t m = 0; m < lanes.size(); ++m)
      if (lanes[m]) add(lbits[m], nullptr);
  }
  for (size_t k = 0; k < live.size(); ++k)
    if (live[k]) ++e.widths[bits[k]];
  e.dsp = dsp * hw.instances();
  e.lut_multipliers = lut_known ? lut * hw.instances() : -1;
  if (!hw.uses_rom())
    e.bram18 = 0;
  else if (options.bram == BramModel::Trimmed && options.sparse)
    e.bram18 = bram18_for(hw.reuse_factor, nonconstant_rom_bits(layer, hw, lanes), device);
  else
    e.bram18 = rom_bram18(hw, device, lanes, options.bram, options.sparse ? &lbits : nullptr);

  e.parameters = hw.n_products + (layer.use_bias ? hw.n_out : 0);
  e.nonzero = n_live;
  if (layer.use_bias) {
    const FixedType bias_type = saturating(hw.bias);
    for (float b : layer.weight("bias").data)
      e.nonzero += !options.sparse || bias_type.quantize_raw(static_cast<double>(b)) != 0;
  }

  // Registers outside the hard blocks: a DSP multiplier's product register is the DSP48's
  // M/P register and a ROM's output register is the block RAM's read register, so only LUT
  // multipliers pay for theirs (docs/hardware-model.md).
  const int64_t cycles = kernel_cycles(hw, live);
  if (streamed(hw)) {
    // The streamed layer: per kernel instance the output register, at RF > 1 the accumulators
    // and the input register; the windows a lockstep group holds until its last one; the line
    // buffer's window taps (the pixels between them shift through SRL LUTs); the output FIFO
    // of output pixels.
    int64_t kernel_ff = hw.n_out * hw.result.width;
    if (hw.reuse_factor > 1)
      kernel_ff += hw.n_out * hw.accum.width + registered_inputs(hw) * hw.input.width;
    const StreamGeometry g = stream_geometry(layer);
    const KernelSchedule k = kernel_schedule(hw, generated_kernel_latency(hw, cycles));
    e.ff = kernel_ff * hw.instances() + (k.lockstep - 1) * hw.n_in * hw.input.width +
           (g.kh * g.kw - 1) * g.c * hw.input.width +
           stream_fifo_depth(k) * hw.n_out * hw.result.width;
    e.latency = stream_timing(g, k).latency;
  } else {
    const int64_t out_regs = hw.io_type == IoType::Parallel ? hw.positions : 1;
    e.ff = hw.n_out * out_regs * hw.result.width;
    if (hw.reuse_factor > 1)
      e.ff += hw.n_out * hw.instances() * hw.accum.width + registered_inputs(hw) * hw.input.width;
    e.latency = layer_latency(hw, cycles);
  }
  e.ff += lut_ff * hw.instances();
  return e;
}

ModelEstimate estimate_model(const Model& model, const HardwareModel& hardware,
                             const EstimateOptions& options) {
  ModelEstimate out;
  out.total.name = "total";
  for (const LayerHw& hw : hardware.layers) {
    if (hw.layer >= model.layers.size() || model.layers[hw.layer].name != hw.name)
      throw Error(fmt::format("hardware model of layer '{}' does not belong to model '{}'", hw.name,
                              model.name));
    LayerEstimate e = estimate_layer(model.layers[hw.layer], hw, hardware.device, options);
    out.total.multipliers += e.multipliers;
    out.total.dsp += e.dsp;
    out.total.bram18 += e.bram18;
    out.total.parameters += e.parameters;
    out.total.nonzero += e.nonzero;
    out.total.ff += e.ff;
    out.total.latency += e.latency;
    for (const auto& [bits, n] : e.widths) out.total.widths[bits] += n;
    out.total.lut_multipliers = out.total.lut_multipliers < 0 || e.lut_multipliers < 0
                                    ? -1
                                    : out.total.lut_multipliers + e.lut_multipliers;
    out.layers.push_back(std::move(e));
  }
  return out;
}

}  // namespace hwprune::hw
