// The bit-exact integer model of a quantized network (see int_model.hpp and
// docs/model-semantics.md, "The integer model").
#include "hwprune/ir/int_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

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
      // A weight at its own width (Layer::widths) lies on a coarser grid of the same type.
      const double x = l.widths.empty()
                           ? static_cast<double>(v)
                           : kernel_weight_type(l, j)->quantize(static_cast<double>(v));
      d.w[j] = wq.quantize_raw(x);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: kernel value {}: {}", where, j, e.what()));
    }
  }
  if (!l.widths.empty()) {
    d.bits.resize(d.w.size());
    for (size_t j = 0; j < d.bits.size(); ++j) d.bits[j] = kernel_weight_bits(l, j);
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
  // acc[o] += w(i, o) * x(i), every product and every sum cast to the accumulator type. A
  // zero product changes nothing (its cast is 0, and acc is already of the accumulator type),
  // so pruned weights and zero inputs are skipped.
  auto add = [&](int64_t i, int64_t o) {
    const int64_t w = d.w[i * d.n_out + o];
    if (w == 0 || x[i] == 0) return;
    const int64_t p = d.accum.requantize(w * x[i], fp);
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

// ---- Convolution and pooling geometry -------------------------------------------------

// Raw value at spatial position `pos` (rank 1 or 2) and channel c of a channels-last map;
// positions outside the map are the zero padding.
int64_t at(const std::vector<int64_t>& x, const std::vector<int64_t>& shape,
           const std::vector<int64_t>& pos, int64_t c) {
  int64_t flat = 0;
  for (size_t d = 0; d < pos.size(); ++d) {
    if (pos[d] < 0 || pos[d] >= shape[d]) return 0;
    flat = flat * shape[d] + pos[d];
  }
  return x[static_cast<size_t>(flat * shape.back() + c)];
}

// Every output position of a window operation (rank 1 or 2), in row-major order.
template <typename F>
void for_each_position(const std::vector<int64_t>& out_shape, size_t rank, F&& f) {
  std::vector<int64_t> p(rank, 0);
  const int64_t h = out_shape[0], w = rank == 2 ? out_shape[1] : 1;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      p[0] = i;
      if (rank == 2) p[1] = j;
      f(p);
    }
}

void run_conv(const IntConv& c, const std::vector<int64_t>& x, std::vector<int64_t>& y) {
  const size_t rank = c.kernel.size();
  const int64_t ch = c.in_shape.back(), f = c.core.n_out;
  const int64_t kh = c.kernel[0], kw = rank == 2 ? c.kernel[1] : 1;
  std::vector<int64_t> patch(static_cast<size_t>(c.core.n_in)), out, pos(rank);
  y.assign(static_cast<size_t>(std::accumulate(c.out_shape.begin(), c.out_shape.end(), int64_t{1},
                                               std::multiplies<>())),
           0);
  int64_t o = 0;
  for_each_position(c.out_shape, rank, [&](const std::vector<int64_t>& p) {
    size_t k = 0;
    for (int64_t a = 0; a < kh; ++a)
      for (int64_t b = 0; b < kw; ++b) {
        pos[0] = p[0] * c.strides[0] - c.pad_begin[0] + a;
        if (rank == 2) pos[1] = p[1] * c.strides[1] - c.pad_begin[1] + b;
        for (int64_t q = 0; q < ch; ++q) patch[k++] = at(x, c.in_shape, pos, q);
      }
    run_dense(c.core, patch, out);
    std::copy(out.begin(), out.end(), y.begin() + o * f);
    ++o;
  });
}

void run_pool(const IntPool& pl, const std::vector<int64_t>& x, std::vector<int64_t>& y) {
  const size_t rank = pl.pool.size();
  const int64_t ch = pl.in_shape.back();
  const int64_t ph = pl.pool[0], pw = rank == 2 ? pl.pool[1] : 1;
  const bool average = pl.op == IntPool::Op::Average;
  // Average: inputs moved onto the accumulator's grid (e more fractional bits).
  const int64_t scale = average ? int64_t{1} << (pl.accum.frac_bits() - pl.type.frac_bits()) : 1;
  std::vector<int64_t> pos(rank);
  auto inside = [&] {
    for (size_t d = 0; d < rank; ++d)
      if (pos[d] < 0 || pos[d] >= pl.in_shape[d]) return false;
    return true;
  };
  y.clear();
  for_each_position(pl.out_shape, rank, [&](const std::vector<int64_t>& p) {
    for (int64_t q = 0; q < ch; ++q) {
      int64_t m = std::numeric_limits<int64_t>::min(), sum = 0, n = 0;
      for (int64_t a = 0; a < ph; ++a)
        for (int64_t b = 0; b < pw; ++b) {
          pos[0] = p[0] * pl.strides[0] - pl.pad_begin[0] + a;
          if (rank == 2) pos[1] = p[1] * pl.strides[1] - pl.pad_begin[1] + b;
          if (!inside()) continue;  // "same" padding: neither a value nor counted
          const int64_t v = at(x, pl.in_shape, pos, q);
          if (average) {
            sum += v * scale;
            ++n;
          } else {
            m = std::max(m, v);
          }
        }
      // C++'s `/` truncates towards zero, as ap_fixed's division by an integer does.
      y.push_back(average ? pl.result.requantize(sum / n, pl.accum.frac_bits()) : m);
    }
  });
}

// ---- Activations (hls4ml nnet_activation.h) --------------------------------------------

// Raw value raw * 2^-frac multiplied by 2^scale_log2 and converted to int the way an
// ap_fixed expression converts (truncation towards zero, then the low 32 bits).
int32_t to_int_scaled(int64_t raw, int frac, int scale_log2) {
  const int s = scale_log2 - frac;
  int64_t v = 0;
  if (s >= 0)
    v = s >= 62 ? 0 : static_cast<int64_t>(static_cast<uint64_t>(raw) << s);
  else
    v = -s >= 63 ? 0 : raw / (int64_t{1} << -s);  // C division: towards zero
  const auto low = static_cast<uint32_t>(static_cast<uint64_t>(v));
  int32_t r;
  std::memcpy(&r, &low, sizeof r);
  return r;
}

int64_t clamp_index(int64_t index, bool lower) {
  if (lower && index < 0) return 0;
  return std::min<int64_t>(index, kActivationTableSize - 1);
}

// hls4ml's table initialisers, computed with the same float/double expressions so the
// entries are the same floats before the cast to the table type.
float table_value(ActivationKind kind, int64_t ii) {
  const auto n = static_cast<float>(kActivationTableSize);
  switch (kind) {
    case ActivationKind::Sigmoid: {
      const auto in = static_cast<float>(2 * 8.0 * (static_cast<double>(ii) - n / 2.0) / n);
      const float d = 1 + std::exp(-in);
      return static_cast<float>(1.0 / d);
    }
    case ActivationKind::Tanh: {
      const auto in = static_cast<float>(2 * 4.0 * (static_cast<double>(ii) - n / 2.0) / n);
      return static_cast<float>(std::tanh(static_cast<double>(in)));
    }
    case ActivationKind::ELU: {
      const auto in = static_cast<float>(-8.0 * static_cast<double>(ii) / n);
      return static_cast<float>(static_cast<double>(std::exp(in)) - 1.);
    }
    case ActivationKind::SELU: {
      const auto in = static_cast<float>(-8.0 * static_cast<double>(ii) / n);
      return static_cast<float>(
          1.0507009873554804934193349852946 *
          (1.6732632423543772848170429916717 * (static_cast<double>(std::exp(in)) - 1.)));
    }
    default:
      return 0.0f;
  }
}

void run_activation(const IntActivation& a, const std::vector<int64_t>& x,
                    std::vector<int64_t>& y) {
  const int fx = a.input.frac_bits(), ft = a.table_type.frac_bits(), fp = a.param.frac_bits();
  y.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t v = x[i];
    int64_t r = 0;
    switch (a.kind) {
      case ActivationKind::Linear:
        r = a.result.requantize(v, fx);
        break;
      case ActivationKind::ReLU:
      case ActivationKind::QuantizedReLU:
        r = a.result.requantize(std::max<int64_t>(v, 0), fx);
        break;
      case ActivationKind::Sigmoid:
      case ActivationKind::Tanh: {
        // sigmoid: index = int(x * 1024 / 16) + 512; tanh: int(x * 1024 / 8) + 512.
        const int scale = a.kind == ActivationKind::Sigmoid ? 6 : 7;
        const int64_t index =
            clamp_index(int64_t{to_int_scaled(v, fx, scale)} + kActivationTableSize / 2, true);
        r = a.result.requantize(a.table[static_cast<size_t>(index)], ft);
        break;
      }
      case ActivationKind::ELU:
      case ActivationKind::SELU: {
        if (v >= 0) {
          r = a.kind == ActivationKind::ELU ? a.result.requantize(v, fx)
                                            : a.result.requantize(a.param_raw * v, fp + fx);
          break;
        }
        // index = int(x * 1024 / -8), clamped (ELU only from above).
        const int64_t index =
            clamp_index(-int64_t{to_int_scaled(v, fx, 7)}, a.kind == ActivationKind::SELU);
        const int64_t t = a.table[static_cast<size_t>(index)];
        r = a.kind == ActivationKind::ELU ? a.result.requantize(a.param_raw * t, fp + ft)
                                          : a.result.requantize(t, ft);
        break;
      }
      case ActivationKind::LeakyReLU:
        r = v > 0 ? a.result.requantize(v, fx) : a.result.requantize(a.param_raw * v, fp + fx);
        break;
      case ActivationKind::HardSigmoid: {
        // slope * x + shift at frac fp + fx, clipped to [0, 1].
        const int f = fp + fx;
        const int64_t one = int64_t{1} << f;
        int64_t s = a.param_raw * v + (a.shift_raw << (f - a.shift.frac_bits()));
        s = std::clamp<int64_t>(s, 0, one);
        r = a.result.requantize(s, f);
        break;
      }
      case ActivationKind::Softmax:
        throw Error(fmt::format("integer model: layer '{}': softmax is not element-wise", a.name));
    }
    y[i] = r;
  }
}

