// The model IR: a sequential network of layers with weights in Keras layout, per-layer
// fixed-point precisions and weight masks. Activations are channels-last.
//
// Weight layouts (the documented contract for every importer/exporter):
//   Dense     kernel (n_in, n_out),       bias (n_out)
//   Conv1D    kernel (K, C, F),           bias (F)        input (L, C)
//   Conv2D    kernel (KH, KW, C, F),      bias (F)        input (H, W, C)
//   BatchNorm gamma, beta, moving_mean, moving_variance  (C) over the last axis
// A mask, when present, has the kernel's shape and holds 0/1: a 0 weight is pruned.
// Widths, when present, have the kernel's shape and hold each weight's width in bits (joint
// pruning and precision): the weight is quantized with at_width(weight precision, width)
// instead of the weight precision (a width at or above the precision's width changes
// nothing). The hardware builds its multiplier at that width.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/ir/standardisation.hpp"
#include "hwprune/ir/task.hpp"
#include "hwprune/ir/tensor.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune {

enum class LayerKind {
  Dense,
  Conv1D,
  Conv2D,
  BatchNorm,
  Activation,
  MaxPool1D,
  MaxPool2D,
  AvgPool1D,
  AvgPool2D,
  Flatten,
  Dropout,
};
enum class ActivationKind {
  Linear,
  ReLU,
  Softmax,
  QuantizedReLU,
  Sigmoid,
  Tanh,
  HardSigmoid,  // clip(alpha * x + beta, 0, 1)
  LeakyReLU,    // x >= 0 ? x : alpha * x
  ELU,          // x >= 0 ? x : alpha * (exp(x) - 1)
  SELU,         // fixed scale 1.0507009873554805 and alpha 1.6732632423543772
};
enum class Padding { Valid, Same };

inline constexpr NameTable<LayerKind, 11> kLayerKindNames{
    "layer type",
    {{{"Dense", LayerKind::Dense},
      {"Conv1D", LayerKind::Conv1D},
      {"Conv2D", LayerKind::Conv2D},
      {"BatchNormalization", LayerKind::BatchNorm},
      {"Activation", LayerKind::Activation},
      {"MaxPooling1D", LayerKind::MaxPool1D},
      {"MaxPooling2D", LayerKind::MaxPool2D},
      {"AveragePooling1D", LayerKind::AvgPool1D},
      {"AveragePooling2D", LayerKind::AvgPool2D},
      {"Flatten", LayerKind::Flatten},
      {"Dropout", LayerKind::Dropout}}}};
inline constexpr NameTable<ActivationKind, 10> kActivationNames{
    "activation",
    {{{"linear", ActivationKind::Linear},
      {"relu", ActivationKind::ReLU},
      {"softmax", ActivationKind::Softmax},
      {"quantized_relu", ActivationKind::QuantizedReLU},
      {"sigmoid", ActivationKind::Sigmoid},
      {"tanh", ActivationKind::Tanh},
      {"hard_sigmoid", ActivationKind::HardSigmoid},
      {"leaky_relu", ActivationKind::LeakyReLU},
      {"elu", ActivationKind::ELU},
      {"selu", ActivationKind::SELU}}}};
inline constexpr NameTable<Padding, 2> kPaddingNames{
    "padding", {{{"valid", Padding::Valid}, {"same", Padding::Same}}}};

inline std::string_view to_string(LayerKind k) {  // "Dense", "Conv2D", "BatchNormalization", ...
  return kLayerKindNames.name(k);
}
inline std::string_view to_string(ActivationKind a) {  // "linear", "relu", "softmax", ...
  return kActivationNames.name(a);
}
inline std::string_view to_string(Padding p) {  // "valid", "same"
  return kPaddingNames.name(p);
}
inline LayerKind parse_layer_kind(std::string_view s) {  // Error on unknown
  return kLayerKindNames.parse(s);
}
inline ActivationKind parse_activation(std::string_view s) {
  return kActivationNames.parse(s);
}
inline Padding parse_padding(std::string_view s) {
  return kPaddingNames.parse(s);
}

