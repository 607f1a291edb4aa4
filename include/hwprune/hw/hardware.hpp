// The hardware model: how each layer maps to an FPGA (device, reuse factor, strategy, io
// type, parallelization factor, fixed-point widths), hls4ml's reuse-factor rules, and the
// map from every weight to the multiplier, cycle, ROM word and bit lane that process it.
// The formulas are in docs/hardware-model.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::hw {

// What the estimator needs to know about the FPGA family.
struct Device {
  std::string family = "xc7";  // xc7 (7-series), xcu (UltraScale), xcup (UltraScale+)
  int dsp_a_bits = 25;         // signed multiplier port widths of one DSP slice
  int dsp_b_bits = 18;
  // Products whose weight is narrower than this many bits are built from LUTs (no DSP).
  int dsp_min_weight_bits = 9;
  // One BRAM18 is 36 bits wide at depth <= 512 (18 x 1024, 9 x 2048, ...).
  int bram18_width = 36;
  int bram18_depth = 512;
};
// The FPGA families by name; the value is the DSP slice's wider (A) port width.
inline constexpr NameTable<int, 3> kFamilyNames{
    "FPGA family",
    {{{"xc7", 25, "7-series (DSP48E1, 25 x 18 multiplier)"},
      {"xcu", 27, "UltraScale (DSP48E2, 27 x 18)"},
      {"xcup", 27, "UltraScale+ (DSP48E2, 27 x 18)"}}}};
// Error naming the known families when unknown.
Device device_for_family(const std::string& family);

// What a command asks of the hardware beyond the layers' own attributes (LayerHardware, from
// the model file or an hls4ml config): defaults for the fields a layer leaves unset, and
// overrides that win over the layer's own values (resolve_hardware reports each one it
// changes in HardwareModel::adjustments).
struct HardwareDefaults {
  int64_t reuse_factor = 1;
  // nullopt: Latency when the layer's RF is 1, Resource when it is > 1.
  std::optional<Strategy> strategy;
  IoType io_type = IoType::Parallel;
  int64_t parallelization_factor = 1;
  // Requested explicitly (e.g. --rf on the command line): applies to every Dense/Conv layer
  // whatever its own attributes say (parallelization_factor: Conv layers only).
  LayerHardware overrides;
  // When a requested or default RF (not a layer's own) is invalid for a layer: false = error;
  // true = take the closest valid RF (the smaller on a tie, as hls4ml does) and report it in
  // HardwareModel::adjustments.
  bool closest_valid_rf = false;
};

// A Dense/Conv layer resolved to hardware. The kernel is viewed transposed and flattened:
// Dense (n_in, n_out) -> (n_out, n_in); Conv (KH, KW, C, F) -> (F, KH*KW*C); t = o*n_in + i.
struct LayerHw {
  size_t layer = 0;  // index in Model::layers
  std::string name;
  LayerKind kind = LayerKind::Dense;
  int64_t n_in = 0;        // Dense inputs; Conv KH*KW*C
  int64_t n_out = 0;       // Dense units; Conv filters
  int64_t n_products = 0;  // N = n_in * n_out per output position
  int64_t positions = 1;   // output positions (pixels) the kernel is applied at; 1 for Dense
  int64_t reuse_factor = 1;
  int64_t block_factor = 0;  // BF = ceil(N / RF) multipliers per kernel instance
  int64_t parallelization_factor = 1;
  Strategy strategy = Strategy::Latency;
  IoType io_type = IoType::Parallel;
  FixedType weight, bias, accum, result, input;

  // Multipliers whose weights live in a ROM of depth RF (Resource/Unrolled with RF > 1).
  bool uses_rom() const { return strategy != Strategy::Latency && reuse_factor > 1; }
  // Kernel instances working in parallel (PF under io_parallel Conv, else 1).
  int64_t instances() const;
  // The weight ROM is one copy whatever the PF: at RF > 1 the kernel instances run in
  // lockstep on consecutive windows, and one read of a word serves all of them
  // (hw::KernelSchedule; hls4ml's HLS gives each pair of instances a dual-port copy).
  // DSP slices one multiplier of this layer takes on `device` (0: built from LUTs).
  int dsp_per_multiplier(const Device& device) const;
  // The same for a multiplier whose weight is `weight_bits` wide (the weight type narrowed to
  // that width: per-group widths, hw/widths.hpp).
  int dsp_at_width(int weight_bits, const Device& device) const;
  // DSP slices of a product with the constant weight `raw` (Latency strategy: weights are
  // constants, and synthesis sizes a constant operand by its value: the fewest two's
  // complement bits that hold it once its trailing zero bits, a shift, are dropped). 0 for
  // raw 0 and for constants narrower than the threshold.
  int dsp_per_constant(int64_t raw, const Device& device) const;
};

