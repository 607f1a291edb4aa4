// Builtin architectures and Keras-default weight initialisation.
#include <charconv>
#include <cmath>
#include <optional>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hwprune/ir/model.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune {

namespace {

// Uniform double in [0, 1) from the top 53 bits: the same on every standard library.
double unit_uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1p-53;
}

Layer dense(const std::string& name, int64_t units, bool use_bias = true) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::Dense;
  l.units = units;
  l.use_bias = use_bias;
  return l;
}

Layer conv2d(const std::string& name, int64_t filters, int64_t k, bool use_bias = true) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::Conv2D;
  l.filters = filters;
  l.kernel_size = {k, k};
  l.strides = {1, 1};
  l.use_bias = use_bias;
  return l;
}

Layer activation(const std::string& name, ActivationKind a) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::Activation;
  l.activation = a;
  return l;
}

Layer maxpool2d(const std::string& name, int64_t p) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::MaxPool2D;
  l.pool_size = {p, p};
  l.strides = {p, p};
  return l;
}

Layer batchnorm(const std::string& name) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::BatchNorm;
  return l;
}

Layer flatten(const std::string& name) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::Flatten;
  return l;
}

// Creates weight tensors of the right shapes (zeros) so init_weights can fill them.
void allocate_weights(Model& m) {
  Shape shape = m.input_shape;
  for (auto& l : m.layers) {
    if (l.kind == LayerKind::Dense) {
      l.weights["kernel"] = Tensor({shape.at(0), l.units});
      if (l.use_bias) l.weights["bias"] = Tensor({l.units});
    } else if (l.is_conv()) {
      Shape k(l.kernel_size.begin(), l.kernel_size.end());
      k.push_back(shape.back());
      k.push_back(l.filters);
      l.weights["kernel"] = Tensor(k);
      if (l.use_bias) l.weights["bias"] = Tensor({l.filters});
    } else if (l.kind == LayerKind::BatchNorm) {
      for (const char* key : {"gamma", "beta", "moving_mean", "moving_variance"})
        l.weights[key] = Tensor({shape.back()});
    }
    // Propagate shapes for the next layer; infer_shapes() checks everything afterwards.
    Model one;
    one.name = m.name;
    one.input_shape = shape;
    one.layers = {l};
    one.infer_shapes();
    shape = one.layers[0].output_shape;
  }
}

}  // namespace

void init_weights(Model& model, uint64_t seed) {
  model.infer_shapes();
  for (size_t i = 0; i < model.layers.size(); ++i) {
    Layer& l = model.layers[i];
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + i + 1);
    if (l.has_kernel()) {
      Tensor& k = l.weight("kernel");
      const int64_t receptive = shape_numel(Shape(k.shape.begin(), k.shape.end() - 2));
      const double fan_in = static_cast<double>(receptive * k.shape[k.shape.size() - 2]);
      const double fan_out = static_cast<double>(receptive * k.shape.back());
      const double limit = std::sqrt(6.0 / (fan_in + fan_out));
      for (float& v : k.data) v = static_cast<float>((2.0 * unit_uniform(rng) - 1.0) * limit);
      if (l.use_bias) std::fill(l.weight("bias").data.begin(), l.weight("bias").data.end(), 0.f);
    } else if (l.kind == LayerKind::BatchNorm) {
      for (auto& [key, t] : l.weights) {
        const float v = (key == "gamma" || key == "moving_variance") ? 1.0f : 0.0f;
        std::fill(t.data.begin(), t.data.end(), v);
      }
    }
  }
}

std::vector<std::string> builtin_model_names() {
  std::vector<std::string> out;
  for (const auto& e : kBuiltinNames.entries) out.emplace_back(e.name);
  return out;
}

namespace {

// "mlp:64,32,32" -> {64, 32, 32}; nullopt when `spec` is not an mlp spec at all.
std::optional<std::vector<int64_t>> mlp_sizes(const std::string& spec) {
  const std::string prefix = "mlp:";
  if (spec.rfind(prefix, 0) != 0) return std::nullopt;
  std::vector<int64_t> sizes;
  size_t pos = prefix.size();
  while (pos <= spec.size()) {
    const size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 1 ||
        v > 1000000)
      throw Error(
          fmt::format("builtin model '{}': hidden sizes must be whole numbers from 1 to 1000000, "
                      "e.g. mlp:64,32,32 (got \"{}\")",
                      spec, item));
    sizes.push_back(v);
    pos = comma + 1;
  }
  return sizes;
}