// How a layer is built in hardware (hls4ml's terms). Resource: weights in a ROM of depth RF,
// BF = ceil(N / RF) multipliers each reused RF times. Unrolled: Resource with the zero
// structures dropped at generation (hls4ml's resource_unrolled). Latency: weights as
// constants, ceil(N / RF) multipliers shared by the HLS scheduler.
enum class Strategy { Latency, Resource, Unrolled };
enum class IoType { Parallel, Stream };
// Names are case-insensitive when parsed; hls4ml's "resource_unrolled" is Unrolled.
inline constexpr NameTable<Strategy, 4> kStrategyNames{
    "strategy",
    {{{"Latency", Strategy::Latency, "weights as constants, one multiplier per weight at RF 1"},
      {"Resource", Strategy::Resource, "weights in a ROM of depth RF, BF multipliers reused"},
      {"Unrolled", Strategy::Unrolled, "Resource without the all-zero multipliers and ROM words"},
      {"resource_unrolled", Strategy::Unrolled, {}, true}}},
    true};
inline constexpr NameTable<IoType, 4> kIoTypeNames{
    "io type",
    {{{"io_parallel", IoType::Parallel, "a whole sample at once"},
      {"io_stream", IoType::Stream, "pixels streamed with valid/ready"},
      {"parallel", IoType::Parallel, {}, true},
      {"stream", IoType::Stream, {}, true}}},
    true};
inline std::string_view to_string(Strategy s) {  // "Latency", "Resource", "Unrolled"
  return kStrategyNames.name(s);
}
inline std::string_view to_string(IoType t) {  // "io_parallel", "io_stream"
  return kIoTypeNames.name(t);
}
inline Strategy parse_strategy(std::string_view s) {
  return kStrategyNames.parse(s);
}
inline IoType parse_io_type(std::string_view s) {
  return kIoTypeNames.parse(s);
}

// Hardware attributes configured for one layer (from an hls4ml config, or recorded by a
// tool). Unset fields take the defaults given on the command line.
struct LayerHardware {
  std::optional<int64_t> reuse_factor;
  std::optional<Strategy> strategy;
  std::optional<IoType> io_type;
  std::optional<int64_t> parallelization_factor;  // Conv under io_parallel
  bool operator==(const LayerHardware&) const = default;
  bool empty() const { return *this == LayerHardware{}; }
};

// Precisions of one layer (nullopt = float). Which ones matter depends on the layer:
// Dense/Conv use all four; BatchNorm uses weight (its scale), bias and result;
// activations and average pooling use result; the others none.
struct LayerPrecision {
  Precision weight, bias, accum, result;
  bool operator==(const LayerPrecision&) const = default;
};

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::Dense;

  int64_t units = 0;                 // Dense
  int64_t filters = 0;               // Conv
  std::vector<int64_t> kernel_size;  // Conv: 1 (Conv1D) or 2 (Conv2D) entries
  std::vector<int64_t> pool_size;    // pooling: 1 or 2 entries
  std::vector<int64_t> strides;      // Conv/pooling: same rank as kernel/pool size
  Padding padding = Padding::Valid;
  bool use_bias = true;
  ActivationKind activation = ActivationKind::Linear;  // Activation layers
  // Activation parameters (default_activation_params gives Keras's): LeakyReLU's negative
  // slope, ELU's alpha, HardSigmoid's slope (alpha) and offset (beta); unused otherwise.
  double alpha = 0.0, beta = 0.0;
  double epsilon = 1e-3;   // BatchNorm
  double momentum = 0.99;  // BatchNorm, Keras meaning: moving = m * moving + (1 - m) * batch
  double rate = 0.0;       // Dropout

  std::map<std::string, Tensor> weights;  // "kernel", "bias", "gamma", "beta", ...
  Tensor mask;                            // empty, or the kernel's shape with 0/1 values
  Tensor widths;  // empty, or the kernel's shape with each weight's width in bits (1..63)
  LayerPrecision precision;
  LayerHardware hardware;

  Shape input_shape;   // per sample; set by Model::infer_shapes()
  Shape output_shape;  // per sample

  bool has_kernel() const { return kind == LayerKind::Dense || is_conv(); }
  bool is_conv() const { return kind == LayerKind::Conv1D || kind == LayerKind::Conv2D; }
  bool is_pool() const;
  const Tensor& weight(const std::string& key) const;  // Error naming layer and key if absent
  Tensor& weight(const std::string& key);
  int64_t parameter_count() const;       // all stored weight values
  int64_t nonzero_kernel_count() const;  // kernel weights that are non-zero and not masked
};

