// Models shared by the tests: seeded random tensors and a small network with every layer
// type (Conv1D same/stride 2, BatchNorm, ReLU, AvgPool1D same, MaxPool1D, Flatten, Dropout,
// Dense, BatchNorm, linear, Dense, softmax).
#pragma once

#include <random>
#include <string>

#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/ir/model.hpp"

namespace hwprune::test {

// What an export (Keras, ONNX) of `model` holds: a quantized model with its BatchNorms after
// a Dense/Conv folded, masks applied (no mask left) and every weight/bias that has a precision
// on its grid, rounded by the type and saturated (the integer model's values).
inline Model as_exported(const Model& model) {
  Model m = model.is_quantized() ? fold_batchnorm(model) : model;
  m.infer_shapes();
  for (auto& l : m.layers) {
    if (!l.has_kernel()) continue;
    if (!l.mask.empty()) {
      for (size_t i = 0; i < l.mask.data.size(); ++i)
        if (l.mask.data[i] == 0.0f) l.weight("kernel").data[i] = 0.0f;
      l.mask = Tensor();
    }
    for (const auto& [key, p] :
         {std::pair{"kernel", l.precision.weight}, {"bias", l.precision.bias}})
      if (p && l.weights.count(key))
        for (float& v : l.weight(key).data) v = static_cast<float>(saturating(*p).quantize(v));
  }
  return m;
}

inline Tensor random_tensor(Shape shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(std::move(shape));
  for (float& v : t.data) v = u(rng);
  return t;
}

inline Layer make_layer(const std::string& name, LayerKind kind) {
  Layer l;
  l.name = name;
  l.kind = kind;
  return l;
}

// A small network touching every layer type: Conv1D (same, stride 2), BN, AvgPool1D (same),
// MaxPool1D, Flatten, Dropout, Dense, BN, linear and quantized ReLU activations.
inline Model every_layer_model() {
  Model m;
  m.name = "every-layer";
  m.input_shape = {9, 3};
  Layer c = make_layer("conv", LayerKind::Conv1D);
  c.filters = 4;
  c.kernel_size = {3};
  c.strides = {2};
  c.padding = Padding::Same;
  Layer bn = make_layer("bn", LayerKind::BatchNorm);
  Layer relu = make_layer("relu", LayerKind::Activation);
  relu.activation = ActivationKind::ReLU;
  Layer ap = make_layer("avg", LayerKind::AvgPool1D);
  ap.pool_size = {2};
  ap.strides = {1};
  ap.padding = Padding::Same;
  Layer mp = make_layer("max", LayerKind::MaxPool1D);
  mp.pool_size = {2};
  Layer fl = make_layer("flat", LayerKind::Flatten);
  Layer dr = make_layer("drop", LayerKind::Dropout);
  dr.rate = 0.25;
  Layer d = make_layer("dense", LayerKind::Dense);
  d.units = 5;
  Layer bn2 = make_layer("bn2", LayerKind::BatchNorm);
  Layer lin = make_layer("lin", LayerKind::Activation);
  Layer d2 = make_layer("out", LayerKind::Dense);
  d2.units = 3;
  Layer sm = make_layer("softmax", LayerKind::Activation);
  sm.activation = ActivationKind::Softmax;
  m.layers = {c, bn, relu, ap, mp, fl, dr, d, bn2, lin, d2, sm};
  // Shapes: (9,3) -conv s2 same-> (5,4) -avg same-> (5,4) -max 2-> (2,4) -flat-> (8,)
  m.layers[0].weights = {{"kernel", random_tensor({3, 3, 4}, 1)}, {"bias", random_tensor({4}, 2)}};
  for (size_t i : {1u, 8u}) {
    const int64_t ch = i == 1 ? 4 : 5;
    m.layers[i].weights = {{"gamma", random_tensor({ch}, 3 + i, 0.5f, 1.5f)},
                           {"beta", random_tensor({ch}, 4 + i)},
                           {"moving_mean", random_tensor({ch}, 5 + i)},
                           {"moving_variance", random_tensor({ch}, 6 + i, 0.2f, 2.0f)}};
  }
  m.layers[7].weights = {{"kernel", random_tensor({8, 5}, 7)}, {"bias", random_tensor({5}, 8)}};
  m.layers[10].weights = {{"kernel", random_tensor({5, 3}, 9)}, {"bias", random_tensor({3}, 10)}};
  m.infer_shapes();
  return m;
}

}  // namespace hwprune::test