void check_input(const std::string& name, const Shape& input, size_t rank, const char* what) {
  if (input.size() != rank)
    throw Error(fmt::format("builtin model '{}' takes {}, but the samples have shape {}", name,
                            what, shape_str(input)));
  for (int64_t d : input)
    if (d < 1)
      throw Error(fmt::format("builtin model '{}': input shape {}", name, shape_str(input)));
}

}  // namespace

bool is_builtin_model(const std::string& name) {
  return kBuiltinNames.contains(name) || name.rfind("mlp:", 0) == 0;
}

Shape builtin_input_shape(const std::string& name) {
  if (name == "fmnist-cnn") return {28, 28, 1};
  if (name == "svhn-cnn") return {32, 32, 3};
  return {16};  // jet-mlp and mlp:...
}

Model make_builtin_model(const std::string& name, int outputs, uint64_t seed, const Shape& input) {
  if (outputs <= 0) throw Error(fmt::format("builtin model '{}': needs >= 1 output", name));
  Model m;
  m.name = name;
  const auto hidden = mlp_sizes(name);
  m.input_shape =
      input.empty() && (hidden || kBuiltinNames.contains(name)) ? builtin_input_shape(name) : input;
  if (hidden || name == "jet-mlp") {
    check_input(name, m.input_shape, 1, "feature vectors (n_features)");
    const std::vector<int64_t> sizes = hidden ? *hidden : std::vector<int64_t>{64, 32, 32};
    for (size_t i = 0; i < sizes.size(); ++i) {
      const auto k = std::to_string(i + 1);
      m.layers.push_back(dense("fc" + k, sizes[i]));
      m.layers.push_back(activation("relu" + k, ActivationKind::ReLU));
    }
    m.layers.push_back(dense("output", outputs));
    m.layers.push_back(activation("softmax", ActivationKind::Softmax));
    if (hidden) m.name = "mlp";
  } else if (name == "fmnist-cnn") {
    check_input(name, m.input_shape, 3, "images (H, W, C)");
    m.layers = {conv2d("conv1", 16, 3),
                activation("relu1", ActivationKind::ReLU),
                maxpool2d("pool1", 2),
                conv2d("conv2", 32, 3),
                activation("relu2", ActivationKind::ReLU),
                maxpool2d("pool2", 2),
                flatten("flatten"),
                dense("output", outputs),
                activation("softmax", ActivationKind::Softmax)};
  } else if (name == "svhn-cnn") {
    check_input(name, m.input_shape, 3, "images (H, W, C)");
    const int64_t filters[] = {16, 16, 24};
    for (int b = 0; b < 3; ++b) {
      const auto i = std::to_string(b + 1);
      m.layers.push_back(conv2d("conv" + i, filters[b], 3, /*use_bias=*/false));
      m.layers.push_back(batchnorm("bn" + i));
      m.layers.push_back(activation("relu" + i, ActivationKind::ReLU));
      m.layers.push_back(maxpool2d("pool" + i, 2));
    }
    m.layers.push_back(flatten("flatten"));
    const int64_t units[] = {42, 64};
    for (int b = 0; b < 2; ++b) {
      const auto i = std::to_string(b + 1);
      m.layers.push_back(dense("dense" + i, units[b], /*use_bias=*/false));
      m.layers.push_back(batchnorm("bn_dense" + i));
      m.layers.push_back(activation("relu_dense" + i, ActivationKind::ReLU));
    }
    m.layers.push_back(dense("output", outputs));
    m.layers.push_back(activation("softmax", ActivationKind::Softmax));
  } else {
    throw Error(fmt::format("unknown builtin model '{}' (builtins: {}, mlp:<sizes>)", name,
                            kBuiltinNames.list()));
  }
  for (int c = 0; c < outputs; ++c) m.class_names.push_back(std::to_string(c));
  allocate_weights(m);
  init_weights(m, seed);
  return m;
}

}  // namespace hwprune
