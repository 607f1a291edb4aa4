// hwprune predict: its outputs agree with evaluate (float QAT model) and with what synth's
// co-simulation checks the Verilog against (--integer); unlabelled data; every output format.
// And the commands that do not train start without LibTorch.
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/io/model_file.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/util/fs.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;

// 1,000 labelled rows (16 features, 4 classes, integer labels in the last column).
std::string write_csv(const ScratchDir& dir, const std::string& name, int64_t rows) {
  const data::Dataset d = test::make_blobs(rows, {16}, 4, 7, 1.6);
  std::string csv;
  for (int64_t i = 0; i < d.size(); ++i) {
    for (int j = 0; j < 16; ++j) csv += fmt::format("{},", d.x.data[i * 16 + j]);
    csv += fmt::format("{}\n", d.labels[i]);
  }
  return dir.write(name, csv);
}

std::vector<std::vector<std::string>> read_csv_rows(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

size_t column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << name;
  return static_cast<size_t>(it - header.begin());
}

// A jet-mlp trained briefly at RF 2 (recorded in the file) on all 1,000 rows.
struct Trained {
  ScratchDir dir;
  std::string csv, model;
  Trained() {
    csv = write_csv(dir, "rows.csv", 1000);
    model = dir.file("m.hwp");
    const auto r = run_cli(fmt::format(
        "train --model jet-mlp --data 'csv:{}' --test-split 0 --epochs 3 --lr 0.003 --rf 2 "
        "--threads 1 --quiet --out '{}'",
        csv, model));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
};

TEST(PredictCli, FloatOutputsOn1000RowsEqualEvaluatesAccuracy) {
  Trained t;
  const auto ev =
      run_cli(fmt::format("evaluate --model '{}' --data 'csv:{}' --json", t.model, t.csv));
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  const auto metrics = nlohmann::json::parse(ev.output)["metrics"];
  ASSERT_EQ(metrics["samples"], 1000);
  const std::string out = t.dir.file("p.csv");
  const auto pr =
      run_cli(fmt::format("predict --model '{}' --data 'csv:{}' --out '{}'", t.model, t.csv, out));
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  const auto rows = read_csv_rows(out);
  ASSERT_EQ(rows.size(), 1001u);
  const size_t label = column(rows[0], "label"), predicted = column(rows[0], "predicted");
  (void)column(rows[0], "probability_3");
  int correct = 0;
  for (size_t i = 1; i < rows.size(); ++i) correct += rows[i][label] == rows[i][predicted];
  EXPECT_EQ(correct, std::lround(metrics["accuracy"].get<double>() * 1000));
  // The confusion matrix is the same count, class by class.
  std::vector<std::vector<int64_t>> confusion(4, std::vector<int64_t>(4, 0));
  for (size_t i = 1; i < rows.size(); ++i)
    ++confusion[std::stoi(rows[i][label])][std::stoi(rows[i][predicted])];
  EXPECT_EQ(nlohmann::json(confusion), metrics["confusion_matrix"]);
  EXPECT_THAT(pr.output, HasSubstr(fmt::format("accuracy {:.2f}% against the labels",
                                               metrics["accuracy"].get<double>() * 100)));
}

TEST(PredictCli, IntegerOutputsAreWhatSynthCosimulatesAgainst) {
  Trained t;
  const std::string out = t.dir.file("raw.csv"), synth = t.dir.file("synth");
  const auto pr = run_cli(fmt::format("predict --model '{}' --data 'csv:{}' --integer --out '{}'",
                                      t.model, t.csv, out));
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  const auto sy =
      run_cli(fmt::format("synth --model '{}' --data 'csv:{}' --samples 1000 --no-yosys --out '{}'",
                          t.model, t.csv, synth));
  ASSERT_EQ(sy.exit_code, 0) << sy.output;
  EXPECT_THAT(sy.output, HasSubstr("0 mismatches"));
  const auto rows = read_csv_rows(out);
  const auto expected = read_csv_rows(synth + "/cosim/expected.txt");
  ASSERT_EQ(expected.size(), 1000u);
  ASSERT_EQ(rows.size(), 1001u);
  const size_t raw0 = column(rows[0], "raw_0");
  for (size_t i = 0; i < expected.size(); ++i) {
    std::istringstream ex(expected[i][0]);  // space-separated raw outputs
    for (size_t j = 0; j < 4; ++j) {
      int64_t v = 0;
      ex >> v;
      ASSERT_EQ(std::stoll(rows[i + 1][raw0 + j]), v) << "row " << i << " output " << j;
    }
  }
  // .npy: the raw integers as int64 (n, outputs).
  const std::string npy = t.dir.file("raw.npy");
  ASSERT_EQ(run_cli(fmt::format("predict --model '{}' --data 'csv:{}' --integer --out '{}'",
                                t.model, t.csv, npy))
                .exit_code,
            0);
  const io::NpyArray a = io::read_npy_file(npy);
  EXPECT_EQ(a.kind, 'i');
  EXPECT_EQ(a.shape, (Shape{1000, 4}));
  EXPECT_EQ(a.to_int64("raw")[5], std::stoll(rows[2][raw0 + 1]));
}

TEST(PredictCli, IntegerOutputsOfACnnAreTheIntegerModels) {
  // A small fmnist-cnn (Conv2D, ReLU, MaxPool, Flatten, Dense, Softmax) on 12x12 images
  // given as an unlabelled npy: predict --integer gives make_int_network's raw logits.
  ScratchDir dir;
  Model m = make_builtin_model("fmnist-cnn", 3, 4, {12, 12, 1});
  m.set_precision(parse_precision("ap_fixed<12,5>"));
  const std::string model = dir.file("cnn.hwp");
  io::save_model(model, m);
  const Tensor x = test::make_blobs(50, {12, 12, 1}, 3, 5, 1.0).x;
  const std::string npy = dir.write("x.npy", io::npy_bytes(x));
  const std::string out = dir.file("raw.npy");
  const auto r = run_cli(
      fmt::format("predict --model '{}' --data 'npy:{}' --integer --out '{}'", model, npy, out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const io::NpyArray a = io::read_npy_file(out);
  EXPECT_EQ(a.shape, (Shape{50, 3}));
  const std::vector<int64_t> raw = a.to_int64("raw");
  const IntNetwork net = make_int_network(m);
  for (int64_t s = 0; s < 50; ++s) {
    const auto want = net.run(net.quantize_input(x.ptr() + s * 144));
    for (int64_t j = 0; j < 3; ++j) ASSERT_EQ(raw[s * 3 + j], want[j]) << s << " " << j;
  }
}

TEST(PredictCli, UnlabelledRowsAndEveryFormat) {
  Trained t;
  // The same rows without their label column.
  std::string text = read_file(t.csv), features;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    features += line.substr(0, line.rfind(',')) + "\n";
  const std::string x = t.dir.write("x.csv", features);
  const auto pr =
      run_cli(fmt::format("predict --model '{}' --data 'csv:{},label=none' --json", t.model, x));
  ASSERT_EQ(pr.exit_code, 0) << pr.output;
  const auto j = nlohmann::json::parse(pr.output.substr(0, pr.output.rfind("}\n") + 2));
  ASSERT_EQ(j["rows"].size(), 1000u);
  EXPECT_FALSE(j["rows"][0].contains("label"));
  EXPECT_EQ(j["rows"][0]["scores"].size(), 4u);
  EXPECT_EQ(j["mode"], "float");
  // .npz holds every array; .npy the probabilities.
  const std::string npz = t.dir.file("p.npz"), npy = t.dir.file("p.npy");
  ASSERT_EQ(
      run_cli(fmt::format("predict --model '{}' --data 'csv:{}' --out '{}'", t.model, t.csv, npz))
          .exit_code,
      0);
  io::ZipReader z(npz);
  for (const char* m : {"scores.npy", "probabilities.npy", "predicted.npy", "labels.npy"})
    EXPECT_TRUE(z.contains(m)) << m;
  ASSERT_EQ(
      run_cli(fmt::format("predict --model '{}' --data 'csv:{}' --out '{}'", t.model, t.csv, npy))
          .exit_code,
      0);
  const Tensor p = io::read_npy_file(npy).to_tensor("p");
  EXPECT_EQ(p.shape, (Shape{1000, 4}));
  float sum = 0;
  for (int k = 0; k < 4; ++k) sum += p.data[k];
  EXPECT_NEAR(sum, 1.0f, 1e-5f);
  // Evaluation needs labels; a bad output type is refused before any work.
  expect_error(run_cli(fmt::format("evaluate --model '{}' --data 'csv:{},label=none'", t.model, x)),
               "no labels (an evaluation needs them)");
  const std::string kept = t.dir.write("p.txt", "precious");
  expect_error(
      run_cli(fmt::format("predict --model '{}' --data 'csv:{}' --out '{}'", t.model, t.csv, kept)),
      "unknown predictions file type \".txt\" (known: .csv, .npy, .npz)");
  EXPECT_EQ(read_file(kept), "precious");
}

// A model without class names (as imported from Keras) on labels that miss its highest class.
TEST(PredictCli, EvaluateAcceptsLabelsUsingSomeOfTheClasses) {
  ScratchDir dir;
  Model m = make_builtin_model("jet-mlp", 5, 1);
  m.set_precision(parse_precision("ap_fixed<16,6>"));
  m.class_names.clear();
  m.name = "model_1";
  io::save_model(dir.file("m.hwp"), m);
  const data::Dataset d = test::make_blobs(40, {16}, 4, 2);
  write_file_atomic(dir.file("X.npy"), io::npy_bytes(d.x));
  const std::vector<int64_t> y(d.labels.begin(), d.labels.end());
  write_file_atomic(dir.file("y.npy"), io::npy_bytes(y, {40}));
  const auto r = run_cli(fmt::format("evaluate --model '{}' --data 'npy:{},labels={}' --json",
                                     dir.file("m.hwp"), dir.file("X.npy"), dir.file("y.npy")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output)["metrics"];
  EXPECT_EQ(j["samples"], 40);
  EXPECT_EQ(j["confusion_matrix"].size(), 5u);
  EXPECT_TRUE(j["per_class_accuracy"][4].is_null());  // no samples of class 4
}

// Builtins take the data's input shape and classes; mlp:<sizes> its hidden sizes.
TEST(PredictCli, BuiltinsFitTheUsersData) {
  ScratchDir dir;
  const std::string csv = test::write_blob_csv(dir, "wide.csv", 36);
  for (const char* builtin : {"jet-mlp", "mlp:24,12"}) {
    const std::string out = dir.file("b.hwp");
    const auto r = run_cli(
        fmt::format("train --model {} --data 'csv:{},label=kind' --epochs 1 --quiet --out '{}'",
                    builtin, csv, out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const Model m = io::load_model(out);
    EXPECT_EQ(m.input_shape, (Shape{36})) << builtin;
    EXPECT_EQ(m.output_size(), 3) << builtin;
    if (std::string(builtin) == "mlp:24,12") {
      EXPECT_EQ(m.layer("fc2").units, 12);
    }
  }
}

// Commands that do not train never load LibTorch (docs/startup.md).
TEST(PredictCli, CommandsThatDoNotTrainDoNotLoadLibTorch) {
  Trained t;
  for (const std::string& args :
       {std::string("--version"), std::string("--help"), std::string("prune --help"),
        std::string("estimate --model jet-mlp --rf 2"), "inspect '" + t.model + "'",
        fmt::format("evaluate --model '{}' --data 'csv:{}'", t.model, t.csv),
        fmt::format("predict --model '{}' --data 'csv:{}' --integer", t.model, t.csv),
        fmt::format("convert '{}' '{}'", t.model, t.dir.file("m.onnx"))}) {
    const auto r = test::run_command(
        fmt::format("(LD_DEBUG=files '{}' {} 2>&1 >/dev/null)", HWPRUNE_CLI_PATH, args));
    EXPECT_THAT(r.output, HasSubstr("libhwprune_core")) << args;  // the trace is there
    EXPECT_EQ(r.output.find("libtorch"), std::string::npos) << args;
    EXPECT_EQ(r.output.find("libhwprune_torch"), std::string::npos) << args;
  }
  // Training does (the engine is opened on the first Trainer).
  const auto r = test::run_command(fmt::format(
      "(LD_DEBUG=files '{}' train --model jet-mlp --data 'csv:{}' --epochs 1 --quiet --out '{}' "
      "2>&1 >/dev/null)",
      HWPRUNE_CLI_PATH, t.csv, t.dir.file("t.hwp")));
  EXPECT_THAT(r.output, HasSubstr("libhwprune_torch"));
}

}  // namespace
}  // namespace hwprune
