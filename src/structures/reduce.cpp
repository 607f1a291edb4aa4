// Zero-structure removal: physically drops Dense neurons / Conv filters whose outputs can never
// change the network's outputs under reference_forward (see reduce.hpp and docs/hardware-model.md).
//
// Whether a channel is "zero" is decided by mirroring reference_forward operation by operation
// on the single values involved, so the reduced model is bit-identical, not merely close:
//   quantized semantics  reference_forward(..., quantize = true): BatchNorms that directly
//                        follow a Dense/Conv layer are folded (fold_batchnorm), every weight is
//                        masked then quantized to its saturating precision, every result is
//                        quantized;
//   float semantics      reference_forward(..., quantize = false): nothing folded or quantized.
// A quantized model is judged under the quantized semantics; a float model under both (the
// folded and unfolded BatchNorm arithmetic differ in the last bit).
#include "hwprune/structures/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "hwprune/util/error.hpp"

namespace hwprune::structures {

namespace {

bool passes_through(const Layer& l) {
  switch (l.kind) {
    case LayerKind::BatchNorm:
    case LayerKind::Dropout:
    case LayerKind::Flatten:
    case LayerKind::MaxPool1D:
    case LayerKind::MaxPool2D:
    case LayerKind::AvgPool1D:
    case LayerKind::AvgPool2D:
      return true;
    case LayerKind::Activation:
      return l.activation != ActivationKind::Softmax;
    default:
      return false;
  }
}

// The Dense/Conv layer reading layer i's outputs through pass-through layers only.
std::optional<size_t> consumer_of(const Model& m, size_t i) {
  for (size_t j = i + 1; j < m.layers.size(); ++j) {
    if (m.layers[j].has_kernel()) return j;
    if (!passes_through(m.layers[j])) return std::nullopt;
  }
  return std::nullopt;
}

size_t index_of(const Model& m, const std::string& name) {
  for (size_t i = 0; i < m.layers.size(); ++i)
    if (m.layers[i].name == name) return i;
  throw Error("remove_zero_structures: layer '" + name + "' vanished");
}

int64_t out_channels(const Layer& l) {
  return l.weight("kernel").shape.back();
}

// Kernel layout (S spatial taps, C inputs, F outputs), flat index (s * C + c) * F + f.
struct KernelDims {
  int64_t s, c, f;
};
KernelDims kernel_dims(const Layer& l) {
  const Tensor& k = l.weight("kernel");
  const int64_t f = k.shape.back(), c = k.shape[k.shape.size() - 2];
  return {k.numel() / (c * f), c, f};
}

float q(const Precision& p, float v) {
  return p ? static_cast<float>(p->quantize(static_cast<double>(v))) : v;
}

// One kernel weight as reference_forward uses it: masked, then (quantized semantics)
// quantized to the saturating weight precision.
float effective_weight(const Layer& l, int64_t i, bool quantize) {
  float k = l.weight("kernel").data[static_cast<size_t>(i)];
  if (!l.mask.empty()) k *= l.mask.data[static_cast<size_t>(i)];
  if (quantize) k = q(kernel_weight_type(l, static_cast<size_t>(i)), k);
  return k;
}

// The consumer's kernel rows (index along its input axis) that read channel c of the layer
// feeding the chain: c itself, or p * C + c for every position p behind a Flatten.
std::vector<int64_t> consumer_rows(const Model& m, size_t layer, size_t consumer, int64_t c) {
  for (size_t j = layer + 1; j < consumer; ++j) {
    const Layer& l = m.layers[j];
    if (l.kind == LayerKind::Flatten && l.input_shape.size() > 1) {
      const int64_t channels = l.input_shape.back();
      const int64_t positions = shape_numel(l.input_shape) / channels;
      std::vector<int64_t> rows;
      for (int64_t p = 0; p < positions; ++p) rows.push_back(p * channels + c);
      return rows;
    }
  }
  return {c};
}

// One way of evaluating the network: the model as reference_forward sees it.
struct Semantics {
  const Model* model;
  bool quantize;
};

// (a): every weight of output channel c of layer li is zero and the constant it then
// outputs (its bias) is exactly 0 after the layers up to the consumer.
bool output_is_zero(const Model& m, size_t li, size_t consumer, int64_t c, bool quantize) {
  const Layer& l = m.layers[li];
  const KernelDims d = kernel_dims(l);
  for (int64_t j = c; j < d.s * d.c * d.f; j += d.f)
    if (effective_weight(l, j, quantize) != 0.0f) return false;

  // The accumulator starts at +0 and only adds products with a zero weight, so the output is
  // 0 + bias, then quantized to the result precision.
  float bias = l.use_bias ? l.weight("bias").data[static_cast<size_t>(c)] : 0.0f;
  if (quantize) bias = q(saturating(l.precision.bias), bias);
  // The possible values of the channel (average pooling with padding gives several).
  std::vector<float> vals = {q(quantize ? l.precision.result : Precision{}, 0.0f + bias)};

  for (size_t j = li + 1; j < consumer; ++j) {
    const Layer& x = m.layers[j];
    const Precision result = quantize ? x.precision.result : Precision{};
    switch (x.kind) {
      case LayerKind::BatchNorm: {
        const auto at = [&](const char* key) {
          return x.weight(key).data.at(static_cast<size_t>(c));
        };
        const double s = static_cast<double>(at("gamma")) /
                         std::sqrt(static_cast<double>(at("moving_variance")) + x.epsilon);
        float scale = static_cast<float>(s);
        float shift = static_cast<float>(static_cast<double>(at("beta")) -
                                         static_cast<double>(at("moving_mean")) * s);
        if (quantize) {
          scale = q(saturating(x.precision.weight), scale);
          shift = q(saturating(x.precision.bias), shift);
        }
        for (float& v : vals) v = q(result, v * scale + shift);
        break;
      }
      case LayerKind::Activation:
        if (x.activation == ActivationKind::Softmax) return false;  // not a pass-through
        // A constant stays a constant, f(v) as reference_forward computes it: sigmoid(0) is
        // 0.5, so a zero channel is not zero after a sigmoid.
        for (float& v : vals) v = q(result, activation_value(x, v));
        break;
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
        // The maximum over the (>= 1) in-range taps of a constant is that constant.
        for (float& v : vals) v = q(result, v);
        break;
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D: {
        // Sum of the in-range taps divided by their count: all of them with 'valid' padding,
        // any number from 1 with 'same' (padding taps are skipped).
        int64_t area = 1;
        for (int64_t k : x.pool_size) area *= k;
        const int64_t lo = x.padding == Padding::Valid ? area : 1;
        std::vector<float> out;
        for (float v : vals)
          for (int64_t n = lo; n <= area; ++n) {
            float acc = 0.0f;
            for (int64_t t = 0; t < n; ++t) acc += v;
            out.push_back(q(result, acc / static_cast<float>(n)));
          }
        vals = std::move(out);
        break;
      }
      case LayerKind::Flatten:
      case LayerKind::Dropout:
        break;
      default:
        return false;
    }
    // Keep the set small: only whether each value is 0 matters in the end, but the values
    // themselves feed the next layer, so drop exact duplicates only.
    std::sort(vals.begin(), vals.end());
    vals.erase(std::unique(vals.begin(), vals.end()), vals.end());
  }
  return std::all_of(vals.begin(), vals.end(), [](float v) { return v == 0.0f; });
}

// (b): every weight of the consumer reading the given rows is zero.
bool ignored_by_consumer(const Layer& consumer, const std::vector<int64_t>& rows, bool quantize) {
  const KernelDims d = kernel_dims(consumer);
  for (int64_t s = 0; s < d.s; ++s)
    for (int64_t r : rows)
      for (int64_t f = 0; f < d.f; ++f)
        if (effective_weight(consumer, (s * d.c + r) * d.f + f, quantize) != 0.0f) return false;
  return true;
}

std::vector<int64_t> removable_channels(const Model& m, size_t li, size_t consumer) {
  const Model folded = fold_batchnorm(m);
  std::vector<Semantics> sems = {{&folded, true}};
  if (!m.is_quantized()) sems.push_back({&m, false});
  const std::string& lname = m.layers[li].name;
  const std::string& cname = m.layers[consumer].name;

  std::vector<int64_t> out;
  const int64_t channels = out_channels(m.layers[li]);
  for (int64_t c = 0; c < channels; ++c) {
    const std::vector<int64_t> rows = consumer_rows(m, li, consumer, c);
    bool ok = true;
    for (const Semantics& sem : sems) {
      const size_t a = index_of(*sem.model, lname), b = index_of(*sem.model, cname);
      if (!output_is_zero(*sem.model, a, b, c, sem.quantize) &&
          !ignored_by_consumer(sem.model->layers[b], rows, sem.quantize)) {
        ok = false;
        break;
      }
    }
    if (ok) out.push_back(c);
  }
  return out;
}

// t without the entries whose index along `axis` is marked in `drop`.
Tensor drop_along(const Tensor& t, size_t axis, const std::vector<bool>& drop) {
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < axis; ++i) outer *= t.shape[i];
  for (size_t i = axis + 1; i < t.shape.size(); ++i) inner *= t.shape[i];
  const int64_t n = t.shape[axis];
  Shape shape = t.shape;
  shape[axis] = n - std::count(drop.begin(), drop.end(), true);
  Tensor r(shape);
  size_t k = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) {
      if (drop[static_cast<size_t>(i)]) continue;
      const auto* src = &t.data[static_cast<size_t>((o * n + i) * inner)];
      std::copy(src, src + inner, &r.data[k]);
      k += static_cast<size_t>(inner);
    }
  return r;
}

