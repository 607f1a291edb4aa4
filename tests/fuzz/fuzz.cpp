#include "fuzz.hpp"

#include <unistd.h>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "hwprune/io/keras.hpp"
#include "hwprune/io/onnx.hpp"
#include "hwprune/util/utf8.hpp"
#include "support/models.hpp"

namespace hwprune::fuzz {

namespace fs = std::filesystem;

namespace {

struct WorkDir {
  fs::path path;
  WorkDir() {
    std::error_code ec;
    fs::path base =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    path = base / ("hwprune-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(path, ec);
    fs::create_directories(path);
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

const fs::path& work_dir() {
  static const WorkDir dir;
  return dir.path;
}

std::string write(const std::string& name, std::string_view bytes) {
  const std::string path = (work_dir() / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail("cannot write the fuzz input", path);
  return path;
}

void fail(std::string_view why, std::string_view message) {
  std::fprintf(stderr, "fuzz: %.*s: %.*s\n", static_cast<int>(why.size()), why.data(),
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

void check_message(std::string_view message, std::initializer_list<std::string_view> names) {
  if (message.empty()) fail("empty error message", "");
  if (!is_utf8(message)) fail("error message is not UTF-8 text", message);
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) fail("error message with a control character", message);
  }
  if (names.size() == 0) return;
  for (const auto name : names)
    if (message.find(name) != std::string_view::npos) return;
  fail("error message names none of the input files", message);
}

void check_loaded(const Model& model, std::string_view file) {
  must(std::string("model loaded from ") + std::string(file) + " fails its own shape check", [&] {
    Model copy = model;
    copy.infer_shapes();
    return 0;
  });
  // Names go into JSON (model files, --json results): they must be valid UTF-8.
  must(std::string("model loaded from ") + std::string(file) + " has a name JSON cannot hold", [&] {
    nlohmann::json names = {model.name, model.class_names};
    for (const auto& l : model.layers) names.push_back(l.name);
    for (const auto& [k, v] : model.metadata) names.push_back({k, v});
    return names.dump();
  });
}

Model every_layer_float() {
  return test::every_layer_model();
}

Model every_layer_quantized() {
  Model m = test::every_layer_model();
  m.name = "every-layer-q";
  m.input_precision = FixedType::make(10, 4);
  for (auto& l : m.layers) {
    if (l.has_kernel() || l.kind == LayerKind::BatchNorm) {
      l.precision.weight = FixedType::make(8, 2, true, QuantMode::RND_CONV, OverflowMode::SAT);
      l.precision.bias = FixedType::make(10, 4, true, QuantMode::RND_CONV, OverflowMode::SAT);
    }
    if (l.has_kernel()) {
      l.precision.accum = FixedType::make(24, 10);
      l.hardware.reuse_factor = 2;
      l.hardware.strategy = Strategy::Resource;
    }
    if (l.kind != LayerKind::Flatten && l.kind != LayerKind::Dropout &&
        l.kind != LayerKind::MaxPool1D &&
        !(l.kind == LayerKind::Activation && l.activation == ActivationKind::Softmax))
      l.precision.result = FixedType::make(12, 5, true, QuantMode::RND, OverflowMode::SAT);
  }
  Layer& dense = m.layers[7];
  dense.mask = Tensor(dense.weight("kernel").shape);
  for (size_t i = 0; i < dense.mask.data.size(); ++i) dense.mask.data[i] = (i % 3) ? 1.0f : 0.0f;
  m.infer_shapes();
  return m;
}

Model conv2d_quantized() {
  Model m;
  m.name = "conv2d-q";
  m.input_shape = {6, 6, 2};
  m.input_precision = FixedType::make(8, 3);
  Layer c = test::make_layer("conv", LayerKind::Conv2D);
  c.filters = 3;
  c.kernel_size = {3, 3};
  c.strides = {1, 1};
  c.weights = {{"kernel", test::random_tensor({3, 3, 2, 3}, 21)},
               {"bias", test::random_tensor({3}, 22)}};
  c.precision.weight = FixedType::make(6, 1, true, QuantMode::RND_CONV, OverflowMode::SAT);
  c.precision.bias = FixedType::make(8, 3, true, QuantMode::RND_CONV, OverflowMode::SAT);
  c.precision.accum = FixedType::make(20, 8);
  c.precision.result = FixedType::make(12, 6);
  Layer r = test::make_layer("relu", LayerKind::Activation);
  r.activation = ActivationKind::ReLU;
  r.precision.result = FixedType::make(8, 3, false);
  Layer p = test::make_layer("pool", LayerKind::MaxPool2D);
  p.pool_size = {2, 2};
  p.strides = {2, 2};
  Layer f = test::make_layer("flat", LayerKind::Flatten);
  Layer d = test::make_layer("out", LayerKind::Dense);
  d.units = 4;
  d.weights = {{"kernel", test::random_tensor({12, 4}, 23)},
               {"bias", test::random_tensor({4}, 24)}};
  d.precision = c.precision;
  Layer s = test::make_layer("softmax", LayerKind::Activation);
  s.activation = ActivationKind::Softmax;
  m.layers = {c, r, p, f, d, s};
  m.class_names = {"a", "b", "c", "d"};
  m.infer_shapes();
  return m;
}

const fs::path& seed_exports() {
  static const bool written = [] {
    const auto dir = work_dir();
    const Model e = every_layer_quantized();
    io::save_keras(e, (dir / "e.json").string(), (dir / "e_weights.h5").string());
    io::save_onnx(e, (dir / "e.onnx").string());
    io::save_keras(conv2d_quantized(), (dir / "c.json").string(), (dir / "c_weights.h5").string());
    return true;
  }();
  (void)written;
  return work_dir();
}

}  // namespace hwprune::fuzz
