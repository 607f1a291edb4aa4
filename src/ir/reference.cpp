// Plain C++ inference on the IR (no torch) and BatchNorm folding.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "hwprune/ir/model.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune {

namespace {

// A sample of rank 2 (L, C) is handled as (1, L, C); rank 3 is (H, W, C).
struct Spatial {
  int64_t h, w, c;
};

Spatial spatial(const Shape& s) {
  if (s.size() == 2) return {1, s[0], s[1]};
  return {s.at(0), s.at(1), s.at(2)};
}

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;  // ph/pw: padding before
};

int64_t pad_before(int64_t in, int64_t out, int64_t k, int64_t s, Padding p) {
  if (p == Padding::Valid) return 0;
  return std::max<int64_t>((out - 1) * s + k - in, 0) / 2;
}

Window window_of(const Layer& l) {
  const auto& size = l.is_conv() ? l.kernel_size : l.pool_size;
  const Spatial in = spatial(l.input_shape), out = spatial(l.output_shape);
  Window w;
  if (size.size() == 2) {
    w.kh = size[0];
    w.sh = l.strides[0];
    w.ph = pad_before(in.h, out.h, w.kh, w.sh, l.padding);
  }
  w.kw = size.back();
  w.sw = l.strides.back();
  w.pw = pad_before(in.w, out.w, w.kw, w.sw, l.padding);
  return w;
}

// Calls tap(ih, iw, kh, kw) for every window position of output (oh, ow) that lies inside
// the input (padding positions are skipped).
template <typename Tap>
void for_each_tap(const Window& w, const Spatial& in, int64_t oh, int64_t ow, Tap&& tap) {
  for (int64_t kh = 0; kh < w.kh; ++kh) {
    const int64_t ih = oh * w.sh - w.ph + kh;
    if (ih < 0 || ih >= in.h) continue;
    for (int64_t kw = 0; kw < w.kw; ++kw) {
      const int64_t iw = ow * w.sw - w.pw + kw;
      if (iw >= 0 && iw < in.w) tap(ih, iw, kh, kw);
    }
  }
}

void quantize_all(std::vector<float>& v, const Precision& p) {
  if (!p) return;
  const FloatQuantizer q(*p);
  for (float& x : v) x = q(x);
}

// A quantization point of the inference: quantizes to the exact type and, when asked,
// counts the values that wrapped (saturation would have given another value).
void quantize_point(std::vector<float>& v, const Precision& p, const std::string& where,
                    std::vector<Overflow>* overflows) {
  if (!p) return;
  const bool count = overflows && p->overflow == OverflowMode::WRAP;
  if (!count) return quantize_all(v, p);
  const FloatQuantizer q(*p);
  int64_t wrapped = 0;
  double max_abs = 0;
  for (float& x : v) {
    bool w = false;
    max_abs = std::max(max_abs, std::abs(static_cast<double>(x)));
    x = q(x, &w);
    wrapped += w;
  }
  if (wrapped == 0) return;
  for (auto& o : *overflows)
    if (o.layer == where) {
      o.wrapped += wrapped;
      o.values += static_cast<int64_t>(v.size());
      o.max_abs = std::max(o.max_abs, max_abs);
      return;
    }
  overflows->push_back({where, wrapped, static_cast<int64_t>(v.size()), max_abs});
}

void dense(const Layer& l, const std::vector<float>& x, std::vector<float>& y, int64_t n,
           bool quantize) {
  const int64_t in = l.input_shape[0], out = l.units;
  const auto k = effective_kernel(l, quantize).data;
  const auto b = effective_bias(l, quantize).data;
  y.assign(static_cast<size_t>(n * out), 0.0f);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t o = 0; o < out; ++o) {
      float acc = 0.0f;
      for (int64_t i = 0; i < in; ++i) acc += x[s * in + i] * k[i * out + o];
      y[s * out + o] = acc + b[o];
    }
}

