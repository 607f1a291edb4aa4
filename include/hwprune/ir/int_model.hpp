// The bit-exact integer model of a quantized network: every value is a raw fixed-point
// integer and every operation is the one hls4ml's C++ (its C simulation) and the generated
// RTL perform, so it is the golden model for co-simulation and for the hls4ml hand-off.
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
// A Conv1D/Conv2D is that Dense applied to every receptive field (channels-last patch
// (kh, kw, c), zero padding for "same" as Keras places it), as hls4ml's conv kernels do.
// A ReLU after a Dense/Conv gives max(y, 0) cast to its own result type; MaxPooling the
// maximum of each window (valid padding) at its input type; AveragePooling the window's
// exact sum divided by its element count, truncated, cast to its result type (IntPool). Sigmoid,
// tanh, ELU and SELU are hls4ml's lookup tables (1024 entries of ap_fixed<18,8>), LeakyReLU, ELU's
// and SELU's linear parts and hard_sigmoid hls4ml's fixed-point arithmetic
// (docs/model-semantics.md). Weights are the saturating quantization of the float kernel; masked
// weights are 0. A final Softmax is not part of the integer model: it ends with the logits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
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
  // Per weight (Keras layout), the width its multiplier is built at (Layer::widths, capped at
  // the weight type's width: w[k] is a multiple of 2^(W - bits[k])); empty: every weight at
  // the weight type's width.
  std::vector<int> bits;
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
  // The type of what the layer hands on: the ReLU's result type, else the result type.
  FixedType output_type() const { return relu ? relu_result : result; }
};

// A Conv1D/Conv2D layer: `core` is the Dense on one receptive field (n_in = kernel area x
// channels, n_out = filters, w in Keras kernel order (kh, kw, c, f)), relu fused as for a
// Dense.
struct IntConv {
  IntDense core;
  std::vector<int64_t> in_shape;   // (L, C) or (H, W, C)
  std::vector<int64_t> kernel;     // (K) or (KH, KW)
  std::vector<int64_t> strides;    // same rank as kernel
  std::vector<int64_t> pad_begin;  // zero rows/columns before the input ("same")
  std::vector<int64_t> out_shape;  // (L', F) or (H', W', F)
};

// A pooling layer over channels-last values: for every output position p (row-major) and
// channel c (outputs in that order, channels-last), the window of pool[0] (x pool[1]) input
// positions starting at p * strides - pad_begin, on channel c. `type` is the input type.
//   Max (MaxPooling1D/2D, valid padding): the maximum of the window's values, at `type`
//     (also the output type).
//   Average (AveragePooling1D/2D; hls4ml nnet_pooling.h / nnet_pooling_stream.h, pool_op
//     Average, count_pad false):
//     n   = the number of window positions inside the input: the whole window
//           (pool[0] * pool[1]) with valid padding; with "same" padding, at the edges, the
//           product over the axes of the positions inside (padding positions, pad_begin
//           before the input and the rest after it, are neither added nor counted);
//     s   = the sum of the n raw inputs, each shifted left by accum.frac_bits() -
//           type.frac_bits() (= e below): exact, with no rounding or overflow (accum holds
//           every partial sum, so the order of the additions does not matter);
//     q   = s / n, integer division truncating towards zero (C's `/`: a negative q rounds up), a
//           raw value at accum.frac_bits(): hls4ml's `accum_t / n` (ap_fixed division by an
//           integer keeps the dividend's fractional bits and truncates the quotient);
//     y   = q cast to `result` with its rounding and overflow modes
//           (result.requantize(q, accum.frac_bits())), the output type.
//     accum = average_pool_accum_type(type, pool[0] * pool[1]): `type` widened by
//     e = ceil(log2(window)) integer and e fractional bits, same sign, AP_TRN/AP_WRAP; the
//     export gives it to hls4ml as the pooling layer's accum_t.
struct IntPool {
  enum class Op { Max, Average };
  std::string name;
  std::vector<int64_t> in_shape, pool, strides, out_shape;
  FixedType type;
  Op op = Op::Max;
  // Padding positions before the input per spatial axis: floor(total / 2) for "same" (the
  // rest after it), all 0 for valid padding (always for Max).
  std::vector<int64_t> pad_begin;
  FixedType accum, result;  // Average only (see above)
  // The type of what the layer hands on: `type` (Max), `result` (Average).
  FixedType output_type() const { return op == Op::Max ? type : result; }
};

// An element-wise activation other than a ReLU fused into a Dense/Conv (hls4ml
// nnet_activation.h): a cast (linear), relu, sigmoid/tanh/elu/selu tables, leaky_relu,
// hard_sigmoid.
struct IntActivation {
  std::string name;
  ActivationKind kind = ActivationKind::Linear;
  int64_t size = 0;  // values
  FixedType input, result;
  FixedType param;  // LeakyReLU/ELU alpha, SELU's lambda, hard_sigmoid's slope
  int64_t param_raw = 0;
  FixedType shift;  // hard_sigmoid's offset
  int64_t shift_raw = 0;
  std::vector<int64_t> table;  // sigmoid/tanh/elu/selu: hls4ml's table at table_type
  FixedType table_type;
};

using IntLayer = std::variant<IntDense, IntConv, IntPool, IntActivation>;
std::string_view int_layer_name(const IntLayer& l);

struct IntNetwork {
  std::string name;
  FixedType input;                   // the model's input precision
  std::vector<int64_t> input_shape;  // per sample, channels-last
  std::vector<IntLayer> layers;      // in order (Dense/Conv with their fused ReLU)
  int64_t n_in() const;              // values per sample
  int64_t n_out() const;
  FixedType output_type() const;  // the last stage's result type

  // The k-th layer as a Dense; Error naming it if it is another kind.
  const IntDense& dense(size_t k) const;
  IntDense& dense(size_t k);
  // Whether every layer is a Dense (what the Verilog generator builds today).
  bool all_dense() const;

  // Raw input integers of one standardised sample (n_in floats).
  std::vector<int64_t> quantize_input(const float* x) const;
  // Raw outputs (logits) for raw inputs; `trace` (optional) receives every layer's outputs
  // (after its fused ReLU, at that layer's output type). Error if an input is outside `input`.
  std::vector<int64_t> run(const std::vector<int64_t>& input,
                           std::vector<std::vector<int64_t>>* trace = nullptr) const;
  // Outputs for a batch x (n, sample...) of standardised samples, as real values (n, n_out).
  Tensor forward(const Tensor& x) const;
};

// hls4ml's lookup tables: entries and entry type (its defaults, which hwprune's exports keep).
inline constexpr int64_t kActivationTableSize = 1024;
FixedType activation_table_type();  // ap_fixed<18,8>
// The type alpha is held in for a LeakyReLU/ELU layer (hls4ml's `param` precision):
// ap_fixed<18,I> with the fewest integer bits I >= 2 that hold alpha. Exports write it into
// the hls4ml configuration.
FixedType activation_param_type(const Layer& l);
// The accumulator of an average pooling over `window` positions of `input` values
// (hls4ml's own choice for an average pool's accum_t): e = ceil(log2(window)),
// ap_[u]fixed<W + 2e, I + e> with input's sign and default modes. It holds the sum of the
// window exactly and keeps e fractional bits of the quotient beyond the input's. Exports
// write it into the hls4ml configuration.
FixedType average_pool_accum_type(const FixedType& input, int64_t window);

IntNetwork make_int_network(const Model& model, const std::vector<int64_t>& reuse_factors = {});

}  // namespace hwprune
