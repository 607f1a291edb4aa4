// Interop across formats: every example model loads (or is refused with its reason), the
// Keras and ONNX jet taggers agree, exports in every format read back unchanged, and exports
// of one model in several formats keep their own hls4ml configs.
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/io/import.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using test::ScratchDir;
using ::testing::HasSubstr;

std::string examples() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/example-models/";
}

Tensor random_inputs(const Shape& sample, int64_t n, uint64_t seed) {
  Shape shape{n};
  shape.insert(shape.end(), sample.begin(), sample.end());
  Tensor x(shape);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : x.data) v = d(rng);
  return x;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  float m = 0;
  for (size_t i = 0; i < a.data.size() && i < b.data.size(); ++i)
    m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

TEST(Interop, EveryExampleModelLoads) {
  const std::string ex = examples();
  if (ex.empty()) GTEST_SKIP() << "../shared (example models) is absent";
  // Each file imports and runs (the weights of a Keras .json come from beside it).
  const std::vector<std::string> files = {"keras/KERAS_3layer.json",
                                          "keras/KERAS_conv1d_small.json",
                                          "keras/KERAS_conv2d_model.json",
                                          "keras/qkeras_3layer.json",
                                          "keras/qkeras_mnist_cnn.json",
                                          "onnx/three_layer_keras.onnx",
                                          "onnx/conv2d_small_keras.onnx",
                                          "onnx/two_layer_keras.onnx",
                                          "config-files/qkeras_3layer_config.yml",
                                          "config-files/qkeras_mnist_cnn_config.yml"};
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    Model m;
    ASSERT_NO_THROW(m = io::import_model(ex + f));
    EXPECT_FALSE(m.layers.empty());
    const Tensor y = reference_forward(m, random_inputs(m.input_shape, 4, 1), false);
    EXPECT_EQ(y.shape[0], 4);
    for (float v : y.data) EXPECT_TRUE(std::isfinite(v));
  }
  // The pruned weights go with the same architecture.
  const Model pruned = io::import_model(ex + "keras/KERAS_3layer.json",
                                        ex + "keras/KERAS_3layer_95pruned_retrained_weights.h5");
  int64_t zeros = 0, total = 0;
  for (const Layer& l : pruned.layers)
    if (l.has_kernel()) {
      total += l.weight("kernel").numel();
      zeros += l.weight("kernel").numel() - l.nonzero_kernel_count();
    }
  EXPECT_GT(static_cast<double>(zeros), 0.9 * static_cast<double>(total));
}

TEST(Interop, KerasAndOnnxJetTaggersAgree) {
  const std::string ex = examples();
  if (ex.empty()) GTEST_SKIP() << "../shared (example models) is absent";
  const Model keras = io::import_model(ex + "keras/KERAS_3layer.json");
  const Model onnx = io::import_model(ex + "onnx/three_layer_keras.onnx");
  ASSERT_EQ(keras.input_shape, (Shape{16}));
  ASSERT_EQ(onnx.input_shape, (Shape{16}));
  const Tensor x = random_inputs({16}, 1000, 7);
  const Tensor a = reference_forward(keras, x, false);
  const Tensor b = reference_forward(onnx, x, false);
  ASSERT_EQ(a.shape, (Shape{1000, 5}));
  EXPECT_LE(max_abs_diff(a, b), 1e-5f);
}