void conv(const Layer& l, const std::vector<float>& x, std::vector<float>& y, int64_t n,
          bool quantize) {
  const Spatial in = spatial(l.input_shape), out = spatial(l.output_shape);
  const Window w = window_of(l);
  const int64_t f = l.filters, c = in.c;
  const auto k = effective_kernel(l, quantize).data;  // (kh, kw, c, f)
  const auto b = effective_bias(l, quantize).data;
  y.assign(static_cast<size_t>(n * out.h * out.w * f), 0.0f);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t oh = 0; oh < out.h; ++oh)
      for (int64_t ow = 0; ow < out.w; ++ow) {
        float* yo = &y[((s * out.h + oh) * out.w + ow) * f];
        for_each_tap(w, in, oh, ow, [&](int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
          const float* xi = &x[((s * in.h + ih) * in.w + iw) * c];
          const float* kk = &k[(kh * w.kw + kw) * c * f];
          for (int64_t ci = 0; ci < c; ++ci)
            for (int64_t fo = 0; fo < f; ++fo) yo[fo] += xi[ci] * kk[ci * f + fo];
        });
        for (int64_t fo = 0; fo < f; ++fo) yo[fo] += b[fo];
      }
}

void pool(const Layer& l, const std::vector<float>& x, std::vector<float>& y, int64_t n) {
  const Spatial in = spatial(l.input_shape), out = spatial(l.output_shape);
  const Window w = window_of(l);
  const bool is_max = l.kind == LayerKind::MaxPool1D || l.kind == LayerKind::MaxPool2D;
  const int64_t c = in.c;
  y.assign(static_cast<size_t>(n * out.h * out.w * c), 0.0f);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t oh = 0; oh < out.h; ++oh)
      for (int64_t ow = 0; ow < out.w; ++ow)
        for (int64_t ci = 0; ci < c; ++ci) {
          float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
          int64_t count = 0;
          for_each_tap(w, in, oh, ow, [&](int64_t ih, int64_t iw, int64_t, int64_t) {
            const float v = x[((s * in.h + ih) * in.w + iw) * c + ci];
            acc = is_max ? std::max(acc, v) : acc + v;
            ++count;
          });
          y[((s * out.h + oh) * out.w + ow) * c + ci] =
              is_max ? acc : acc / static_cast<float>(count);
        }
}

// Per-channel scale and shift of a BatchNorm at inference.
void batchnorm_affine(const Layer& l, std::vector<float>& scale, std::vector<float>& shift) {
  const auto& g = l.weight("gamma").data;
  const auto& be = l.weight("beta").data;
  const auto& mu = l.weight("moving_mean").data;
  const auto& var = l.weight("moving_variance").data;
  scale.resize(g.size());
  shift.resize(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    const double s = static_cast<double>(g[i]) / std::sqrt(static_cast<double>(var[i]) + l.epsilon);
    scale[i] = static_cast<float>(s);
    shift[i] = static_cast<float>(static_cast<double>(be[i]) - static_cast<double>(mu[i]) * s);
  }
}

}  // namespace

int kernel_weight_bits(const Layer& l, size_t k) {
  const int full = l.precision.weight ? l.precision.weight->width : FixedType::kMaxWidth;
  return l.widths.empty() ? full : std::min(full, static_cast<int>(l.widths.data[k]));
}

Precision kernel_weight_type(const Layer& l, size_t k) {
  if (!l.precision.weight) return std::nullopt;
  const int bits = kernel_weight_bits(l, k);
  return saturating(bits < l.precision.weight->width ? at_width(*l.precision.weight, bits)
                                                     : *l.precision.weight);
}

Tensor effective_kernel(const Layer& l, bool quantize) {
  Tensor k = l.weight("kernel");
  if (!l.mask.empty())
    for (size_t i = 0; i < k.data.size(); ++i)
      if (l.mask.data[i] == 0.0f) k.data[i] = 0.0f;
  if (quantize && l.widths.empty()) quantize_all(k.data, saturating(l.precision.weight));
  if (quantize && !l.widths.empty())
    for (size_t i = 0; i < k.data.size(); ++i)
      k.data[i] =
          static_cast<float>(kernel_weight_type(l, i)->quantize(static_cast<double>(k.data[i])));
  return k;
}

Tensor effective_bias(const Layer& l, bool quantize) {
  Tensor b = l.use_bias ? l.weight("bias") : Tensor({l.is_conv() ? l.filters : l.units}, 0.0f);
  if (quantize) quantize_all(b.data, saturating(l.precision.bias));
  return b;
}

