// Layer/model bookkeeping: shape inference and validation, precisions.
#include "hwprune/ir/model.hpp"

#include <cctype>

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/utf8.hpp"

namespace hwprune {

namespace {

int spatial_rank(LayerKind k) {
  switch (k) {
    case LayerKind::Conv1D:
    case LayerKind::MaxPool1D:
    case LayerKind::AvgPool1D:
      return 1;
    case LayerKind::Conv2D:
    case LayerKind::MaxPool2D:
    case LayerKind::AvgPool2D:
      return 2;
    default:
      return 0;
  }
}

// Keras output length of a sliding window.
int64_t window_out(int64_t in, int64_t k, int64_t s, Padding p) {
  if (p == Padding::Same) return (in + s - 1) / s;
  return in >= k ? (in - k) / s + 1 : 0;
}

void expect_shape(const Layer& l, const std::string& key, const Shape& want) {
  const Tensor& t = l.weight(key);
  if (t.shape != want)
    throw Error(fmt::format("layer '{}' ({}): weight '{}' has shape {}, expected {}", l.name,
                            to_string(l.kind), key, shape_str(t.shape), shape_str(want)));
  if (t.numel() != shape_numel(t.shape))
    throw Error(fmt::format("layer '{}': weight '{}' holds {} values for shape {}", l.name, key,
                            t.numel(), shape_str(t.shape)));
}

}  // namespace

bool Layer::is_pool() const {
  return spatial_rank(kind) > 0 && !is_conv();
}

const Tensor& Layer::weight(const std::string& key) const {
  auto it = weights.find(key);
  if (it == weights.end())
    throw Error(fmt::format("layer '{}' ({}) has no weight '{}'", name, to_string(kind), key));
  return it->second;
}

Tensor& Layer::weight(const std::string& key) {
  return const_cast<Tensor&>(static_cast<const Layer*>(this)->weight(key));
}

int64_t Layer::parameter_count() const {
  int64_t n = 0;
  for (const auto& [key, t] : weights) n += t.numel();
  return n;
}

int64_t Layer::nonzero_kernel_count() const {
  if (!has_kernel()) return 0;
  const Tensor& k = weight("kernel");
  int64_t n = 0;
  for (int64_t i = 0; i < k.numel(); ++i)
    if (k.data[i] != 0.0f && (mask.empty() || mask.data[i] != 0.0f)) ++n;
  return n;
}

void Model::infer_shapes() {
  if (input_shape.empty()) throw Error(fmt::format("model '{}': input shape is not set", name));
  for (int64_t d : input_shape)
    if (d <= 0)
      throw Error(fmt::format("model '{}': invalid input shape {}", name, shape_str(input_shape)));
  if (layers.empty()) throw Error(fmt::format("model '{}' has no layers", name));
  // Names go into JSON (the model file, results), which holds only UTF-8 text.
  auto utf8 = [](const std::string& text, const std::string& what) {
    if (!is_utf8(text)) throw Error(fmt::format("{} '{}' is not valid UTF-8 text", what, text));
  };
  utf8(name, "model name");
  for (const auto& c : class_names) utf8(c, "class name");
  for (const auto& [key, value] : metadata) {
    utf8(key, "metadata key");
    utf8(value, "metadata value of '" + key + "'");
  }
  for (const auto& l : layers) utf8(l.name, "layer name");
  std::set<std::string> seen;
  Shape shape = input_shape;
  for (size_t idx = 0; idx < layers.size(); ++idx) {
    Layer& l = layers[idx];
    const std::string where = fmt::format("layer '{}' ({})", l.name, to_string(l.kind));
    if (l.name.empty()) throw Error(fmt::format("layer #{} has no name", idx));
    if (l.name.find_first_of("/\\") != std::string::npos || l.name == "." || l.name == "..")
      throw Error(fmt::format("layer name '{}' may not contain '/' or '\\'", l.name));
    if (!seen.insert(l.name).second)
      throw Error(fmt::format("layer name '{}' is used twice", l.name));
    l.input_shape = shape;
    const int rank = static_cast<int>(shape.size());
    const int sr = spatial_rank(l.kind);
    switch (l.kind) {
      case LayerKind::Dense: {
        if (rank != 1)
          throw Error(fmt::format("{}: needs a flat input, got {} (add a Flatten layer)", where,
                                  shape_str(shape)));
        if (l.units <= 0) throw Error(fmt::format("{}: units must be > 0", where));
        expect_shape(l, "kernel", {shape[0], l.units});
        if (l.use_bias) expect_shape(l, "bias", {l.units});
        shape = {l.units};
        break;
      }
      case LayerKind::Conv1D:
      case LayerKind::Conv2D:
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D: {
        if (rank != sr + 1)
          throw Error(fmt::format("{}: needs an input of rank {} (spatial dims + channels), got {}",
                                  where, sr + 1, shape_str(shape)));
        const auto& window = l.is_conv() ? l.kernel_size : l.pool_size;
        if (static_cast<int>(window.size()) != sr)
          throw Error(fmt::format("{}: {} needs {} entries", where,
                                  l.is_conv() ? "kernel_size" : "pool_size", sr));
        if (l.strides.empty()) l.strides = l.is_conv() ? std::vector<int64_t>(sr, 1) : window;
        if (static_cast<int>(l.strides.size()) != sr)
          throw Error(fmt::format("{}: strides need {} entries", where, sr));
        Shape out(shape.size());
        for (int d = 0; d < sr; ++d) {
          if (window[d] <= 0 || l.strides[d] <= 0)
            throw Error(fmt::format("{}: window and strides must be > 0", where));
          out[d] = window_out(shape[d], window[d], l.strides[d], l.padding);
          if (out[d] <= 0)
            throw Error(fmt::format("{}: window {} does not fit the input {}", where, window[d],
                                    shape_str(shape)));
        }
        const int64_t channels = shape.back();
        if (l.is_conv()) {
          if (l.filters <= 0) throw Error(fmt::format("{}: filters must be > 0", where));
          Shape kshape(window.begin(), window.end());
          kshape.push_back(channels);
          kshape.push_back(l.filters);
          expect_shape(l, "kernel", kshape);
          if (l.use_bias) expect_shape(l, "bias", {l.filters});
          out.back() = l.filters;
        } else {
          out.back() = channels;
        }
        shape = out;
        break;
      }
      case LayerKind::BatchNorm: {
        const int64_t c = shape.back();
        for (const char* key : {"gamma", "beta", "moving_mean", "moving_variance"})
          expect_shape(l, key, {c});
        for (float v : l.weight("moving_variance").data)
          if (!(v >= 0.0f)) throw Error(fmt::format("{}: negative or NaN moving_variance", where));
        if (!(l.epsilon > 0)) throw Error(fmt::format("{}: epsilon must be > 0", where));
        break;
      }
      case LayerKind::Activation:
        if (l.activation == ActivationKind::QuantizedReLU && !l.precision.result)
          throw Error(
              fmt::format("{}: quantized_relu needs a fixed-point result precision", where));
        break;
      case LayerKind::Flatten:
        shape = {shape_numel(shape)};
        break;
      case LayerKind::Dropout:
        if (!(l.rate >= 0.0 && l.rate < 1.0))
          throw Error(fmt::format("{}: rate {} must be in [0, 1)", where, l.rate));
        break;
    }
    if (!l.has_kernel() && !l.mask.empty())
      throw Error(fmt::format("{}: only Dense and Conv layers can have a mask", where));
    if (!l.mask.empty()) {
      if (l.mask.shape != l.weight("kernel").shape)
        throw Error(fmt::format("{}: mask shape {} differs from kernel shape {}", where,
                                shape_str(l.mask.shape), shape_str(l.weight("kernel").shape)));
      for (float v : l.mask.data)
        if (v != 0.0f && v != 1.0f)
          throw Error(fmt::format("{}: mask values must be 0 or 1, found {}", where, v));
    }
    if (!l.widths.empty()) {
      if (!l.has_kernel())
        throw Error(fmt::format("{}: only Dense and Conv layers can have weight widths", where));
      check_widths(l, l.widths, where);
    }
    for (const auto& [key, t] : l.weights)
      for (float v : t.data)
        if (!std::isfinite(v))
          throw Error(fmt::format("{}: weight '{}' holds a NaN or Inf value", where, key));
    l.output_shape = shape;
  }
}

Shape Model::output_shape() const {
  if (layers.empty()) return input_shape;
  return layers.back().output_shape;
}

int64_t Model::output_size() const {
  return shape_numel(output_shape());
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.parameter_count();
  return n;
}

Layer& Model::layer(const std::string& lname) {
  return const_cast<Layer&>(static_cast<const Model*>(this)->layer(lname));
}

const Layer& Model::layer(const std::string& lname) const {
  for (const auto& l : layers)
    if (l.name == lname) return l;
  throw Error(fmt::format("model '{}' has no layer '{}'", name, lname));
}

size_t Model::logits_layer() const {
  if (layers.empty()) throw Error(fmt::format("model '{}' has no layers", name));
  const size_t last = layers.size() - 1;
  return last > 0 && ends_in_softmax() ? last - 1 : last;
}

bool Model::ends_in_softmax() const {
  return !layers.empty() && layers.back().kind == LayerKind::Activation &&
         layers.back().activation == ActivationKind::Softmax;
}

void Model::check_data(const Shape& sample_shape, int num_outputs,
                       const std::string& source) const {
  if (sample_shape != input_shape)
    throw Error(fmt::format("{}: samples have shape {}, but model '{}' takes {}", source,
                            shape_str(sample_shape), name, shape_str(input_shape)));
  // Labels may use only some of a classifier's classes (e.g. a small test subset).
  const bool fits =
      task == Task::Classification ? num_outputs <= output_size() : num_outputs == output_size();
  if (!fits)
    throw Error(fmt::format("{}: data has {} {}, but model '{}' has {} outputs", source,
                            num_outputs, task == Task::Classification ? "classes" : "targets", name,
                            output_size()));
}

void Model::set_precision(const Precision& p) {
  input_precision = p;
  for (auto& l : layers) l.precision = LayerPrecision{p, p, p, p};
}

int integer_bits_for(double max_abs, bool is_signed) {
  int bits = 1;
  // Signed: 2^(I-1) > max_abs; unsigned: 2^I > max_abs.
  while (std::ldexp(1.0, is_signed ? bits - 1 : bits) <= max_abs && bits < 1024) ++bits;
  return bits;
}

FixedType fitted_type(const FixedType& t, double max_abs) {
  const int need = integer_bits_for(max_abs, t.is_signed);
  if (need <= t.integer) return t;
  FixedType f = t;
  f.integer = need;
  f.width = std::max(t.width, std::min(need, FixedType::kMaxWidth));
  return f;
}

std::vector<std::string> fit_integer_bits(Model& model, const std::vector<Overflow>& observed) {
  std::vector<std::string> changes;
  for (const Overflow& o : observed) {
    if (o.wrapped == 0) continue;
    Layer* layer = nullptr;
    for (auto& l : model.layers)
      if (l.name == o.layer) layer = &l;
    Precision* p = o.layer == "input" ? &model.input_precision
                   : layer            ? &layer->precision.result
                                      : nullptr;
    if (!p || !*p || (*p)->overflow != OverflowMode::WRAP) continue;
    const FixedType before = **p;
    *p = fitted_type(before, o.max_abs);
    if ((*p)->integer == before.integer) continue;
    std::string line = fmt::format("{}: {} {} -> {} (|value| up to {:.4g})", o.layer,
                                   layer ? "result" : "type", before.str(), (*p)->str(), o.max_abs);
    if (layer && layer->has_kernel() && layer->precision.accum) {
      const FixedType a = *layer->precision.accum;
      layer->precision.accum = fitted_type(a, o.max_abs);
      if (layer->precision.accum->integer != a.integer)
        line += fmt::format(", accumulator {} -> {}", a.str(), layer->precision.accum->str());
    }
    changes.push_back(line);
  }
  return changes;
}

bool Model::is_quantized() const {
  if (input_precision) return true;
  for (const auto& l : layers) {
    const auto& p = l.precision;
    if (p.weight || p.bias || p.accum || p.result) return true;
  }
  return false;
}

}  // namespace hwprune