TEST(Interop, QkerasJetWithItsConfig) {
  const std::string ex = examples();
  if (ex.empty()) GTEST_SKIP() << "../shared (example models) is absent";
  const Model m = io::import_model(ex + "config-files/qkeras_3layer_config.yml");
  for (const char* name : {"fc1", "fc2", "fc3", "output"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(precision_str(m.layer(name).precision.weight), "ap_fixed<6,1>");
    EXPECT_EQ(m.layer(name).hardware.reuse_factor, 1);
    EXPECT_EQ(m.layer(name).hardware.strategy, Strategy::Latency);
  }
  EXPECT_EQ(precision_str(m.input_precision), "ap_fixed<16,6>");
}

TEST(Interop, ExportsInEveryFormatReadBack) {
  ScratchDir dir;
  for (const char* builtin : {"jet-mlp", "fmnist-cnn"}) {
    Model m = make_builtin_model(builtin, builtin == std::string("jet-mlp") ? 5 : 10, 3);
    m.set_precision(parse_precision("ap_fixed<16,6>"));
    Layer& first = m.layers[0];
    first.mask = Tensor(first.weight("kernel").shape, 1.0f);
    for (size_t i = 0; i < first.mask.data.size(); i += 3) first.mask.data[i] = 0.0f;
    first.hardware.reuse_factor = 2;
    const Tensor x = random_inputs(m.input_shape, 16, 5);
    const Tensor want = reference_forward(m, x, true);
    for (const char* ext : {".hwp", ".onnx", ".json", ".h5"}) {
      SCOPED_TRACE(fmt::format("{} {}", builtin, ext));
      const std::string path = dir.file(std::string(builtin) + ext);
      const auto files = io::export_model(m, path);
      for (const auto& f : files) EXPECT_TRUE(std::filesystem::exists(f)) << f;
      if (std::string(ext) != ".hwp") {
        ASSERT_EQ(files.back(),
                  dir.file(fmt::format("{}_{}_hls4ml.yml", builtin, std::string(ext).substr(1))));
        // The config beside the export names it and restores precisions and hardware.
        const Model via_yaml = io::import_model(files.back());
        EXPECT_EQ(via_yaml.layers[0].hardware.reuse_factor, 2);
        EXPECT_EQ(max_abs_diff(reference_forward(via_yaml, x, true), want), 0.0f);
      }
      const bool keras = std::string(ext) == ".json" || std::string(ext) == ".h5";
      if (keras) {
        // Plain Keras (the default) keeps the precisions only in the config: alone it reads
        // back as the float model, with the weights on their grids.
        const Model plain = io::import_model(path);
        EXPECT_FALSE(plain.is_quantized());
        EXPECT_EQ(plain.layers[0].weight("kernel").data,
                  test::as_exported(m).layers[0].weight("kernel").data);
        // The QKeras flavour keeps what QKeras cannot express (truncation, result types) in
        // its "hwprune" block.
        io::ExportOptions qkeras;
        qkeras.keras_flavour = io::KerasFlavour::QKeras;
        io::export_model(m, path, qkeras);
      }
      // ONNX keeps the precisions in Quant nodes: every format restores the quantized network.
      const Model back = io::import_model(path);
      EXPECT_EQ(max_abs_diff(reference_forward(back, x, true), want), 0.0f);
      EXPECT_EQ(back.layers[0].precision, m.layers[0].precision);
    }
  }
  EXPECT_THAT(error_of([&] { io::import_model(dir.file("m.pt")); }),
              HasSubstr("unknown model format \".pt\""));
}

TEST(Interop, ExportsOfOneModelKeepTheirOwnHlsConfigs) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 3);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  const struct {
    const char* ext;
    std::string keras_json, keras_h5, onnx_model;  // what its config names
  } exports[] = {{"json", dir.file("m.json"), dir.file("m_weights.h5"), ""},
                 {"h5", "", dir.file("m.h5"), ""},
                 {"onnx", "", "", dir.file("m.onnx")}};
  for (const auto& e : exports) io::export_model(m, dir.file(fmt::format("m.{}", e.ext)));
  // After all three, each config still names only its own export and hls4ml project.
  for (const auto& e : exports) {
    SCOPED_TRACE(e.ext);
    const io::HlsConfig c = io::load_hls_config(dir.file(fmt::format("m_{}_hls4ml.yml", e.ext)));
    EXPECT_EQ(c.keras_json, e.keras_json);
    EXPECT_EQ(c.keras_h5, e.keras_h5);
    EXPECT_EQ(c.onnx_model, e.onnx_model);
    EXPECT_EQ(c.output_dir, fmt::format("m_{}_hls4ml_prj", e.ext));
    EXPECT_EQ(io::import_model(c.path).parameter_count(), m.parameter_count());
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("m_hls4ml.yml")));
}

}  // namespace
}  // namespace hwprune
