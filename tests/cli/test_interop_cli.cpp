// hwprune inspect / convert and --hls-config on the command line, with the example models.
#include <filesystem>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/model_file.hpp"
#include "hwprune/util/fs.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;

std::string examples() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/example-models/";
}

TEST(InteropCli, InspectQkerasJetWithItsConfig) {
  const std::string ex = examples();
  if (ex.empty()) GTEST_SKIP() << "../shared (example models) is absent";
  const std::string args = fmt::format(
      "'{}keras/qkeras_3layer.json' --hls-config "
      "'{}config-files/qkeras_3layer_config.yml'",
      ex, ex);
  const auto table = run_cli("inspect " + args);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, HasSubstr("ap_fixed<6,1>"));
  EXPECT_THAT(table.output, HasSubstr("Latency"));
  const auto r = run_cli("inspect --json " + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  int dense = 0;
  for (const auto& l : j["layers"]) {
    if (l["type"] != "Dense") continue;
    ++dense;
    EXPECT_EQ(l["precision"]["weight"], "ap_fixed<6,1>") << l["name"];
    EXPECT_EQ(l["reuse_factor"], 1) << l["name"];
    EXPECT_EQ(l["strategy"], "Latency") << l["name"];
  }
  EXPECT_EQ(dense, 4);
  // The same through the YAML alone, and the estimate it implies: 6-bit weights use no DSP.
  const auto e =
      run_cli(fmt::format("estimate --json --model '{}config-files/qkeras_3layer_config.yml'", ex));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const auto est = nlohmann::json::parse(e.output);
  EXPECT_EQ(est["total"]["unpruned"]["dsp"], 0);
  EXPECT_EQ(est["total"]["unpruned"]["multipliers"], 4256);
}

TEST(InteropCli, ConvertSaysWhatHls4mlCannotReadInTheExport) {
  // A CNN to ONNX: hls4ml's ONNX reader wants QONNX's channels-last Conv and pooling; to plain
  // Keras no note; the QKeras flavour needs the qkeras package.
  ScratchDir dir;
  Model m = make_builtin_model("fmnist-cnn", 3, 2, {12, 12, 1});
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  const std::string hwp = dir.file("cnn.hwp");
  io::save_model(hwp, m);
  const auto onnx = run_cli(fmt::format("convert '{}' '{}'", hwp, dir.file("cnn.onnx")));
  ASSERT_EQ(onnx.exit_code, 0) << onnx.output;
  EXPECT_THAT(onnx.output, HasSubstr("note: hls4ml's ONNX reader takes 'conv1' (Conv2D) only"));
  EXPECT_THAT(onnx.output, HasSubstr("'conv2' (Conv2D)"));
  EXPECT_THAT(onnx.output, HasSubstr("'pool1' (MaxPooling2D)"));
  const auto keras = run_cli(fmt::format("convert '{}' '{}'", hwp, dir.file("cnn.json")));
  ASSERT_EQ(keras.exit_code, 0) << keras.output;
  EXPECT_THAT(keras.output, ::testing::Not(HasSubstr("note:")));
  const auto q =
      run_cli(fmt::format("convert '{}' '{}' --keras-flavour qkeras", hwp, dir.file("cnnq.json")));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_THAT(q.output, HasSubstr("note: hls4ml reads QKeras layers only with the qkeras"));

  // hls4ml's io_stream pooling asserts valid padding and strides equal to the pool size.
  Model same = m;
  same.layer("pool1").kind = LayerKind::AvgPool2D;
  same.layer("pool1").padding = Padding::Same;  // 10x10 -> 5x5 as before
  same.infer_shapes();
  const std::string same_hwp = dir.file("same.hwp");
  io::save_model(same_hwp, same);
  const auto stream = run_cli(
      fmt::format("convert '{}' '{}' --io-type io_stream", same_hwp, dir.file("stream.json")));
  ASSERT_EQ(stream.exit_code, 0) << stream.output;
  EXPECT_THAT(stream.output, HasSubstr("note: hls4ml's io_stream pooling takes only valid padding "
                                       "with strides equal to the pool size ('pool1': pool (2, "
                                       "2), strides (2, 2), same padding)"));
  EXPECT_THAT(stream.output, ::testing::Not(HasSubstr("'pool2'")));
  const auto parallel =
      run_cli(fmt::format("convert '{}' '{}'", same_hwp, dir.file("parallel.json")));
  ASSERT_EQ(parallel.exit_code, 0) << parallel.output;
  EXPECT_THAT(parallel.output, ::testing::Not(HasSubstr("note:")));
}

TEST(InteropCli, ConvertWritesModelAndHlsConfig) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 2);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  const std::string hwp = dir.file("jet.hwp");
  io::save_model(hwp, m);
  const auto r = run_cli(fmt::format("convert '{}' '{}' --rf 4", hwp, dir.file("jet.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"jet.json", "jet_weights.h5", "jet_json_hls4ml.yml"}) {
    EXPECT_THAT(r.output, HasSubstr(dir.file(f)));
    EXPECT_TRUE(std::filesystem::exists(dir.file(f))) << f;
  }
  // The same model as ONNX beside it writes its own config and leaves the Keras one (RF 4).
  const auto onnx = run_cli(fmt::format("convert '{}' '{}'", hwp, dir.file("jet.onnx")));
  ASSERT_EQ(onnx.exit_code, 0) << onnx.output;
  EXPECT_THAT(onnx.output, HasSubstr(dir.file("jet_onnx_hls4ml.yml")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("jet_onnx_hls4ml.yml")));
  const auto inspected =
      run_cli(fmt::format("inspect --json '{}'", dir.file("jet_json_hls4ml.yml")));
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  const auto j = nlohmann::json::parse(inspected.output);
  EXPECT_EQ(j["layers"][0]["reuse_factor"], 4);
  EXPECT_EQ(j["layers"][0]["precision"]["weight"], "ap_fixed<16,6>");
  EXPECT_EQ(j["parameters"], m.parameter_count());

  const std::string keep = dir.write("keep.onnx", "precious");
  expect_error(run_cli(fmt::format("convert '{}' '{}'", hwp, dir.file("jet.txt"))),
               "unknown model format \".txt\"");
  expect_error(run_cli(fmt::format("convert '{}' '{}'", dir.file("none.hwp"), keep)),
               "none.hwp: not a builtin model");
  expect_error(run_cli(fmt::format("inspect '{}' --hls-config '{}'", hwp, dir.file("no.yml"))),
               "no.yml: no such file");
  EXPECT_EQ(read_file(keep), "precious");
}

}  // namespace
}  // namespace hwprune