Model remove_channels(const Model& model, size_t li, size_t consumer,
                      const std::vector<int64_t>& channels) {
  Model m = model;
  Layer& l = m.layers[li];
  const int64_t f = out_channels(l);
  std::vector<bool> drop(static_cast<size_t>(f), false);
  for (int64_t c : channels) drop[static_cast<size_t>(c)] = true;

  Tensor& k = l.weight("kernel");
  const size_t last = k.shape.size() - 1;
  k = drop_along(k, last, drop);
  if (!l.mask.empty()) l.mask = drop_along(l.mask, last, drop);
  if (!l.widths.empty()) l.widths = drop_along(l.widths, last, drop);
  if (l.use_bias) l.weight("bias") = drop_along(l.weight("bias"), 0, drop);
  const int64_t kept = f - static_cast<int64_t>(channels.size());
  (l.kind == LayerKind::Dense ? l.units : l.filters) = kept;

  for (size_t j = li + 1; j < consumer; ++j) {
    Layer& x = m.layers[j];
    if (x.kind != LayerKind::BatchNorm) continue;
    for (auto& [key, t] : x.weights)
      if (t.shape == Shape{f}) t = drop_along(t, 0, drop);
  }

  Layer& cons = m.layers[consumer];
  const KernelDims d = kernel_dims(cons);
  std::vector<bool> rows(static_cast<size_t>(d.c), false);
  for (int64_t c : channels)
    for (int64_t r : consumer_rows(model, li, consumer, c)) rows[static_cast<size_t>(r)] = true;
  Tensor& ck = cons.weight("kernel");
  const size_t in_axis = ck.shape.size() - 2;
  ck = drop_along(ck, in_axis, rows);
  if (!cons.mask.empty()) cons.mask = drop_along(cons.mask, in_axis, rows);
  if (!cons.widths.empty()) cons.widths = drop_along(cons.widths, in_axis, rows);

  m.infer_shapes();
  return m;
}

}  // namespace