namespace hwprune {

std::pair<double, double> default_activation_params(ActivationKind a) {
  switch (a) {
    case ActivationKind::LeakyReLU:
      return {0.3, 0.0};
    case ActivationKind::ELU:
      return {1.0, 0.0};
    case ActivationKind::HardSigmoid:
      return {0.2, 0.5};
    default:
      return {0.0, 0.0};
  }
}

double apply_activation(const Layer& l, double x) {
  constexpr double kSeluScale = 1.0507009873554805, kSeluAlpha = 1.6732632423543772;
  switch (l.activation) {
    case ActivationKind::Linear:
      return x;
    case ActivationKind::ReLU:
    case ActivationKind::QuantizedReLU:
      return std::max(x, 0.0);
    case ActivationKind::Sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case ActivationKind::Tanh:
      return std::tanh(x);
    case ActivationKind::HardSigmoid:
      return std::clamp(l.alpha * x + l.beta, 0.0, 1.0);
    case ActivationKind::LeakyReLU:
      return x >= 0 ? x : l.alpha * x;
    case ActivationKind::ELU:
      return x >= 0 ? x : l.alpha * std::expm1(x);
    case ActivationKind::SELU:
      return kSeluScale * (x >= 0 ? x : kSeluAlpha * std::expm1(x));
    case ActivationKind::Softmax:
      break;
  }
  throw Error(fmt::format("{}: softmax is not an element-wise activation", l.name));
}

void check_widths(const Layer& l, const Tensor& widths, const std::string& where) {
  if (widths.shape != l.weight("kernel").shape)
    throw Error(fmt::format("{}: widths shape {} differs from kernel shape {}", where,
                            shape_str(widths.shape), shape_str(l.weight("kernel").shape)));
  if (!l.precision.weight)
    throw Error(fmt::format("{}: weight widths need a fixed-point weight precision", where));
  for (float v : widths.data)
    if (!(v >= 1.0f && v <= static_cast<float>(FixedType::kMaxWidth)) || v != std::floor(v))
      throw Error(fmt::format("{}: weight widths must be whole numbers of bits in 1..{}, found {}",
                              where, FixedType::kMaxWidth, v));
}

}  // namespace hwprune
