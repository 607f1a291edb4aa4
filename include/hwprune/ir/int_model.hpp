// The bit-exact integer model of a quantized Dense/ReLU network: every value is a raw
// fixed-point integer and every operation is the one the generated RTL (and hls4ml's dense
// kernels) performs, so it is the golden model for co-simulation.
//
// Semantics per Dense layer (hls4ml nnet::dense_latency / dense_resource):
//   x      raw inputs at the layer's input type (the previous result type, or the model's
//          input precision for the first layer)
//   p      = w_raw * x_raw, exact (frac bits Fw + Fx), then cast to the accumulator type
//          with its rounding and overflow modes
//   acc    = bias cast to the accumulator type, then acc += p for every product in the
//          order the hardware adds them (accumulation_order), each sum cast back to the
//          accumulator type (it wraps or saturates per its overflow mode)
//   y      = acc cast to the layer's result type
// A ReLU (Activation relu / quantized_relu) gives max(y, 0) cast to its own result type.
// Weights are the saturating quantization of the float kernel (docs/model-semantics.md);
// masked weights are 0. A final Softmax is not part of the integer model: it ends with the
// logits (argmax is the predicted class).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/ir/tensor.hpp"

namespace hwprune {

struct IntDense {
  std::string name;
  int64_t n_in = 0, n_out = 0;
  FixedType input, weight, bias, accum, result;
  std::vector<int64_t> w;  // raw weights, Keras layout (n_in, n_out): w[i * n_out + o]
  std::vector<int64_t> b;  // raw biases (n_out), at `bias`; all 0 without a bias (then
                           // `bias` is the accumulator type if the model's bias precision is
                           // float)
  // Order of the additions into each output's accumulator: pairs (input i) in the order the
  // hardware adds them. Latency (RF 1): i = 0 .. n_in-1. Resource (RF > 1): the
  // weight-to-multiplier map's order, cycle ir = 0 .. RF-1, then multiplier m = 0 .. BF-1
  // (t = ir + m * RF on the transposed kernel). Only matters for saturating accumulators.
  int64_t reuse_factor = 1;
  bool relu = false;      // followed by a ReLU
  FixedType relu_result;  // the ReLU's result type (when relu)
};

struct IntNetwork {
  std::string name;
  FixedType input;               // the model's input precision
  std::vector<IntDense> layers;  // Dense (+ ReLU) in order
  int64_t n_in() const { return layers.front().n_in; }
  int64_t n_out() const { return layers.back().n_out; }
  FixedType output_type() const;  // the last layer's result (or ReLU result) type

  // Raw input integers of one standardised sample (n_in floats).
  std::vector<int64_t> quantize_input(const float* x) const;
  // Raw outputs (logits) for raw inputs; `trace` (optional) receives every layer's outputs
  // (after its ReLU, at that IntDense's output type). Error if an input is outside `input`.
  std::vector<int64_t> run(const std::vector<int64_t>& input,
                           std::vector<std::vector<int64_t>>* trace = nullptr) const;
  // Outputs for a batch x (n, n_in) of standardised samples, as real values (n, n_out).
  Tensor forward(const Tensor& x) const;
};

// Builds the integer model of `model` (BatchNorms after a Dense are folded first) with the
// reuse factor of each layer taken from `reuse_factors` (one per Dense, in order; empty =
// all 1). Error naming the layer for anything but Dense/ReLU/Dropout/Flatten(of a vector)/
// final Softmax, for float precisions, and for widths the int64 arithmetic cannot hold
// exactly (products and sums must fit in 62 bits: Ww + Wx <= 62, Wacc + 1 <= 62). A linear
// activation is accepted when its result precision is float or has the grid of the value it
// casts (same width, integer bits, sign: the identity); a cast to another grid is an Error.
// A ReLU must follow a Dense (Dropout/Flatten/identity layers may sit in between).
IntNetwork make_int_network(const Model& model, const std::vector<int64_t>& reuse_factors = {});

}  // namespace hwprune