Model remove_zero_structures(const Model& model, const ReduceAccept& accept, ReduceReport* report) {
  Model cur = model;
  cur.infer_shapes();
  ReduceReport rep;
  for (size_t i = 0; i < cur.layers.size(); ++i) {
    if (!cur.layers[i].has_kernel()) continue;
    const std::optional<size_t> consumer = consumer_of(cur, i);
    if (!consumer) continue;
    std::vector<int64_t> removable = removable_channels(cur, i, *consumer);
    const int64_t before = out_channels(cur.layers[i]);
    // Keep at least one channel: the highest removable index is given up.
    if (static_cast<int64_t>(removable.size()) >= before)
      removable.resize(static_cast<size_t>(before - 1));
    size_t taken = 0;
    for (size_t k = removable.size(); k > 0; --k) {
      const std::vector<int64_t> chosen(removable.begin(),
                                        removable.begin() + static_cast<std::ptrdiff_t>(k));
      Model candidate = remove_channels(cur, i, *consumer, chosen);
      if (!accept || accept(candidate)) {
        cur = std::move(candidate);
        taken = k;
        break;
      }
    }
    rep.refused += static_cast<int64_t>(removable.size() - taken);
    if (taken > 0) {
      ReduceReport::LayerChange ch;
      ch.layer = cur.layers[i].name;
      ch.consumer = cur.layers[*consumer].name;
      ch.before = before;
      ch.after = before - static_cast<int64_t>(taken);
      ch.removed.assign(removable.begin(), removable.begin() + static_cast<std::ptrdiff_t>(taken));
      rep.changes.push_back(std::move(ch));
    }
  }
  if (report) *report = std::move(rep);
  return cur;
}

}  // namespace hwprune::structures
