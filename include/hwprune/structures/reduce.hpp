// Zero-structure removal: Dense neurons and Conv filters that can never change the network's
// outputs are removed physically, with the matching inputs of the next weight layer and the
// channels of BatchNorms in between, giving a smaller model with identical outputs.
// Pattern sparsity inside the remaining kernels stays as zeros (masks) for the hardware.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hwprune/ir/model.hpp"

namespace hwprune::structures {

struct ReduceReport {
  struct LayerChange {
    std::string layer;             // the Dense/Conv layer whose outputs were removed
    std::string consumer;          // the weight layer whose inputs shrank ("" if none)
    int64_t before = 0;            // output channels before
    int64_t after = 0;             // and after
    std::vector<int64_t> removed;  // removed channel indices (of the original layer)
  };
  std::vector<LayerChange> changes;  // only layers that lost channels
  // Channels that were removable but kept because `accept` refused the smaller model.
  int64_t refused = 0;
};

// A callback that sees a candidate reduced model and says whether it may be used (e.g.
// every reuse factor stays valid and no resource grows). Empty: accept everything.
using ReduceAccept = std::function<bool(const Model& candidate)>;

// Removes, layer by layer from the input side, the output channels c of every Dense/Conv
// layer (except the network's last weight layer) for which either
//   (a) the channel is identically zero where the next weight layer reads it: every kernel
//       weight of c is masked or quantizes to 0, and the quantized bias (with a following
//       BatchNorm folded) passed through the elementwise layers in between (activations,
//       dropout, pooling, standalone BatchNorms) is exactly 0; or
//   (b) the next weight layer ignores it: every weight reading c is masked or quantizes to 0.
// The chain from a layer to its consumer may contain BatchNorm, Activation (not Softmax),
// Dropout, pooling and Flatten layers; other layouts are left alone. At least one channel
// of a layer is always kept. When `accept` refuses a candidate, fewer channels of that
// layer are removed (the highest indices are given up first) until it accepts.
// For a float model (no precisions) "quantizes to 0" means "is 0", and both the folded
// (quantize = true) and unfolded (quantize = false) float arithmetic are checked.
// Each layer is visited once, from the input side; the report lists the removed channels in
// the layer's numbering before its removal. See docs/hardware-model.md.
// The result has bit-identical outputs to `model` under reference_forward with quantize =
// true; with quantize = false too, unless a channel went only because weights or a bias
// quantize to 0 (always identical for a float model).
Model remove_zero_structures(const Model& model, const ReduceAccept& accept = {},
                             ReduceReport* report = nullptr);

}  // namespace hwprune::structures
