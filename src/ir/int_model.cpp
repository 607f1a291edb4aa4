// The bit-exact integer model of a quantized Dense/ReLU network (see int_model.hpp and
// docs/model-semantics.md, "The integer model").
#include "hwprune/ir/int_model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune {

namespace {

// Widest product / sum the int64 arithmetic holds exactly (with a bit to spare).
constexpr int kMaxExactBits = 62;

std::string layer_where(const Layer& l) {
  return fmt::format("integer model: layer '{}' ({})", l.name, to_string(l.kind));
}

FixedType need_fixed(const Precision& p, const Layer& l, const char* what) {
  if (!p)
    throw Error(fmt::format("{}: the {} precision is float; the integer model needs fixed point",
                            layer_where(l), what));
  return *p;
}

// True when a value of type `from` is already a value of type `to` with the same raw
// integer (same width, integer bits and sign): the cast is the identity whatever the modes.
bool same_grid(const FixedType& from, const FixedType& to) {
  return from.width == to.width && from.integer == to.integer && from.is_signed == to.is_signed;
}

IntDense make_dense(const Layer& l, const FixedType& input, int64_t reuse_factor) {
  const std::string where = layer_where(l);
  if (l.input_shape.size() != 1)
    throw Error(fmt::format("{}: needs a flat input, got {}", where, shape_str(l.input_shape)));
  IntDense d;
  d.name = l.name;
  d.n_in = l.input_shape[0];
  d.n_out = l.units;
  d.input = input;
  d.weight = need_fixed(l.precision.weight, l, "weight");
  d.accum = need_fixed(l.precision.accum, l, "accum");
  d.result = need_fixed(l.precision.result, l, "result");
  // Without a bias the bias constants are all 0: a float bias precision does not matter.
  d.bias = l.use_bias || l.precision.bias ? need_fixed(l.precision.bias, l, "bias") : d.accum;
  if (reuse_factor < 1)
    throw Error(fmt::format("{}: reuse factor {} must be >= 1", where, reuse_factor));
  d.reuse_factor = reuse_factor;

  if (d.weight.width + d.input.width > kMaxExactBits)
    throw Error(fmt::format(
        "{}: products of {} weights and {} inputs need {} bits; the integer model holds at "
        "most {}",
        where, d.weight.str(), d.input.str(), d.weight.width + d.input.width, kMaxExactBits));
  if (d.accum.width + 1 > kMaxExactBits)
    throw Error(
        fmt::format("{}: sums in the accumulator {} need {} bits; the integer model "
                    "holds at most {}",
                    where, d.accum.str(), d.accum.width + 1, kMaxExactBits));

  const Tensor& kernel = l.weight("kernel");
  if (kernel.shape != Shape{d.n_in, d.n_out})
    throw Error(fmt::format("{}: kernel of shape {}, expected {}", where, shape_str(kernel.shape),
                            shape_str({d.n_in, d.n_out})));
  const FixedType wq = saturating(d.weight);
  d.w.assign(kernel.data.size(), 0);
  for (size_t j = 0; j < kernel.data.size(); ++j) {
    if (!l.mask.empty() && l.mask.data[j] == 0.0f) continue;  // pruned: 0
    const float v = l.mask.empty() ? kernel.data[j] : kernel.data[j] * l.mask.data[j];
    try {
      d.w[j] = wq.quantize_raw(static_cast<double>(v));
    } catch (const Error& e) {
      throw Error(fmt::format("{}: kernel value {}: {}", where, j, e.what()));
    }
  }
  d.b.assign(static_cast<size_t>(d.n_out), 0);
  if (l.use_bias) {
    const Tensor& bias = l.weight("bias");
    if (bias.numel() != d.n_out)
      throw Error(fmt::format("{}: bias of {} values, expected {}", where, bias.numel(), d.n_out));
    const FixedType bq = saturating(d.bias);
    for (int64_t o = 0; o < d.n_out; ++o) {
      try {
        d.b[o] = bq.quantize_raw(static_cast<double>(bias.data[o]));
      } catch (const Error& e) {
        throw Error(fmt::format("{}: bias value {}: {}", where, o, e.what()));
      }
    }
  }
  return d;
}

// One Dense layer (+ ReLU) on raw inputs at d.input.
void run_dense(const IntDense& d, const std::vector<int64_t>& x, std::vector<int64_t>& y) {
  const int fx = d.input.frac_bits(), fw = d.weight.frac_bits(), fb = d.bias.frac_bits();
  const int fp = fw + fx, facc = d.accum.frac_bits();
  std::vector<int64_t> acc(static_cast<size_t>(d.n_out));
  for (int64_t o = 0; o < d.n_out; ++o) acc[o] = d.accum.requantize(d.b[o], fb);
  // acc[o] += w(i, o) * x(i), every product and every sum cast to the accumulator type.
  auto add = [&](int64_t i, int64_t o) {
    const int64_t p = d.accum.requantize(d.w[i * d.n_out + o] * x[i], fp);
    acc[o] = d.accum.requantize(acc[o] + p, facc);
  };
  const int64_t n = d.n_in * d.n_out;
  if (d.reuse_factor <= 1) {
    for (int64_t o = 0; o < d.n_out; ++o)
      for (int64_t i = 0; i < d.n_in; ++i) add(i, o);
  } else {
    // hls4ml dense_resource: transposed kernel (n_out, n_in), weight t = ir + m * RF is the
    // m-th multiplier's operand in cycle ir.
    const int64_t rf = d.reuse_factor, bf = (n + rf - 1) / rf;
    for (int64_t ir = 0; ir < rf; ++ir)
      for (int64_t m = 0; m < bf; ++m) {
        const int64_t t = ir + m * rf;
        if (t >= n) break;
        add(t % d.n_in, t / d.n_in);
      }
  }
  y.resize(static_cast<size_t>(d.n_out));
  for (int64_t o = 0; o < d.n_out; ++o) {
    y[o] = d.result.requantize(acc[o], facc);
    if (d.relu) y[o] = d.relu_result.requantize(std::max<int64_t>(y[o], 0), d.result.frac_bits());
  }
}

}  // namespace

