// Mapping a model to hardware, the first step of every command that counts or builds
// hardware (estimate, synth, predict --integer, prune): BatchNorms folded into the Dense/Conv
// before them (as hls4ml does), shapes inferred, every Dense/Conv layer resolved
// (resolve_hardware). And the way back: the resolved attributes recorded in a model, so the
// commands after `prune`/`train --rf` use them without flags.
#pragma once

#include "hwprune/hw/hardware.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::hw {

// Everything a command says about the hardware: defaults/overrides and the device.
struct HardwareSpec {
  HardwareDefaults defaults;
  Device device;
};

struct MappedModel {
  Model model;             // BatchNorms folded, shapes inferred
  HardwareModel hardware;  // resolved from `model`
};

// Errors as fold_batchnorm, Model::infer_shapes and resolve_hardware (a float precision, an
// invalid RF or PF, naming the layer).
MappedModel map_model(const Model& model, const HardwareSpec& spec);

// The bit-exact integer model of a mapped model, each layer adding its products in the order
// of its resolved reuse factor (what the generated Verilog and predict --integer compute).
// Errors as make_int_network.
IntNetwork make_int_network(const MappedModel& mapped);

// Writes each Dense/Conv layer's resolved reuse factor, io type, parallelization factor (Conv)
// and strategy into model.layers[].hardware (matched by name; `hardware` may come from the
// folded model). The strategy is recorded only when it was chosen (by the layer, an override
// or a default), not when it followed from the RF (Latency at 1, Resource above): a later
// --rf then derives it again, as it would have here.
void record_hardware(Model& model, const HardwareModel& hardware, const HardwareDefaults& defaults);

}  // namespace hwprune::hw
