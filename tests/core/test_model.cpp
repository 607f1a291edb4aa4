// The model IR: shape inference and validation, builtins, initialisation, BatchNorm
// folding, the plain C++ reference forward pass, and the native model file.
#include <cmath>
#include <filesystem>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/io/model_file.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/fs.hpp"
#include "support/models.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using test::ScratchDir;
using ::testing::HasSubstr;

using test::every_layer_model;
using test::make_layer;
using test::random_tensor;

TEST(FitIntegerBits, TypesGetTheIntegerBitsTheirObservedRangeNeeds) {
  EXPECT_EQ(integer_bits_for(0.0, true), 1);
  EXPECT_EQ(integer_bits_for(3.99, true), 3);  // [-4, 4)
  EXPECT_EQ(integer_bits_for(4.0, true), 4);
  EXPECT_EQ(integer_bits_for(4.0, false), 3);  // [0, 8)
  const FixedType t = FixedType::parse("ap_fixed<8,3>");
  EXPECT_EQ(fitted_type(t, 3.5).str(), "ap_fixed<8,3>");
  EXPECT_EQ(fitted_type(t, 9.5).str(), "ap_fixed<8,5>");
  EXPECT_EQ(fitted_type(FixedType::parse("ap_fixed<4,2>"), 100).str(), "ap_fixed<8,8>");

  Model m;
  m.input_shape = {4};
  Layer d = make_layer("fc", LayerKind::Dense);
  d.units = 2;
  d.weights = {{"kernel", random_tensor({4, 2}, 1)}, {"bias", random_tensor({2}, 2)}};
  Layer s = make_layer("out", LayerKind::Dense);
  s.units = 2;
  s.weights = {{"kernel", random_tensor({2, 2}, 3)}, {"bias", random_tensor({2}, 4)}};
  m.layers = {d, s};
  m.infer_shapes();
  m.set_precision(parse_precision("ap_fixed<8,3>"));
  m.layers[1].precision.result = parse_precision("ap_fixed<8,3,AP_TRN,AP_SAT>");
  const auto lines = fit_integer_bits(
      m, {{"input", 5, 100, 20.0}, {"fc", 3, 100, 9.5}, {"out", 1, 100, 50.0}, {"gone", 1, 1, 9}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "input: type ap_fixed<8,3> -> ap_fixed<8,6> (|value| up to 20)");
  EXPECT_EQ(lines[1],
            "fc: result ap_fixed<8,3> -> ap_fixed<8,5> (|value| up to 9.5), accumulator "
            "ap_fixed<8,3> -> ap_fixed<8,5>");
  EXPECT_EQ(precision_str(m.input_precision), "ap_fixed<8,6>");
  EXPECT_EQ(precision_str(m.layers[0].precision.result), "ap_fixed<8,5>");
  EXPECT_EQ(precision_str(m.layers[0].precision.weight), "ap_fixed<8,3>");  // weights untouched
  // A saturating type does not wrap: left alone.
  EXPECT_EQ(precision_str(m.layers[1].precision.result), "ap_fixed<8,3,AP_TRN,AP_SAT>");
}

TEST(ModelShapes, EveryLayerType) {
  Model m = every_layer_model();
  EXPECT_EQ(m.layer("conv").output_shape, (Shape{5, 4}));
  EXPECT_EQ(m.layer("avg").output_shape, (Shape{5, 4}));
  EXPECT_EQ(m.layer("max").output_shape, (Shape{2, 4}));
  EXPECT_EQ(m.layer("max").strides, (std::vector<int64_t>{2}));  // pooling strides default
  EXPECT_EQ(m.layer("flat").output_shape, (Shape{8}));
  EXPECT_EQ(m.output_shape(), (Shape{3}));
  EXPECT_EQ(m.logits_layer(), m.layers.size() - 2);
}

TEST(ModelShapes, BuiltinsMatchTheirDocumentedShapes) {
  Model jet = make_builtin_model("jet-mlp", 5, 1);
  // 16-64-32-32-5: the hls4ml jet tagger, 4389 parameters (weights + biases).
  EXPECT_EQ(jet.parameter_count(), 16 * 64 + 64 + 64 * 32 + 32 + 32 * 32 + 32 + 32 * 5 + 5);
  EXPECT_EQ(jet.layer("fc1").weight("kernel").shape, (Shape{16, 64}));
  EXPECT_EQ(jet.output_shape(), (Shape{5}));

  Model cnn = make_builtin_model("fmnist-cnn", 10, 1);
  EXPECT_EQ(cnn.input_shape, (Shape{28, 28, 1}));
  EXPECT_EQ(cnn.layer("conv2").output_shape, (Shape{11, 11, 32}));
  EXPECT_EQ(cnn.layer("flatten").output_shape, (Shape{800}));
  EXPECT_EQ(cnn.layer("output").weight("kernel").shape, (Shape{800, 10}));

  Model svhn = make_builtin_model("svhn-cnn", 10, 1);
  EXPECT_EQ(svhn.input_shape, (Shape{32, 32, 3}));
  EXPECT_EQ(svhn.layer("conv3").weight("kernel").shape, (Shape{3, 3, 16, 24}));
  EXPECT_EQ(svhn.layer("flatten").output_shape, (Shape{96}));  // 32-30-15-13-6-4-2: 2x2x24
  EXPECT_EQ(svhn.layer("dense1").weight("kernel").shape, (Shape{96, 42}));
  EXPECT_EQ(svhn.layer("dense2").weight("kernel").shape, (Shape{42, 64}));
  EXPECT_FALSE(svhn.layer("conv1").use_bias);

  EXPECT_THAT(error_of([] { make_builtin_model("resnet", 10, 1); }),
              HasSubstr("unknown builtin model 'resnet'"));
}

TEST(ModelShapes, InitIsSeededAndGlorotBounded) {
  Model a = make_builtin_model("jet-mlp", 5, 7), b = make_builtin_model("jet-mlp", 5, 7),
        c = make_builtin_model("jet-mlp", 5, 8);
  EXPECT_EQ(a.layer("fc1").weight("kernel"), b.layer("fc1").weight("kernel"));
  EXPECT_NE(a.layer("fc1").weight("kernel"), c.layer("fc1").weight("kernel"));
  const float limit = std::sqrt(6.0f / (16 + 64));
  float max_abs = 0;
  for (float v : a.layer("fc1").weight("kernel").data) max_abs = std::max(max_abs, std::abs(v));
  EXPECT_LE(max_abs, limit);
  EXPECT_GT(max_abs, 0.9f * limit);
  for (float v : a.layer("fc1").weight("bias").data) EXPECT_EQ(v, 0.0f);
}

TEST(ModelShapes, ErrorsNameTheLayer) {
  Model m = make_builtin_model("jet-mlp", 5, 1);
  {
    Model bad = m;
    bad.layer("fc2").weights["kernel"] = Tensor({63, 32});
    EXPECT_THAT(
        error_of([&] { bad.infer_shapes(); }),
        HasSubstr("layer 'fc2' (Dense): weight 'kernel' has shape (63, 32), expected (64, 32)"));
  }
  {
    Model bad = m;
    bad.layers.insert(bad.layers.begin(), make_layer("flat", LayerKind::Flatten));
    bad.input_shape = {4, 4};
    bad.layers.insert(bad.layers.begin(), make_layer("c", LayerKind::Conv2D));
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }),
                HasSubstr("layer 'c' (Conv2D): needs an input of rank 3"));
  }
  {
    Model bad = m;
    bad.layer("fc1").mask = Tensor({16, 64}, 0.5f);
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }), HasSubstr("mask values must be 0 or 1"));
    bad.layer("fc1").mask = Tensor();
    bad.layer("fc1").widths = Tensor({16, 63}, 4.0f);
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }), HasSubstr("widths shape"));
    bad.layer("fc1").widths = Tensor({16, 64}, 4.0f);
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }),
                HasSubstr("weight widths need a fixed-point weight precision"));
    bad.set_precision(FixedType::parse("ap_fixed<8,3>"));
    bad.layer("fc1").widths.data[9] = 0.0f;
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }), HasSubstr("in 1..63, found 0"));
  }
  {
    Model bad = m;
    bad.layer("fc3").weight("bias").data[3] = std::nanf("");
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }),
                HasSubstr("layer 'fc3' (Dense): weight 'bias' holds a NaN"));
  }
  {
    Model bad = m;
    bad.layers[2].name = "fc1";
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }), HasSubstr("layer name 'fc1' is used twice"));
  }
  {
    Model bad = m;
    bad.input_shape = {4, 4};
    EXPECT_THAT(error_of([&] { bad.infer_shapes(); }),
                HasSubstr("layer 'fc1' (Dense): needs a flat input, got (4, 4)"));
  }
  EXPECT_THAT(error_of([&] { m.check_data({17}, 5, "x.csv"); }),
              HasSubstr("x.csv: samples have shape (17,), but model 'jet-mlp' takes (16,)"));
  EXPECT_THAT(error_of([&] { m.check_data({16}, 26, "x.csv"); }),
              HasSubstr("data has 26 classes, but model 'jet-mlp' has 5 outputs"));
}