FixedType IntNetwork::output_type() const {
  if (layers.empty()) throw Error("integer model: no layers");
  const IntDense& last = layers.back();
  return last.relu ? last.relu_result : last.result;
}

std::vector<int64_t> IntNetwork::quantize_input(const float* x) const {
  if (layers.empty()) throw Error(fmt::format("integer model '{}': no layers", name));
  std::vector<int64_t> raw(static_cast<size_t>(n_in()));
  for (int64_t k = 0; k < n_in(); ++k) {
    if (!std::isfinite(x[k]))
      throw Error(fmt::format("integer model '{}': input {} is {}", name, k, x[k]));
    raw[k] = input.quantize_raw(static_cast<double>(x[k]));
  }
  return raw;
}

std::vector<int64_t> IntNetwork::run(const std::vector<int64_t>& input_raw,
                                     std::vector<std::vector<int64_t>>* trace) const {
  if (layers.empty()) throw Error(fmt::format("integer model '{}': no layers", name));
  if (static_cast<int64_t>(input_raw.size()) != n_in())
    throw Error(
        fmt::format("integer model '{}': {} inputs, expected {}", name, input_raw.size(), n_in()));
  for (size_t k = 0; k < input_raw.size(); ++k)
    if (input_raw[k] < input.raw_min() || input_raw[k] > input.raw_max())
      throw Error(fmt::format("integer model '{}': raw input {} = {} is outside {}", name, k,
                              input_raw[k], input.str()));
  if (trace) trace->clear();
  std::vector<int64_t> cur = input_raw, next;
  for (const IntDense& d : layers) {
    run_dense(d, cur, next);
    cur.swap(next);
    if (trace) trace->push_back(cur);
  }
  return cur;
}

Tensor IntNetwork::forward(const Tensor& x) const {
  if (layers.empty()) throw Error(fmt::format("integer model '{}': no layers", name));
  if (x.rank() != 2 || x.shape[1] != n_in())
    throw Error(fmt::format("integer model '{}': input of shape {}, expected (n, {})", name,
                            shape_str(x.shape), n_in()));
  const int64_t n = x.shape[0], n_o = n_out();
  const FixedType out = output_type();
  Tensor y({n, n_o});
  for (int64_t s = 0; s < n; ++s) {
    const auto raw = run(quantize_input(&x.data[s * n_in()]));
    for (int64_t o = 0; o < n_o; ++o) y.data[s * n_o + o] = static_cast<float>(out.to_real(raw[o]));
  }
  return y;
}