// The odd part of a non-zero constant weight (raw without its trailing zero bits, which are a
// shift) and the fewest signed bits that hold it: the width synthesis sizes a constant
// multiplier by. {0, 0} for 0.
struct OddPart {
  int64_t value = 0;
  int bits = 0;
};
OddPart odd_part(int64_t raw);

// Where one weight is processed (Resource map t = cycle + multiplier * RF).
struct WeightSlot {
  int64_t transposed = 0;  // t
  int64_t multiplier = 0;  // m = t / RF, in [0, BF); instance p uses multiplier p*BF + m
  int64_t cycle = 0;       // ir = t mod RF
  int64_t rom_word = 0;    // = cycle (word ir holds every multiplier's weight for cycle ir)
  int64_t lane = 0;        // = multiplier: bits [lane*W, (lane+1)*W) of the word, unpacked
  int64_t input = 0;       // i = t mod n_in
  int64_t output = 0;      // o = t / n_in
};

// Transposed index t of the weight at flat Keras-layout kernel index k, and back.
int64_t transposed_index(const LayerHw& hw, int64_t keras_index);
int64_t keras_index(const LayerHw& hw, int64_t transposed);
WeightSlot weight_slot(const LayerHw& hw, int64_t keras_index);

struct HardwareModel {
  Device device;
  std::vector<LayerHw> layers;           // one per Dense/Conv layer, in order
  std::vector<std::string> adjustments;  // e.g. "layer 'output': reuse factor 3 -> 2"
  const LayerHw* find(size_t layer_index) const;
};

// Resolves every Dense/Conv layer of `model` (precisions fixed-point; the layers' inferred
// shapes are used, inferred on a copy when missing, so re-infer after editing a model):
// the layer's own LayerHardware first, then `defaults`. Validates RF (and PF) per layer.
// Error naming the layer for a float precision, an invalid RF (with the nearest valid
// ones) or an invalid PF.
HardwareModel resolve_hardware(const Model& model, const HardwareDefaults& defaults,
                               const Device& device = {});

// hls4ml's reuse-factor rules for Resource/Unrolled (Latency takes any 1 <= RF <= N):
// N mod RF == 0, (RF mod n_in == 0 or RF < n_in), (ceil(N / min(n_in, RF)) mod n_out == 0
// or RF >= n_in).
bool is_valid_reuse_factor(int64_t n_in, int64_t n_out, int64_t rf, Strategy strategy);
// Which of those rules `rf` breaks, with its numbers (e.g. "N mod RF = 1600 mod 7 = 4, must
// be 0"); empty when valid.
std::string reuse_factor_violation(int64_t n_in, int64_t n_out, int64_t rf, Strategy strategy);
std::vector<int64_t> valid_reuse_factors(int64_t n_in, int64_t n_out, Strategy strategy);
// The valid RFs closest to `rf` below and above (one or two values).
std::vector<int64_t> nearest_valid_reuse_factors(int64_t n_in, int64_t n_out, int64_t rf,
                                                 Strategy strategy);
// Error naming the layer, the RF, the rule it breaks and the nearest valid RFs, unless valid.
void check_reuse_factor(const std::string& layer, int64_t n_in, int64_t n_out, int64_t rf,
                        Strategy strategy);

// The aspect ratios of one BRAM18: 36 x 512, 18 x 1024, 9 x 2048, 4 x 4096, 2 x 8192,
// 1 x 16384 (scaled by the device's width/depth).
struct BramAspect {
  int64_t width = 36, depth = 512;
};
std::vector<BramAspect> bram18_aspects(const Device& device);
// BRAM18 blocks of a ROM with `depth` words of `width_bits` (best aspect ratio).
int64_t bram18_for(int64_t depth, int64_t width_bits, const Device& device);

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace hwprune::hw