void check_product_bits(const Layer& l, const FixedType& a, const FixedType& b, const char* what) {
  if (a.width + b.width > kMaxExactBits)
    throw Error(fmt::format("{}: {} of {} and {} need {} bits; the integer model holds at most {}",
                            layer_where(l), what, a.str(), b.str(), a.width + b.width,
                            kMaxExactBits));
}

IntActivation make_activation(const Layer& l, const FixedType& input, int64_t size) {
  IntActivation a;
  a.name = l.name;
  a.kind = l.activation;
  a.size = size;
  a.input = input;
  a.result = need_fixed(l.precision.result, l, "result");
  a.table_type = activation_table_type();
  switch (l.activation) {
    case ActivationKind::Sigmoid:
    case ActivationKind::Tanh:
    case ActivationKind::ELU:
    case ActivationKind::SELU:
      a.table.resize(static_cast<size_t>(kActivationTableSize));
      for (int64_t ii = 0; ii < kActivationTableSize; ++ii)
        a.table[static_cast<size_t>(ii)] =
            a.table_type.quantize_raw(static_cast<double>(table_value(l.activation, ii)));
      break;
    default:
      break;
  }
  switch (l.activation) {
    case ActivationKind::LeakyReLU:
    case ActivationKind::ELU:
      a.param = activation_param_type(l);
      a.param_raw = a.param.quantize_raw(l.alpha);
      check_product_bits(l, a.param, l.activation == ActivationKind::ELU ? a.table_type : input,
                         "products");
      break;
    case ActivationKind::SELU:
      a.param = FixedType::make(16, 1, false);  // hls4ml's selu_const_t lambda
      a.param_raw = a.param.quantize_raw(1.0507009873554805);
      check_product_bits(l, a.param, input, "products");
      break;
    case ActivationKind::HardSigmoid:
      // hls4ml's slope_t and shift_t: ap_ufixed<16,0> and ap_ufixed<2,0>.
      a.param = FixedType::make(16, 0, false);
      a.shift = FixedType::make(2, 0, false);
      if (!(l.alpha >= 0 && l.alpha < 1) || !(l.beta >= 0 && l.beta < 1))
        throw Error(fmt::format(
            "{}: hard_sigmoid slope {} and offset {} must be in [0, 1) (hls4ml holds them in "
            "{} and {})",
            layer_where(l), l.alpha, l.beta, a.param.str(), a.shift.str()));
      a.param_raw = a.param.quantize_raw(l.alpha);
      a.shift_raw = a.shift.quantize_raw(l.beta);
      check_product_bits(l, a.param, input, "products");
      break;
    default:
      break;
  }
  return a;
}

