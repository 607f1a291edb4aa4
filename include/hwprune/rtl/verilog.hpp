// Verilog generation of a pruned network (Dense, Conv1D/Conv2D with fused ReLU, MaxPooling),
// bit-exact with the integer model (ir/int_model.hpp), and the Verilator co-simulation that
// checks it. Conv and pooling layers stream pixels (io_stream style); Dense layers take a
// whole vector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/int_model.hpp"

namespace hwprune::rtl {

struct VerilogOptions {
  std::string top = "hwprune_top";
  // Weights narrower than this many bits are marked for LUT multipliers (the device's DSP
  // threshold, shared with the estimator and the synthesis script).
  int dsp_min_weight_bits = 9;
};

// What the generator built per layer (for reports and the estimate comparison).
struct LayerRtl {
  std::string name;
  std::string module;  // Verilog module name
  int64_t reuse_factor = 1;
  int64_t multipliers = 0;  // generated multipliers (live lanes / non-zero constant weights)
  int64_t rom_width = 0;    // bits of the packed weight ROM word (0: constants, RF 1)
  int64_t rom_depth = 0;    // RF
  // Dense: cycles from the layer's start to its valid output; streaming (Conv): cycles from
  // an image's first input pixel to its last output pixel, the layer alone (hw::StreamTiming)
  int64_t latency = 0;
  int64_t interval = 1;  // Dense: cycles between starts (RF); streaming: cycles per image
  bool stream = false;   // a streaming (Conv) layer
};

// A streaming layer without weights (pooling): its module and timing (hw::StreamTiming).
struct StageRtl {
  std::string name, module;
  int64_t latency = 0, interval = 1;
};

struct VerilogDesign {
  std::string verilog;           // all modules, the top last
  std::vector<LayerRtl> layers;  // Dense/Conv layers, in order (as the hardware model's)
  std::vector<StageRtl> pools;   // pooling layers, in order
  // Dense networks: cycles from start to done, and the initiation interval. Networks with
  // streaming layers: the sum of the layers' own latencies (an upper bound: they overlap) and
  // the largest layer interval (cycles per image); co-simulation measures the real figures.
  int64_t latency = 0;
  int64_t interval = 0;
  // Streaming input: `x` is one pixel of `pixel_values` values, `start` its valid and
  // `ready` its ready; n_in / pixel_values pixels make one sample, in raster order.
  bool stream_input = false;
  int64_t pixel_values = 0;
  int64_t input_width = 0, output_width = 0;       // bits per input / output element
  bool input_signed = true, output_signed = true;  // two's complement (else unsigned) raw
  std::string top;                                 // top module name
  int64_t n_in = 0, n_out = 0;                     // elements of x / y
};

// Interface of the top module (documented in docs/rtl.md):
//   input clk, rst (synchronous, active high), start, input [n_in*Wi-1:0] x (element k at
//   bits [k*Wi +: Wi], raw two's complement), output done (one cycle), output [n_out*Wo-1:0]
//   y, output ready (may take a new start). A network starting with a Conv/pooling layer
//   takes one pixel per accepted start instead (x holds its channels; start/ready are the
//   pixel stream's valid/ready).
// `hardware` gives every layer's RF/strategy (LayerHw, in the same order as net.layers).
// Latency/RF 1: a constant multiplier per non-zero weight; Resource/Unrolled RF > 1:
// BF = ceil(N/RF) multipliers reused RF times in the weight-to-multiplier map's order, one
// packed weight ROM per layer (rom_style "block") holding only the live lanes.
// Error naming the layer for anything it cannot build.
VerilogDesign generate_verilog(const IntNetwork& net, const std::vector<hw::LayerHw>& hardware,
                               const VerilogOptions& options = {});

struct CosimResult {
  int64_t samples = 0, mismatches = 0;
  std::string first_mismatch;  // "sample 12 output 3: rtl 17, model 19" (empty if none)
  int64_t latency = 0;         // measured cycles start -> done
  int64_t interval = 0;        // measured cycles between accepted starts, back to back
  int64_t min_latency = 0;     // smallest measured latency (== latency when every sample agrees)
  std::string warnings;        // Verilator -Wall lint warnings of the build (empty: clean)
  bool rebuilt = false;        // false when work_dir already held this design's simulator
};

// Builds the design with Verilator (in `work_dir`), feeds every input (raw ints, one vector
// per sample; pixel by pixel for a streaming input) back to back and compares each output
// with `expected`. `stall_percent` > 0 withholds the input in that share of the cycles
// (seeded), to exercise the flow control; latency and interval are then not the design's.
// Error if verilator is missing ("apt-get install verilator") or the build fails (with its
// log's first lines).
CosimResult cosimulate(const VerilogDesign& design, const std::vector<std::vector<int64_t>>& inputs,
                       const std::vector<std::vector<int64_t>>& expected,
                       const std::string& work_dir, int stall_percent = 0);

}  // namespace hwprune::rtl
