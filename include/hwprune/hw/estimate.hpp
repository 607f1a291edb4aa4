// Resource estimates of the hardware model: multipliers, DSP, BRAM18, parameters, FFs
// (approximate) and latency per Dense/Conv layer, for the dense design and for the design
// in which the model's zeros (masked or quantized to 0) cost nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::hw {

// How a ROM loses width when multiplier lanes are pruned.
//  Packed: the generator packs the surviving lanes: BRAM18 = ceil(kept_lanes * W / 36).
//  Hls4ml: hls4ml's fixed lane layout: a 36-bit column disappears only when every lane bit
//          in it is pruned (the "consecutive patterns" of its multi-objective pruning).
//  Trimmed: Packed, and a bit column of a kept lane whose value is the same in every ROM
//          word is a constant, not memory: BRAM18 = ceil(W_eff / 36) with W_eff the
//          non-constant bit columns (what Yosys does with the generated ROM; measured equal,
//          docs/rtl.md). Depends on the weight values; the unpruned design (sparse = false)
//          counts every bit like Packed.
enum class BramModel { Packed, Hls4ml, Trimmed };
inline constexpr NameTable<BramModel, 3> kBramModelNames{
    "BRAM model",
    {{{"packed", BramModel::Packed, "hwprune's generator packs the surviving lanes"},
      {"hls4ml", BramModel::Hls4ml, "a 36-bit column goes only when all of it is pruned"},
      {"trimmed", BramModel::Trimmed,
       "packed, without the constant ROM bit columns synthesis removes"}}}};
inline std::string_view to_string(BramModel m) {
  return kBramModelNames.name(m);
}
inline BramModel parse_bram_model(std::string_view s) {
  return kBramModelNames.parse(s);
}

// The raw kernel weights (flat Keras layout) in the layer's weight type as the hardware holds
// them: effective_kernel (masked weights 0, each weight at its own width when the layer has
// widths), quantized to saturating(weight type) (exact).
std::vector<int64_t> raw_weights(const Layer& layer, const LayerHw& hw);
// 1 for every kernel weight (flat Keras layout) that is present in hardware: not masked
// and non-zero after quantization (raw_weights).
std::vector<uint8_t> live_weights(const Layer& layer, const LayerHw& hw);
// Per weight, the width its multiplier is built at: its Layer::widths entry capped at the
// weight type's width, or that width for a layer without widths.
std::vector<int> weight_bits(const Layer& layer, const LayerHw& hw);
// Per multiplier lane m in [0, BF): the width of its ROM lane and multiplier, the widest of its
// live weights' weight_bits; 0 for a lane without live weights.
std::vector<int> lane_bits(const LayerHw& hw, const std::vector<uint8_t>& live,
                           const std::vector<int>& bits);
// 1 for every multiplier lane m in [0, BF) that processes at least one live weight.
std::vector<uint8_t> live_lanes(const LayerHw& hw, const std::vector<uint8_t>& live);
// Bits of the packed ROM word (kept lanes x W) that are not the same in every ROM word: the
// raw weights of `layer` (saturating quantization, masked weights 0) of the kept lanes.
int64_t nonconstant_rom_bits(const Layer& layer, const LayerHw& hw,
                             const std::vector<uint8_t>& lanes);

struct LayerEstimate {
  std::string name;
  LayerKind kind = LayerKind::Dense;
  int64_t reuse_factor = 1, block_factor = 0, parallelization_factor = 1;
  Strategy strategy = Strategy::Latency;
  int64_t multipliers = 0;  // all kernel instances
  int64_t dsp = 0;
  int64_t bram18 = 0;
  int64_t parameters = 0;  // kernel + bias
  int64_t nonzero = 0;     // live kernel weights + non-zero biases
  int64_t ff = 0;          // approximation, docs/hardware-model.md
  int64_t latency = 0;     // cycles
  // LUTs of the LUT multipliers (weights narrower than the DSP threshold), from the table
  // measured with Yosys (lut_costs.hpp; constants at RF 1 by value); -1 when the table does
  // not cover the layer's widths (a total is -1 when a layer's is).
  int64_t lut_multipliers = 0;
  // Live kernel weights per weight width in bits (weight_bits; one entry, the type's width,
  // for a layer without per-group widths; summed over the layers in a total).
  std::map<int, int64_t> widths;
};

struct ModelEstimate {
  std::vector<LayerEstimate> layers;
  LayerEstimate total;  // sums (latency: layers run one after the other)
};

struct EstimateOptions {
  BramModel bram = BramModel::Packed;
  bool sparse = true;  // false: every weight counts as live (the unpruned design)
  // Fully unrolled layers (RF 1, any strategy) multiply by constants: with this set (and sparse),
  // a weight's DSPs follow its value as synthesis sizes it (LayerHw::dsp_per_constant)
  // instead of its type, and a constant whose odd part is narrower than the DSP threshold is
  // a LUT multiplier (lut_multipliers) whatever its type; weights of one input with the same
  // odd part share one product (a shift apart). What `synth` compares against Yosys; the
  // pruning objectives keep the type rule (hls4ml's) and count every weight.
  bool constants_by_value = false;
};

// One layer's (or a total's) figures as JSON: name, reuse_factor, block_factor, multipliers,
// dsp, bram18, parameters, nonzero, ff, latency_cycles, lut_multipliers (null when unknown),
// weight_widths ({"<bits>": live weights}) (docs/json.md).
nlohmann::json to_json(const LayerEstimate& e);

LayerEstimate estimate_layer(const Layer& layer, const LayerHw& hw, const Device& device,
                             const EstimateOptions& options);
// `model` must be the one `hardware` was resolved from.
ModelEstimate estimate_model(const Model& model, const HardwareModel& hardware,
                             const EstimateOptions& options);

// Pieces of the formulas, shared with the objectives.

// `bits` (optional, lane_bits): each lane's own width, packed (Packed, Trimmed); the Hls4ml
// layout keeps the weight type's width per lane.
int64_t rom_bram18(const LayerHw& hw, const Device& device, const std::vector<uint8_t>& lanes,
                   BramModel model, const std::vector<int>* bits = nullptr);
// Cycles from a layer's input to its output. A Dense layer as the Verilog generator builds it
// (io_parallel; RF 1, or Resource/Unrolled): 1 at RF 1, cycles + 1 at RF > 1 (what the
// generated RTL takes). Any other layer: passes x cycles + 2 register stages (hls4ml).
int64_t layer_latency(const LayerHw& hw, int64_t cycles_per_position);
// Cycles from a start to the output of the generated Verilog's Dense kernel (a Dense layer,
// or a Conv layer's kernel on one window) that runs `cycles` ROM words (kernel_cycles): 1 at
// RF 1, cycles + 1 at RF > 1.
int64_t generated_kernel_latency(const LayerHw& hw, int64_t cycles);
// The ROM words one kernel pass runs through, in order: all RF of them, or with Unrolled at
// RF > 1 only those holding a live weight (at least one). `live` is per kernel weight, in
// the kernel's own order (the generator passes its non-zero raw weights).
std::vector<int64_t> run_words(const LayerHw& hw, const std::vector<uint8_t>& live);
// Clock cycles of one kernel pass: the number of run_words.
int64_t kernel_cycles(const LayerHw& hw, const std::vector<uint8_t>& live);

}  // namespace hwprune::hw