std::vector<int64_t> window_out(const Layer& l, const std::vector<int64_t>& in,
                                const std::vector<int64_t>& window,
                                const std::vector<int64_t>& strides,
                                std::vector<int64_t>* pad_begin) {
  std::vector<int64_t> out;
  for (size_t d = 0; d < window.size(); ++d) {
    if (l.padding == Padding::Same) {
      const int64_t o = (in[d] + strides[d] - 1) / strides[d];
      const int64_t total = std::max<int64_t>((o - 1) * strides[d] + window[d] - in[d], 0);
      out.push_back(o);
      if (pad_begin) pad_begin->push_back(total / 2);
    } else {
      out.push_back((in[d] - window[d]) / strides[d] + 1);
      if (pad_begin) pad_begin->push_back(0);
    }
  }
  return out;
}

IntConv make_conv(const Layer& l, const FixedType& input, int64_t reuse_factor) {
  IntConv c;
  c.in_shape = l.input_shape;
  c.kernel = l.kernel_size;
  c.strides = l.strides.empty() ? std::vector<int64_t>(c.kernel.size(), 1) : l.strides;
  const std::vector<int64_t> spatial(c.in_shape.begin(), c.in_shape.end() - 1);
  c.out_shape = window_out(l, spatial, c.kernel, c.strides, &c.pad_begin);
  c.out_shape.push_back(l.filters);
  if (c.out_shape != l.output_shape)
    throw Error(fmt::format("{}: output shape {} differs from the model's {}", layer_where(l),
                            shape_str(c.out_shape), shape_str(l.output_shape)));
  Layer flat = l;  // the Dense on one receptive field
  const int64_t patch =
      std::accumulate(c.kernel.begin(), c.kernel.end(), c.in_shape.back(), std::multiplies<>());
  flat.input_shape = {patch};
  flat.units = l.filters;
  flat.weight("kernel").shape = {patch, l.filters};
  if (!flat.mask.empty()) flat.mask.shape = {patch, l.filters};
  if (!flat.widths.empty()) flat.widths.shape = {patch, l.filters};
  c.core = make_dense(flat, input, reuse_factor);
  return c;
}

