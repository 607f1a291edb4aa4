// hls4ml YAML configurations: the example configs parse, settings land on the right layers
// with hls4ml's precedence, bad files are one-line errors, and written configs read back.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/io/hls_config.hpp"
#include "hwprune/util/fs.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using test::ScratchDir;
using ::testing::HasSubstr;

// The qkeras_3layer layer names: fc1 relu1 fc2 relu2 fc3 relu3 output softmax.
Model jet_named_as_qkeras() {
  Model m = make_builtin_model("jet-mlp", 5, 1);
  m.metadata["keras.input_layer"] = "fc1_input";
  return m;
}

std::string example_config(const std::string& name) {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/example-models/config-files/" + name;
}

TEST(HlsConfig, ReadsTheQkerasJetConfig) {
  const std::string path = example_config("qkeras_3layer_config.yml");
  if (path.empty()) GTEST_SKIP() << "../shared (example models) is absent";
  const io::HlsConfig c = io::load_hls_config(path);
  // Named relative to the folder above config-files/ (hls4ml's working directory).
  EXPECT_EQ(c.keras_json, test::shared_dir() + "/example-models/keras/qkeras_3layer.json");
  EXPECT_EQ(c.keras_h5, test::shared_dir() + "/example-models/keras/qkeras_3layer_weights.h5");
  EXPECT_EQ(c.io_type, IoType::Parallel);
  EXPECT_EQ(c.clock_period, 5.0);
  EXPECT_EQ(c.part, "xcvu9p-flga2577-2-e");
  EXPECT_EQ(c.model.reuse_factor, 1);
  EXPECT_EQ(c.model.strategy, Strategy::Latency);
  EXPECT_EQ(precision_str(c.model.result), "ap_fixed<16,6>");
  ASSERT_TRUE(c.layers.count("fc1"));
  EXPECT_EQ(precision_str(c.layers.at("fc1").weight), "ap_fixed<6,1>");
  EXPECT_FALSE(c.layers.at("fc1").has_result);
  EXPECT_EQ(precision_str(c.layers.at("relu1").result), "ap_fixed<7,1,AP_RND_CONV,AP_SAT>");
  EXPECT_TRUE(c.ignored.empty()) << fmt::format("{}", fmt::join(c.ignored, ", "));

  Model m = jet_named_as_qkeras();
  io::apply_hls_config(m, c);
  EXPECT_EQ(precision_str(m.input_precision), "ap_fixed<16,6>");
  const Layer& fc1 = m.layer("fc1");
  EXPECT_EQ(precision_str(fc1.precision.weight), "ap_fixed<6,1>");
  EXPECT_EQ(precision_str(fc1.precision.bias), "ap_fixed<6,1>");
  EXPECT_EQ(precision_str(fc1.precision.accum), "ap_fixed<16,6>");  // the Model default
  EXPECT_EQ(fc1.hardware.reuse_factor, 1);
  EXPECT_EQ(fc1.hardware.strategy, Strategy::Latency);
  EXPECT_EQ(fc1.hardware.io_type, IoType::Parallel);
  EXPECT_EQ(precision_str(m.layer("relu1").precision.result), "ap_fixed<7,1,AP_RND_CONV,AP_SAT>");
  EXPECT_FALSE(m.layer("relu1").hardware.reuse_factor);  // only Dense/Conv get hardware
  EXPECT_EQ(m.metadata.at("hls4ml.part"), "xcvu9p-flga2577-2-e");
}

TEST(HlsConfig, PrecedenceModelFillsTypeAndNameOverride) {
  ScratchDir dir;
  const std::string yml = dir.write("c.yml", R"(IOType: io_stream
HLSConfig:
  Model:
    Precision: ap_fixed<12,4>
    ReuseFactor: 4
    Strategy: Resource
  LayerType:
    QDense:
      ReuseFactor: 8
  LayerName:
    fc2:
      ReuseFactor: 2
      Strategy: resource_unrolled
      Precision:
        weight: ap_fixed<8,2>
        accum: ap_fixed<20,8>
)");
  Model m = jet_named_as_qkeras();
  m.layer("fc1").precision.weight = parse_precision("ap_fixed<6,1>");  // e.g. from QKeras
  m.layer("fc3").hardware.reuse_factor = 16;                           // recorded before
  io::apply_hls_config(m, io::load_hls_config(yml));
  EXPECT_EQ(precision_str(m.layer("fc1").precision.weight), "ap_fixed<6,1>");  // kept
  EXPECT_EQ(precision_str(m.layer("fc1").precision.bias), "ap_fixed<12,4>");   // filled
  EXPECT_EQ(m.layer("fc1").hardware.reuse_factor, 8);                          // LayerType
  EXPECT_EQ(m.layer("fc3").hardware.reuse_factor, 8);  // LayerType overrides
  EXPECT_EQ(m.layer("fc2").hardware.reuse_factor, 2);  // LayerName overrides
  EXPECT_EQ(m.layer("fc2").hardware.strategy, Strategy::Unrolled);
  EXPECT_EQ(precision_str(m.layer("fc2").precision.weight), "ap_fixed<8,2>");
  EXPECT_EQ(precision_str(m.layer("fc2").precision.accum), "ap_fixed<20,8>");
  EXPECT_EQ(m.layer("output").hardware.strategy, Strategy::Resource);
  EXPECT_EQ(m.layer("output").hardware.io_type, IoType::Stream);
  EXPECT_EQ(precision_str(m.input_precision), "ap_fixed<12,4>");
}

