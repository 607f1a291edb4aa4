// The hardware check of a model as one call (what `hwprune synth` runs): map the model to
// hardware, build its bit-exact integer model, generate the Verilog, co-simulate it with
// Verilator against the integer model, synthesise it with Yosys, and compare every layer's
// DSP/BRAM18/FF/latency with the estimate. Needs a Dense/ReLU network with fixed-point
// precisions (anything else is an Error naming the layer), and yosys/verilator on PATH for
// the steps that run them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/data/dataset.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/map_model.hpp"
#include "hwprune/rtl/synth.hpp"
#include "hwprune/rtl/verilog.hpp"

namespace hwprune::rtl {

struct CheckOptions {
  std::string out_dir;  // Verilog, Yosys script and logs, the co-simulation (created)
  std::string top = "hwprune_top";
  bool cosimulate = true;
  bool synthesize = true;
  SynthDepth depth = SynthDepth::Full;
  hw::BramModel bram = hw::BramModel::Trimmed;  // the estimate compared with Yosys
  // Inputs: the first `samples` rows of `data` (standardised as the model expects) or, without
  // data, `samples` seeded random raw inputs over the input type's whole range.
  const data::Dataset* data = nullptr;
  int64_t samples = 1000;
  uint64_t seed = 1;
};

// Of a classifier on `data`: how often the integer model's class equals the float QAT model's
// (reference_forward, quantized) and how often it equals the label.
struct Agreement {
  int64_t samples = 0;
  double argmax_agreement = 0;
  double integer_model_accuracy = 0;
};

struct LayerCheck {
  hw::LayerEstimate estimate;
  LayerRtl rtl;
  std::optional<SynthResources> yosys;  // when synthesis ran
  // Of the LUT multiplier modules below the layer's (subtree_resources within "lutmul_"):
  // what estimate.lut_multipliers counts.
  std::optional<SynthResources> yosys_lut_multipliers;
};

struct HardwareCheck {
  std::string model_name, family;
  std::vector<std::string> adjustments;  // from resolving the hardware
  std::string verilog_path, script_path;
  std::string inputs_origin;  // "test data (...)" or "seeded random inputs (seed 1)"
  std::vector<std::vector<int64_t>> inputs, expected;  // raw; expected = the integer model's
  std::optional<Agreement> agreement;                  // with labelled classification data
  std::optional<CosimResult> cosim;
  std::optional<SynthReport> synth;
  bool full_synthesis = false;  // LUT/FF counts exist
  std::vector<LayerCheck> layers;
  hw::LayerEstimate estimate_total;
  // Of the generated design: measured in co-simulation when it ran, else the design's figures
  // (VerilogDesign::latency/interval; an upper bound for networks with streaming layers).
  int64_t latency = 0, interval = 0;
  double seconds = 0;
};

HardwareCheck check_hardware(const Model& model, const hw::HardwareSpec& spec,
                             const CheckOptions& options);

// The result as JSON (docs/json.md, "synth").
nlohmann::json to_json(const HardwareCheck& check);

}  // namespace hwprune::rtl