IntPool make_pool(const Layer& l, const FixedType& input) {
  const bool average = l.kind == LayerKind::AvgPool1D || l.kind == LayerKind::AvgPool2D;
  if (!average && l.padding != Padding::Valid)
    throw Error(
        fmt::format("{}: max pooling with '{}' padding is not in the integer model (valid only)",
                    layer_where(l), to_string(l.padding)));
  IntPool p;
  p.name = l.name;
  p.in_shape = l.input_shape;
  p.pool = l.pool_size;
  p.strides = l.strides.empty() ? p.pool : l.strides;
  const std::vector<int64_t> spatial(p.in_shape.begin(), p.in_shape.end() - 1);
  p.out_shape = window_out(l, spatial, p.pool, p.strides, &p.pad_begin);
  p.out_shape.push_back(p.in_shape.back());
  if (p.out_shape != l.output_shape)
    throw Error(fmt::format("{}: output shape {} differs from the model's {}", layer_where(l),
                            shape_str(p.out_shape), shape_str(l.output_shape)));
  p.type = input;
  if (!average) return p;
  p.op = IntPool::Op::Average;
  const int64_t window =
      std::accumulate(p.pool.begin(), p.pool.end(), int64_t{1}, std::multiplies<>());
  try {
    p.accum = average_pool_accum_type(input, window);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: the sum of {} values of {}: {}", layer_where(l), window,
                            input.str(), e.what()));
  }
  if (p.accum.width > kMaxExactBits)
    throw Error(
        fmt::format("{}: sums in the accumulator {} need {} bits; the integer model holds "
                    "at most {}",
                    layer_where(l), p.accum.str(), p.accum.width, kMaxExactBits));
  p.result = need_fixed(l.precision.result, l, "result");
  return p;
}