TEST(HlsConfig, BadConfigsAreOneLineErrors) {
  ScratchDir dir;
  auto err = [&](const std::string& text) {
    const std::string p = dir.write("bad.yml", text);
    return error_of([&] {
      Model m = jet_named_as_qkeras();
      io::apply_hls_config(m, io::load_hls_config(p));
    });
  };
  EXPECT_THAT(err("HLSConfig: [1, 2"), HasSubstr("bad.yml: not valid YAML"));
  EXPECT_THAT(err("HLSConfig:\n  Model:\n    Precision: ap_fixed<16>\n"),
              HasSubstr("bad.yml: HLSConfig.Model.Precision: invalid fixed-point type"));
  EXPECT_THAT(err("HLSConfig:\n  Model:\n    ReuseFactor: 0\n"),
              HasSubstr("HLSConfig.Model.ReuseFactor must be an integer >= 1, got \"0\""));
  EXPECT_THAT(err("HLSConfig:\n  LayerName:\n    fc9:\n      ReuseFactor: 2\n"),
              HasSubstr("HLSConfig.LayerName.fc9: the model has no such layer (layers: fc1_input, "
                        "fc1, relu1"));
  EXPECT_THAT(err("HLSConfig:\n  LayerName:\n    fc1:\n      Strategy: Fastest\n"),
              HasSubstr("HLSConfig.LayerName.fc1.Strategy: unknown strategy \"Fastest\""));
  EXPECT_THAT(err("HLSConfig:\n  Model:\n    Precision: auto\n"),
              HasSubstr("precision \"auto\" is not supported"));
  EXPECT_THAT(err("Optimise: yes\n"), HasSubstr("unknown top-level key \"Optimise\""));
  EXPECT_THAT(err("PytorchModel: m.pt\n"), HasSubstr("export the model to Keras"));
  EXPECT_THAT(err("IOType: io_serial\n"), HasSubstr("unknown io type \"io_serial\""));
  EXPECT_THAT(error_of([&] { io::load_hls_config(dir.file("none.yml")); }),
              HasSubstr("none.yml: no such file"));
}

TEST(HlsConfig, WrittenConfigReadsBackAndMarksPrunedResourceLayersUnrolled) {
  Model m = jet_named_as_qkeras();
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.layer("fc1").precision.weight = parse_precision("ap_fixed<8,3,AP_RND,AP_SAT>");
  m.layer("fc1").hardware.reuse_factor = 4;
  m.layer("fc2").hardware.reuse_factor = 2;
  // Zero fc2's first multiplier lane (RF 2: transposed t = 0, 1 = inputs 0, 1 of output 0).
  Layer& fc2 = m.layer("fc2");
  fc2.mask = Tensor(fc2.weight("kernel").shape, 1.0f);
  fc2.mask.data[0 * 32 + 0] = 0.0f;
  fc2.mask.data[1 * 32 + 0] = 0.0f;
  io::HlsExportOptions o;
  o.keras_json = "jet.json";
  o.keras_h5 = "jet_weights.h5";
  o.default_reuse_factor = 8;
  const std::string text = io::hls_config_yaml(m, o);
  EXPECT_THAT(text, HasSubstr("KerasJson: jet.json"));
  EXPECT_THAT(text, HasSubstr("IOType: io_parallel"));

  ScratchDir dir;
  const std::string yml = dir.write("jet_json_hls4ml.yml", text);
  const io::HlsConfig c = io::load_hls_config(yml);
  EXPECT_EQ(c.keras_json, dir.file("jet.json"));
  EXPECT_EQ(c.layers.at("fc1").reuse_factor, 4);
  EXPECT_EQ(c.layers.at("fc1").strategy, Strategy::Resource);  // no dead lane
  EXPECT_EQ(c.layers.at("fc2").strategy, Strategy::Unrolled);  // resource_unrolled
  EXPECT_EQ(c.layers.at("fc3").reuse_factor, 8);
  EXPECT_THAT(text, HasSubstr("Strategy: resource_unrolled"));

  Model fresh = jet_named_as_qkeras();  // float, no attributes
  io::apply_hls_config(fresh, c);
  EXPECT_EQ(fresh.input_precision, m.input_precision);
  for (const Layer& l : m.layers) {
    SCOPED_TRACE(l.name);
    const Layer& f = fresh.layer(l.name);
    if (l.has_kernel()) {
      EXPECT_EQ(f.precision, l.precision);
      EXPECT_EQ(f.hardware.reuse_factor, l.hardware.reuse_factor.value_or(8));
    } else if (l.kind == LayerKind::Activation) {
      EXPECT_EQ(f.precision.result, l.precision.result);
    }
  }
}