// Hand-computed: Conv2D with "same" padding and stride 2 on a 3x3 single-channel input.
TEST(ReferenceForward, SamePaddedStridedConvByHand) {
  Model m;
  m.input_shape = {3, 3, 1};
  Layer c = make_layer("c", LayerKind::Conv2D);
  c.filters = 1;
  c.kernel_size = {2, 2};
  c.strides = {2, 2};
  c.padding = Padding::Same;
  // Keras: out = ceil(3/2) = 2; pad total = (2-1)*2 + 2 - 3 = 1 -> 0 before, 1 after.
  c.weights = {{"kernel", Tensor({2, 2, 1, 1}, {1, 2, 3, 4})},
               {"bias", Tensor({1}, std::vector<float>{0.5f})}};
  m.layers = {c};
  m.infer_shapes();
  const Tensor x({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor y = reference_forward(m, x, false);
  ASSERT_EQ(y.shape, (Shape{1, 2, 2, 1}));
  // (0,0): 1*1+2*2+4*3+5*4 = 37; (0,1): 3*1+6*3 = 21; (1,0): 7*1+8*2 = 23; (1,1): 9
  EXPECT_EQ(y.data, (std::vector<float>{37.5f, 21.5f, 23.5f, 9.5f}));
}

TEST(ReferenceForward, PoolingSamePaddingCountsValidElementsOnly) {
  Model m;
  m.input_shape = {3, 1};
  Layer a = make_layer("a", LayerKind::AvgPool1D);
  a.pool_size = {2};
  a.strides = {2};
  a.padding = Padding::Same;
  m.layers = {a};
  m.infer_shapes();
  const Tensor y = reference_forward(m, Tensor({1, 3, 1}, {1, 2, 6}), false);
  EXPECT_EQ(y.data, (std::vector<float>{1.5f, 6.0f}));  // the last window holds only 6
}

TEST(ReferenceForward, QuantizedDenseByHand) {
  Model m;
  m.input_shape = {2};
  Layer d = make_layer("d", LayerKind::Dense);
  d.units = 1;
  d.weights = {{"kernel", Tensor({2, 1}, {0.3f, -0.7f})},
               {"bias", Tensor({1}, std::vector<float>{0.1f})}};
  m.layers = {d};
  m.infer_shapes();
  m.set_precision(FixedType::parse("ap_fixed<6,3>"));  // step 1/8, range [-4, 3.875]
  // weights 0.25, -0.75; bias 0.0; input 1.3 -> 1.25, 2.1 -> 2.0
  // 1.25*0.25 - 2*0.75 = -1.1875 -> floor to 1/8: -1.25
  const Tensor y = reference_forward(m, Tensor({1, 2}, {1.3f, 2.1f}), true);
  EXPECT_EQ(y.data, (std::vector<float>{-1.25f}));
  // A weight out of range saturates (hwprune writes in-range weights); results still wrap.
  m.layer("d").weight("kernel").data[1] = -9.0f;  // -> -4, not wrapped to -1
  // 1.25 * 0.25 + 2 * -4 = -7.6875 -> floor -61.5/8 = -62/8, wraps by 64/8 to 2/8 = 0.25.
  // (A wrapped weight, -9 -> -1, would give 0.3125 - 2 -> -1.75.)
  EXPECT_EQ(reference_forward(m, Tensor({1, 2}, {1.3f, 2.1f}), true).data,
            (std::vector<float>{0.25f}));
  m.layer("d").weight("kernel").data[1] = -0.7f;
  m.layer("d").mask = Tensor({2, 1}, {1, 0});
  EXPECT_EQ(reference_forward(m, Tensor({1, 2}, {1.3f, 2.1f}), true).data,
            (std::vector<float>{0.25f}));  // 1.25 * 0.25 = 0.3125 -> 0.25
}

TEST(FoldBatchnorm, FloatOutputsUnchangedAndMasksKept) {
  Model m = every_layer_model();
  m.layer("dense").mask = Tensor({8, 5}, 1.0f);
  m.layer("dense").mask.data[3] = 0.0f;
  const Model f = fold_batchnorm(m);
  EXPECT_EQ(f.layers.size(), m.layers.size() - 2);
  EXPECT_EQ(f.layer("dense").mask, m.layer("dense").mask);
  EXPECT_THROW(f.layer("bn"), Error);
  const Tensor x = random_tensor({16, 9, 3}, 99, -2, 2);
  const Tensor a = reference_forward(m, x, false), b = reference_forward(f, x, false);
  ASSERT_EQ(a.shape, b.shape);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.data[i], b.data[i], 1e-5) << i;
}

TEST(ModelFile, RoundTripIsExact) {
  ScratchDir dir;
  Model m = every_layer_model();
  m.set_precision(FixedType::parse("ap_fixed<12,4,AP_RND_CONV,AP_SAT>"));
  m.layer("relu").precision.result = FixedType::parse("ap_ufixed<8,3>");
  m.layer("dense").precision.accum = std::nullopt;
  m.layer("dense").mask = Tensor({8, 5}, 1.0f);
  m.layer("dense").mask.data[7] = 0.0f;
  m.layer("conv").widths = Tensor({3, 3, 4}, 12.0f);
  m.layer("conv").widths.data[5] = 3.0f;
  m.standardisation = {{0.5f, -1.0f, 2.0f}, {1.0f, 3.0f, 0.25f}};
  m.standardisation.mean.resize(27, 0.125f);
  m.standardisation.scale.resize(27, 2.0f);
  m.class_names = {"a", "b", "c"};
  m.metadata["train.data"] = "csv:x.csv,label=y";
  const std::string path = dir.file("m.hwp");
  io::save_model_file(path, {m, std::string("\x01\x02optimizer\x00bytes", 17), "adam"});
  const io::ModelFile back = io::load_model_file(path);
  const Model& r = back.model;
  ASSERT_EQ(r.layers.size(), m.layers.size());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Layer &a = m.layers[i], &b = r.layers[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.weights, b.weights) << a.name;
    EXPECT_EQ(a.mask, b.mask) << a.name;
    EXPECT_EQ(a.widths, b.widths) << a.name;
    EXPECT_EQ(a.precision, b.precision) << a.name;
    EXPECT_EQ(a.strides, b.strides);
    EXPECT_EQ(a.padding, b.padding);
    EXPECT_EQ(a.rate, b.rate);
    EXPECT_EQ(a.epsilon, b.epsilon);
    EXPECT_EQ(a.output_shape, b.output_shape);
  }
  EXPECT_EQ(r.layer("relu").precision.result->str(), "ap_ufixed<8,3>");
  EXPECT_EQ(r.standardisation, m.standardisation);
  EXPECT_EQ(r.class_names, m.class_names);
  EXPECT_EQ(r.metadata, m.metadata);
  EXPECT_EQ(r.input_precision, m.input_precision);
  ASSERT_TRUE(back.optimizer_state.has_value());
  EXPECT_EQ(*back.optimizer_state, std::string("\x01\x02optimizer\x00bytes", 17));
  EXPECT_EQ(back.optimizer_kind, "adam");
  const Tensor x = random_tensor({4, 9, 3}, 5);
  EXPECT_EQ(reference_forward(m, x, true), reference_forward(r, x, true));
  // Every weight is a numpy-readable .npy member.
  io::ZipReader zip(path);
  EXPECT_EQ(io::parse_npy(zip.read("weights/dense/kernel.npy"), "k").to_tensor("k"),
            m.layer("dense").weight("kernel"));
}