// Keras's defaults for an activation's parameters {alpha, beta}: LeakyReLU {0.3, 0}, ELU
// {1, 0}, HardSigmoid {0.2, 0.5}; {0, 0} for the others.
std::pair<double, double> default_activation_params(ActivationKind a);
// The float value of an element-wise activation (any kind but Softmax) of layer `l` at x:
// the function the C++ reference and the training engine compute (docs/model-semantics.md).
double apply_activation(const Layer& l, double x);
// apply_activation of a float32 value, rounded to float32: what reference_forward computes
// for one element before quantizing it to the layer's result precision.
inline float activation_value(const Layer& l, float x) {
  return static_cast<float>(apply_activation(l, static_cast<double>(x)));
}

struct Model {
  std::string name = "model";
  Shape input_shape;          // per sample, channels-last
  Precision input_precision;  // quantization of the (standardised) input
  std::vector<Layer> layers;
  Standardisation standardisation;  // applied to raw inputs before the network
  Task task = Task::Classification;
  std::vector<std::string> class_names;         // classification outputs
  std::map<std::string, std::string> metadata;  // free-form provenance (data spec, seeds...)

  // Checks the layer sequence, parameters and weight shapes and sets every layer's
  // input/output shapes. Throws Error naming the layer at fault.
  void infer_shapes();
  Shape output_shape() const;
  int64_t output_size() const;
  int64_t parameter_count() const;
  Layer& layer(const std::string& name);  // Error if absent
  const Layer& layer(const std::string& name) const;
  // Index of the layer whose output the network's loss is computed on: the input of a
  // final Softmax layer (logits) if there is one, else the last layer.
  size_t logits_layer() const;
  // Whether the last layer is a Softmax activation (a classifier's probabilities).
  bool ends_in_softmax() const;
  // Error unless data of this sample shape / output count fits the model (a classifier's
  // data may have fewer classes than it has outputs).
  void check_data(const Shape& sample_shape, int num_outputs, const std::string& source) const;
  // Sets the input precision and every layer's weight/bias/accum/result precisions.
  void set_precision(const Precision& p);
  bool is_quantized() const;  // any precision is fixed-point
};

// Keras-default initialisation (Glorot-uniform kernels, zero biases, BatchNorm gamma 1,
// beta 0, moving mean 0, moving variance 1), deterministic for a seed.
void init_weights(Model& model, uint64_t seed);

// Builtin architectures, built for the data's sample shape and class count. The value is
// the default input shape's rank (the shape itself: builtin_input_shape).
inline constexpr NameTable<int, 3> kBuiltinNames{
    "builtin model",
    {{{"jet-mlp", 1, "Dense 64-32-32-N with ReLU: the hls4ml jet tagger (default input 16)"},
      {"fmnist-cnn", 3,
       "Conv2D 16 3x3-ReLU-MaxPool-Conv2D 32 3x3-ReLU-MaxPool-Flatten-Dense N (28x28x1)"},
      {"svhn-cnn", 3,
       "hls4ml's SVHN CNN: 3x [Conv2D 16/16/24-BN-ReLU-MaxPool], Dense 42, 64, N (32x32x3)"}}}};
// Also a generic MLP: "mlp:<hidden sizes>", e.g. mlp:64,32,32 (Dense+ReLU per size, then
// Dense N and Softmax; layers fc1.., output).
std::vector<std::string> builtin_model_names();      // the table's names
bool is_builtin_model(const std::string& name);      // a table name or mlp:...
Shape builtin_input_shape(const std::string& name);  // 16; 28x28x1; 32x32x3
// Builds (and initialises with `seed`) a builtin for samples of shape `input` (empty: the
// builtin's default) and `outputs` classes. Error naming the builtin for an unknown name,
// malformed hidden sizes, or an input it cannot take (an MLP takes vectors, a CNN images).
Model make_builtin_model(const std::string& name, int outputs, uint64_t seed,
                         const Shape& input = {});