struct OutputType {
  FixedType operator()(const IntDense& d) const { return d.output_type(); }
  FixedType operator()(const IntConv& c) const { return c.core.output_type(); }
  FixedType operator()(const IntPool& p) const { return p.output_type(); }
  FixedType operator()(const IntActivation& a) const { return a.result; }
};

}  // namespace

std::string_view int_layer_name(const IntLayer& l) {
  return std::visit(
      [](const auto& x) -> std::string_view {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, IntConv>)
          return x.core.name;
        else
          return x.name;
      },
      l);
}

FixedType activation_table_type() {
  return FixedType::make(18, 8);
}

FixedType activation_param_type(const Layer& l) {
  int integer = 2;
  while (integer < 18 && std::abs(l.alpha) >= std::ldexp(1.0, integer - 1)) ++integer;
  return FixedType::make(18, integer);
}

FixedType average_pool_accum_type(const FixedType& input, int64_t window) {
  int e = 0;
  while (e < 62 && (int64_t{1} << e) < window) ++e;
  return FixedType::make(input.width + 2 * e, input.integer + e, input.is_signed);
}

int64_t IntNetwork::n_in() const {
  return std::accumulate(input_shape.begin(), input_shape.end(), int64_t{1}, std::multiplies<>());
}

int64_t IntNetwork::n_out() const {
  if (layers.empty()) throw Error(fmt::format("integer model '{}': no layers", name));
  return std::visit(
      [](const auto& x) -> int64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, IntDense>)
          return x.n_out;
        else if constexpr (std::is_same_v<T, IntActivation>)
          return x.size;
        else
          return std::accumulate(x.out_shape.begin(), x.out_shape.end(), int64_t{1},
                                 std::multiplies<>());
      },
      layers.back());
}

FixedType IntNetwork::output_type() const {
  if (layers.empty()) throw Error(fmt::format("integer model '{}': no layers", name));
  return std::visit(OutputType{}, layers.back());
}

const IntDense& IntNetwork::dense(size_t k) const {
  const IntDense* d = std::get_if<IntDense>(&layers.at(k));
  if (!d)
    throw Error(fmt::format("integer model '{}': layer '{}' is not a Dense layer", name,
                            int_layer_name(layers.at(k))));
  return *d;
}

IntDense& IntNetwork::dense(size_t k) {
  return const_cast<IntDense&>(static_cast<const IntNetwork*>(this)->dense(k));
}

bool IntNetwork::all_dense() const {
  return std::all_of(layers.begin(), layers.end(),
                     [](const IntLayer& l) { return std::holds_alternative<IntDense>(l); });
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
  for (const IntLayer& l : layers) {
    if (const auto* d = std::get_if<IntDense>(&l))
      run_dense(*d, cur, next);
    else if (const auto* c = std::get_if<IntConv>(&l))
      run_conv(*c, cur, next);
    else if (const auto* p = std::get_if<IntPool>(&l))
      run_pool(*p, cur, next);
    else
      run_activation(std::get<IntActivation>(l), cur, next);
    cur.swap(next);
    if (trace) trace->push_back(cur);
  }
  return cur;
}