IntNetwork make_int_network(const Model& model_in, const std::vector<int64_t>& reuse_factors) {
  const Model model = fold_batchnorm(model_in);  // also infers shapes
  IntNetwork net;
  net.name = model.name;
  if (model.input_precision) net.input = *model.input_precision;

  // Reported while walking the layers, so an unsupported layer is named before a count
  // mismatch that it causes.
  auto reuse_factor_count_error = [&] {
    const auto n_dense = std::count_if(model.layers.begin(), model.layers.end(),
                                       [](const Layer& l) { return l.kind == LayerKind::Dense; });
    return Error(fmt::format("integer model '{}': {} reuse factors for {} Dense layers", model.name,
                             reuse_factors.size(), n_dense));
  };

  // The type of the values flowing between layers; an activation can only follow a Dense.
  FixedType cur = net.input;
  bool after_dense = false;  // the last value-producing layer was a Dense (no ReLU yet)
  for (size_t k = 0; k < model.layers.size(); ++k) {
    const Layer& l = model.layers[k];
    const std::string where = layer_where(l);
    switch (l.kind) {
      case LayerKind::Dense: {
        if (!model.input_precision)
          throw Error(
              fmt::format("integer model '{}': the model's input precision is float; "
                          "the integer model needs fixed point",
                          model.name));
        if (!reuse_factors.empty() && net.layers.size() >= reuse_factors.size())
          throw reuse_factor_count_error();
        const int64_t rf = reuse_factors.empty() ? 1 : reuse_factors[net.layers.size()];
        net.layers.push_back(make_dense(l, cur, rf));
        cur = net.layers.back().result;
        after_dense = true;
        break;
      }
      case LayerKind::Activation:
        switch (l.activation) {
          case ActivationKind::ReLU:
          case ActivationKind::QuantizedReLU: {
            if (!after_dense)
              throw Error(
                  fmt::format("{}: a ReLU must directly follow a Dense layer (Dropout "
                              "and identity layers in between are fine)",
                              where));
            IntDense& d = net.layers.back();
            d.relu = true;
            d.relu_result = need_fixed(l.precision.result, l, "result");
            cur = d.relu_result;
            after_dense = false;
            break;
          }
          case ActivationKind::Linear:
            // A cast to the result precision (none if float). Only the identity cast is
            // representable: a cast to another grid would need its own stage.
            if (l.precision.result && model.input_precision && !same_grid(cur, *l.precision.result))
              throw Error(
                  fmt::format("{}: linear activation casting {} to {} is not supported "
                              "by the integer model (give it the same precision or float)",
                              where, cur.str(), l.precision.result->str()));
            break;
          case ActivationKind::Softmax:
            if (k + 1 != model.layers.size())
              throw Error(fmt::format("{}: a Softmax is only supported as the last layer", where));
            break;  // dropped: the integer model ends with the logits
        }
        break;
      case LayerKind::Dropout:
        break;
      case LayerKind::Flatten:
        if (l.input_shape.size() != 1)
          throw Error(fmt::format("{}: only a Flatten of a vector is supported, input is {}", where,
                                  shape_str(l.input_shape)));
        break;
      case LayerKind::BatchNorm:
        throw Error(
            fmt::format("{}: only a BatchNormalization directly after a Dense (folded) is "
                        "supported",
                        where));
      default:
        throw Error(
            fmt::format("{}: not supported by the integer model and the Verilog generator "
                        "(Dense, ReLU, Dropout, Flatten and a final Softmax only)",
                        where));
    }
  }
  if (net.layers.empty())
    throw Error(fmt::format("integer model '{}': the model has no Dense layer", model.name));
  if (!reuse_factors.empty() && reuse_factors.size() != net.layers.size())
    throw reuse_factor_count_error();
  return net;
}

}  // namespace hwprune