// Folds every BatchNorm that directly follows a Dense/Conv layer into that layer:
// W' = W * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * gamma / sqrt(var + eps)
// + beta. The merged layer keeps its weight/bias/accum precisions and takes the
// BatchNorm's result precision; masks carry over. Float outputs are unchanged.
Model fold_batchnorm(const Model& model);

// Values that overflowed a wrapping (AP_WRAP) type at inference and wrapped around, at one
// quantization point: "input" or a layer (of the model with BatchNorms folded).
struct Overflow {
  std::string layer;
  int64_t wrapped = 0, values = 0;
  double max_abs = 0;  // the largest magnitude a value had before it was quantized
};

// Integer bits I a fixed-point type needs so that values of magnitude up to `max_abs` lie in
// its range (signed: -2^(I-1) <= v < 2^(I-1); unsigned: 0 <= v < 2^I), at least 1.
int integer_bits_for(double max_abs, bool is_signed);
// `t` with the integer bits values up to `max_abs` need when it has fewer (the width kept, so
// fewer fraction bits; widened when the integer bits alone exceed it); else `t`.
FixedType fitted_type(const FixedType& t, double max_abs);

// Gives every wrapping result type (and the input type) that an observed overflow exceeded
// the integer bits its observed range needs, keeping the width (fewer fraction bits; a type
// whose range needs more bits than its width becomes that many integer bits wide), and a
// Dense/Conv layer's accumulator at least as many integer bits. Returns one line per change,
// e.g. "fc1: result ap_fixed<16,6> -> ap_fixed<16,8> (|value| up to 97.3)".
std::vector<std::string> fit_integer_bits(Model& model, const std::vector<Overflow>& observed);

struct ReferenceOptions {
  bool quantize = true;  // apply every precision (false: plain float arithmetic)
  bool logits = false;   // stop before a final Softmax (its input: the logits)
  // When set, receives the quantization points where values wrapped (quantize only).
  std::vector<Overflow>* overflows = nullptr;
};

// A Dense/Conv layer's kernel as the reference computes with it and every export writes it:
// masked weights exact zeros (+0.0) and, when `quantize`, each weight quantized with
// kernel_weight_type: saturating(weight precision), at the weight's own width when the layer
// has widths (the type's rounding, saturation even where the type wraps; nothing for a float
// precision), so quantizing the written values to the weight precision again changes nothing.
Tensor effective_kernel(const Layer& l, bool quantize);
// Checks per-weight widths for a Dense/Conv layer `l` (Layer::widths, or ones about to be
// set): the kernel's shape, a fixed-point weight precision, whole numbers of bits in
// 1..FixedType::kMaxWidth. Error starting with `where`.
void check_widths(const Layer& l, const Tensor& widths, const std::string& where);
// The width weight k of a Dense/Conv layer is built at: its Layer::widths entry capped at
// the weight precision's width, or that width (FixedType::kMaxWidth for a float precision).
int kernel_weight_bits(const Layer& l, size_t k);
// The saturating type weight k of a Dense/Conv layer is quantized with: its width's
// (Layer::widths) or the weight precision's; nullopt for a float precision.
Precision kernel_weight_type(const Layer& l, size_t k);
// Its bias (zeros without one), quantized the same way with the bias precision.
Tensor effective_bias(const Layer& l, bool quantize);

// Plain C++ inference (no torch): the float QAT model as the training engine computes it at
// inference (docs/model-semantics.md; BatchNorms after Dense/Conv folded first when
// quantizing), for predict/evaluate and checks. x is (n, sample...) already standardised;
// returns the outputs of the last layer (or the logits).
Tensor reference_forward(const Model& model, const Tensor& x, const ReferenceOptions& options);
inline Tensor reference_forward(const Model& model, const Tensor& x, bool quantize) {
  return reference_forward(model, x, ReferenceOptions{quantize, false, nullptr});
}

}  // namespace hwprune