Tensor IntNetwork::forward(const Tensor& x) const {
  if (layers.empty()) throw Error(fmt::format("integer model '{}': no layers", name));
  const int64_t n = x.shape.empty() ? 0 : x.shape[0];
  if (x.rank() < 2 || x.numel() != n * n_in())
    throw Error(fmt::format("integer model '{}': input of shape {}, expected (n, {})", name,
                            shape_str(x.shape), shape_str(input_shape)));
  const int64_t n_o = n_out();
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
  net.input_shape = model.input_shape;

  size_t kernels = 0;  // Dense/Conv layers so far
  auto reuse_factor_count_error = [&] {
    const auto n = std::count_if(model.layers.begin(), model.layers.end(),
                                 [](const Layer& l) { return l.has_kernel(); });
    return Error(fmt::format("integer model '{}': {} reuse factors for {} Dense/Conv layers",
                             model.name, reuse_factors.size(), n));
  };

  // The type of the values flowing between layers.
  FixedType cur = net.input;
  bool fusable = false;  // the last layer is a Dense/Conv without a ReLU yet
  for (size_t k = 0; k < model.layers.size(); ++k) {
    const Layer& l = model.layers[k];
    const std::string where = layer_where(l);
    if (!model.input_precision && l.kind != LayerKind::Dropout && l.kind != LayerKind::Flatten)
      throw Error(fmt::format(
          "integer model '{}': the model's input precision is float; the integer model needs "
          "fixed point",
          model.name));
    const int64_t size = shape_numel(l.input_shape);
    switch (l.kind) {
      case LayerKind::Dense:
      case LayerKind::Conv1D:
      case LayerKind::Conv2D: {
        if (!reuse_factors.empty() && kernels >= reuse_factors.size())
          throw reuse_factor_count_error();
        const int64_t rf = reuse_factors.empty() ? 1 : reuse_factors[kernels];
        ++kernels;
        if (l.kind == LayerKind::Dense)
          net.layers.push_back(make_dense(l, cur, rf));
        else
          net.layers.push_back(make_conv(l, cur, rf));
        cur = net.output_type();
        fusable = true;
        break;
      }
      case LayerKind::Activation: {
        const ActivationKind a = l.activation;
        if (a == ActivationKind::Softmax) {
          if (k + 1 != model.layers.size())
            throw Error(fmt::format("{}: a Softmax is only supported as the last layer", where));
          break;  // dropped: the integer model ends with the logits
        }
        if ((a == ActivationKind::ReLU || a == ActivationKind::QuantizedReLU) && fusable) {
          IntLayer& last = net.layers.back();
          IntDense& d = std::holds_alternative<IntConv>(last) ? std::get<IntConv>(last).core
                                                              : std::get<IntDense>(last);
          d.relu = true;
          d.relu_result = need_fixed(l.precision.result, l, "result");
          cur = d.relu_result;
          fusable = false;
          break;
        }
        // A linear activation to float or to its input's grid is the identity.
        if (a == ActivationKind::Linear &&
            (!l.precision.result || same_grid(cur, *l.precision.result)))
          break;
        net.layers.push_back(make_activation(l, cur, size));
        cur = net.output_type();
        fusable = false;
        break;
      }
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D:
        net.layers.push_back(make_pool(l, cur));
        cur = net.output_type();
        fusable = false;
        break;
      case LayerKind::Dropout:
      case LayerKind::Flatten:
        break;  // channels-last values are already in Flatten's order
      case LayerKind::BatchNorm:
        throw Error(fmt::format(
            "{}: only a BatchNormalization directly after a Dense or Conv (folded) is supported",
            where));
    }
  }
  if (net.layers.empty())
    throw Error(fmt::format("integer model '{}': the model has no layer to compute", model.name));
  if (!reuse_factors.empty() && reuse_factors.size() != kernels) throw reuse_factor_count_error();
  return net;
}

}  // namespace hwprune