Model fold_batchnorm(const Model& model) {
  Model m = model;
  m.infer_shapes();
  std::vector<Layer> out;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    if (l.kind == LayerKind::BatchNorm && !out.empty() && out.back().has_kernel()) {
      Layer& prev = out.back();
      const auto& g = l.weight("gamma").data;
      const auto& be = l.weight("beta").data;
      const auto& mu = l.weight("moving_mean").data;
      const auto& var = l.weight("moving_variance").data;
      Tensor& k = prev.weight("kernel");
      const int64_t f = k.shape.back();
      Tensor bias({f});
      if (prev.use_bias) bias = prev.weight("bias");
      for (int64_t o = 0; o < f; ++o) {
        const double s =
            static_cast<double>(g[o]) / std::sqrt(static_cast<double>(var[o]) + l.epsilon);
        for (int64_t j = o; j < k.numel(); j += f)
          k.data[j] = static_cast<float>(static_cast<double>(k.data[j]) * s);
        bias.data[o] = static_cast<float>((static_cast<double>(bias.data[o]) - mu[o]) * s + be[o]);
      }
      prev.weights["bias"] = bias;
      prev.use_bias = true;
      prev.precision.result = l.precision.result;
      prev.output_shape = l.output_shape;
      continue;
    }
    out.push_back(std::move(l));
  }
  m.layers = std::move(out);
  m.infer_shapes();
  return m;
}

Tensor reference_forward(const Model& model_in, const Tensor& x, const ReferenceOptions& o) {
  const bool quantize = o.quantize;
  Model model = quantize ? fold_batchnorm(model_in) : model_in;
  model.infer_shapes();
  if (x.rank() < 1 || Shape(x.shape.begin() + 1, x.shape.end()) != model.input_shape)
    throw Error(
        fmt::format("reference_forward: input of shape {} does not match the model "
                    "input {} (plus a batch dimension)",
                    shape_str(x.shape), shape_str(model.input_shape)));
  size_t end = model.layers.size();
  if (o.logits && model.ends_in_softmax()) --end;
  std::vector<Overflow>* overflows = quantize ? o.overflows : nullptr;
  const int64_t n = x.shape[0];
  std::vector<float> cur = x.data, next;
  if (quantize) quantize_point(cur, model.input_precision, "input", overflows);
  for (size_t li = 0; li < end; ++li) {
    const Layer& l = model.layers[li];
    const Precision result = quantize ? l.precision.result : Precision{};
    const auto quantize_result = [&] { quantize_point(cur, result, l.name, overflows); };
    switch (l.kind) {
      case LayerKind::Dense:
        dense(l, cur, next, n, quantize);
        cur.swap(next);
        quantize_result();
        break;
      case LayerKind::Conv1D:
      case LayerKind::Conv2D:
        conv(l, cur, next, n, quantize);
        cur.swap(next);
        quantize_result();
        break;
      case LayerKind::BatchNorm: {
        std::vector<float> scale, shift;
        batchnorm_affine(l, scale, shift);
        if (quantize) {
          quantize_all(scale, saturating(l.precision.weight));
          quantize_all(shift, saturating(l.precision.bias));
        }
        const size_t c = scale.size();
        for (size_t i = 0; i < cur.size(); ++i) cur[i] = cur[i] * scale[i % c] + shift[i % c];
        quantize_result();
        break;
      }
      case LayerKind::Activation:
        if (l.activation == ActivationKind::Softmax) {
          const int64_t c = l.output_shape.back();
          for (size_t r = 0; r < cur.size(); r += static_cast<size_t>(c)) {
            float mx = *std::max_element(cur.begin() + r, cur.begin() + r + c);
            double sum = 0;
            for (int64_t j = 0; j < c; ++j) sum += std::exp(static_cast<double>(cur[r + j] - mx));
            for (int64_t j = 0; j < c; ++j)
              cur[r + j] = static_cast<float>(std::exp(static_cast<double>(cur[r + j] - mx)) / sum);
          }
          break;
        }
        // Element-wise: f(x) (apply_activation), then the result precision.
        if (l.activation == ActivationKind::ReLU || l.activation == ActivationKind::QuantizedReLU)
          for (float& v : cur) v = std::max(v, 0.0f);  // = activation_value, faster
        else if (l.activation != ActivationKind::Linear)
          for (float& v : cur) v = activation_value(l, v);
        quantize_result();
        break;
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D:
        pool(l, cur, next, n);
        cur.swap(next);
        quantize_result();
        break;
      case LayerKind::Flatten:
      case LayerKind::Dropout:
        break;
    }
  }
  Shape out_shape = end > 0 ? model.layers[end - 1].output_shape : model.input_shape;
  out_shape.insert(out_shape.begin(), n);
  return Tensor(out_shape, std::move(cur));
}

}  // namespace hwprune