TEST(ModelFile, MalformedFilesAreRefusedWithTheReason) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 1);
  m.set_precision(FixedType::parse("ap_fixed<16,6>"));
  m.layers[0].hardware.reuse_factor = 2;
  m.layers[0].hardware.strategy = Strategy::Resource;
  const std::string good = dir.file("good.hwp");
  io::save_model(good, m);

  auto rewrite = [&](const std::string& name, const std::string& member, const std::string& bytes) {
    io::ZipReader in(good);
    io::ZipWriter out(dir.file(name));
    for (const auto& n : in.names())
      if (n != member) out.add(n, in.read(n));
    if (!bytes.empty()) out.add(member, bytes);
    out.commit();
    return dir.file(name);
  };
  std::string json = io::ZipReader(good).read("model.json");
  auto replace = [&](std::string s, const std::string& from, const std::string& to) {
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
  };

  EXPECT_THAT(error_of([&] { io::load_model(dir.file("absent.hwp")); }), HasSubstr("absent.hwp"));
  EXPECT_THAT(error_of([&] { io::load_model(dir.write("text.hwp", "hello")); }),
              HasSubstr("text.hwp"));
  EXPECT_THAT(error_of([&] { io::load_model(rewrite("nojson.hwp", "model.json", "")); }),
              HasSubstr("nojson.hwp: not a hwprune model file (no model.json"));
  EXPECT_THAT(error_of([&] { io::load_model(rewrite("badjson.hwp", "model.json", "{oops")); }),
              HasSubstr("badjson.hwp: model.json is not valid JSON"));
  EXPECT_THAT(error_of([&] {
                io::load_model(rewrite("v9.hwp", "model.json",
                                       replace(json, "\"version\": 1", "\"version\": 9")));
              }),
              HasSubstr("v9.hwp: model format version 9 is not supported"));
  EXPECT_THAT(error_of([&] {
                io::load_model(rewrite("prec.hwp", "model.json",
                                       replace(json, "\"ap_fixed<16,6>\"", "\"ap_fixed<16>\"")));
              }),
              HasSubstr("prec.hwp: input: invalid fixed-point type \"ap_fixed<16>\""));
  EXPECT_THAT(error_of([&] { io::load_model(rewrite("noarr.hwp", "weights/fc2/kernel.npy", "")); }),
              HasSubstr("noarr.hwp: missing array \"weights/fc2/kernel.npy\""));
  EXPECT_THAT(error_of([&] {
                io::load_model(rewrite("shape.hwp", "weights/fc2/kernel.npy",
                                       io::npy_bytes(Tensor({32, 64}))));
              }),
              HasSubstr("shape.hwp: layer 'fc2' (Dense): weight 'kernel' has shape (32, 64)"));
  EXPECT_THAT(error_of([&] {
                io::load_model(rewrite("units.hwp", "model.json",
                                       replace(json, "\"units\": 64", "\"units\": \"64\"")));
              }),
              HasSubstr("units.hwp: layer 'fc1': field \"units\" has the wrong type"));
  EXPECT_THAT(error_of([&] {
                io::load_model(rewrite("kind.hwp", "model.json",
                                       replace(json, "\"type\": \"Dense\"", "\"type\": \"LSTM\"")));
              }),
              HasSubstr("kind.hwp: layer 'fc1': unknown layer type \"LSTM\""));
  EXPECT_THAT(
      error_of([&] {
        io::load_model(rewrite("rf.hwp", "model.json",
                               replace(json, "\"reuse_factor\": 2", "\"reuse_factor\": 0")));
      }),
      HasSubstr("rf.hwp: layer 'fc1' hardware: \"reuse_factor\" must be >= 1, got 0"));
  EXPECT_THAT(error_of([&] {
                io::load_model(rewrite("strategy.hwp", "model.json",
                                       replace(json, "\"Resource\"", "\"Fast\"")));
              }),
              HasSubstr("strategy.hwp: layer 'fc1' hardware: unknown strategy \"Fast\""));
}

TEST(ModelFile, FailedSaveKeepsTheExistingFile) {
  ScratchDir dir;
  const std::string path = dir.file("m.hwp");
  const Model good = make_builtin_model("jet-mlp", 5, 1);
  io::save_model(path, good);
  const std::string before = read_file(path);
  Model bad = good;
  bad.layer("fc1").weights["kernel"] = Tensor({3, 3});
  EXPECT_THAT(error_of([&] { io::save_model(path, bad); }), HasSubstr("layer 'fc1'"));
  EXPECT_EQ(read_file(path), before);
  // Unwritable target folder: the error names the path, nothing is left behind.
  EXPECT_THROW(io::save_model(dir.file("no/such/dir/m.hwp"), good), Error);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

}  // namespace
}  // namespace hwprune