// Joint pruning and precision: a layer with per-weight widths is written at its widest live
// weight's width (the same integer bits); a 16-bit live weight keeps the layer at 16 bits, and
// a pruned one does not count.
TEST(HlsConfig, LayersWithWidthsGetTheirWidestLiveWidth) {
  Model m = jet_named_as_qkeras();
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  for (Layer& l : m.layers)
    if (l.has_kernel()) {
      l.precision.weight = parse_precision("ap_fixed<16,2>");
      l.widths = Tensor(l.weight("kernel").shape, 4.0f);
      l.weight("kernel").data[0] = 0.5f;  // live at 4 bits (ap_fixed<4,2>)
    }
  Layer& fc1 = m.layer("fc1");
  fc1.widths.data[3] = 6;
  Layer& fc2 = m.layer("fc2");
  fc2.widths.data[5] = 16;
  fc2.weight("kernel").data[5] = 0.75f;  // live at 16 bits
  Layer& fc3 = m.layer("fc3");
  fc3.widths.data[7] = 16;
  fc3.mask = Tensor(fc3.weight("kernel").shape, 1.0f);
  fc3.mask.data[7] = 0.0f;              // pruned: no 16-bit multiplier
  fc1.weight("kernel").data[3] = 0.5f;  // live at 6 bits
  io::HlsExportOptions o;
  o.keras_json = "jet.json";
  o.keras_h5 = "jet_weights.h5";
  ScratchDir dir;
  const io::HlsConfig c = io::load_hls_config(dir.write("w.yml", io::hls_config_yaml(m, o)));
  EXPECT_EQ(c.layers.at("fc1").weight, parse_precision("ap_fixed<6,2>"));
  EXPECT_EQ(c.layers.at("fc2").weight, parse_precision("ap_fixed<16,2>"));
  EXPECT_EQ(c.layers.at("fc3").weight, parse_precision("ap_fixed<4,2>"));
}

TEST(HlsConfig, PoolingLayersGetTheIntegerModelsAccumulator) {
  // fmnist-cnn with pool1 averaging: its input is relu1's ap_ufixed<10,4>; a 2x2 average
  // sums into ap_ufixed<14,6> (average_pool_accum_type); the max pool keeps its input type.
  Model m = make_builtin_model("fmnist-cnn", 4, 1);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.layer("relu1").precision.result = parse_precision("ap_ufixed<10,4>");
  m.layer("pool1").kind = LayerKind::AvgPool2D;
  m.layer("pool1").precision.result = parse_precision("ap_fixed<12,5>");
  m.layer("pool1").precision.accum = parse_precision("ap_fixed<8,4>");  // not used
  m.infer_shapes();
  io::HlsExportOptions o;
  o.keras_json = "cnn.json";
  ScratchDir dir;
  const io::HlsConfig c =
      io::load_hls_config(dir.write("cnn_json_hls4ml.yml", io::hls_config_yaml(m, o)));
  const io::HlsLayerSettings& avg = c.layers.at("pool1");
  EXPECT_EQ(avg.accum, parse_precision("ap_ufixed<14,6>"));
  EXPECT_EQ(avg.result, parse_precision("ap_fixed<12,5>"));
  const io::HlsLayerSettings& max = c.layers.at("pool2");  // after relu2: ap_fixed<16,6>
  EXPECT_EQ(max.accum, parse_precision("ap_fixed<16,6>"));
  EXPECT_EQ(max.result, parse_precision("ap_fixed<16,6>"));
}

}  // namespace
}  // namespace hwprune
