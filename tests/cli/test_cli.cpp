// The hwprune command line: train/evaluate end to end on a small CSV, --json output, and
// clear one-line errors (non-zero exit, outputs untouched) for bad input.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/util/fs.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;
using ::testing::Not;

using test::write_blob_csv;

TEST(Cli, HelpHasExamples) {
  for (const char* cmd :
       {"--help", "train --help", "evaluate --help", "predict --help", "estimate --help",
        "inspect --help", "convert --help", "prune --help", "synth --help"}) {
    const auto r = run_cli(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.output, HasSubstr("Examples:")) << cmd;
  }
  EXPECT_NE(run_cli("").exit_code, 0);  // a subcommand is required
}

TEST(Cli, TrainThenEvaluateOnCsv) {
  ScratchDir dir;
  const std::string csv = write_blob_csv(dir, "jets.csv");
  const std::string model = dir.file("jet.hwp"), json = dir.file("train.json");
  const auto r = run_cli(fmt::format(
      "train --model jet-mlp --data 'csv:{},label=kind' --epochs 4 --batch-size 32 --lr 0.003 "
      "--precision 'ap_fixed<12,4,AP_RND,AP_SAT>' --threads 1 --out '{}' --json '{}'",
      csv, model, json));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("test accuracy:"));
  EXPECT_THAT(r.output, HasSubstr("20% held out (seed 1)"));
  EXPECT_THAT(r.output, HasSubstr("epoch 4/4"));  // plain progress lines when not a TTY
  const auto tj = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(tj["epochs_run"], 4);
  EXPECT_EQ(tj["test"]["samples"], 120);
  const double test_acc = tj["test"]["accuracy"];
  EXPECT_GT(test_acc, 0.9);

  // evaluate: the same held-out rows as training, by default.
  const auto e =
      run_cli(fmt::format("evaluate --model '{}' --data 'csv:{},label=kind' --json", model, csv));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const auto ej = nlohmann::json::parse(e.output);
  EXPECT_EQ(ej["metrics"]["samples"], 120);
  EXPECT_DOUBLE_EQ(ej["metrics"]["accuracy"].get<double>(), test_acc);
  EXPECT_EQ(ej["metrics"]["class_names"], (nlohmann::json{"gluon", "quark", "top"}));
  EXPECT_EQ(ej["metrics"]["confusion_matrix"].size(), 3u);

  // The text report has per-class accuracy and the confusion matrix.
  const auto t = run_cli(
      fmt::format("evaluate --model '{}' --data 'csv:{},label=kind' --split train", model, csv));
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_THAT(t.output, HasSubstr("quark"));
  EXPECT_THAT(t.output, HasSubstr("confusion matrix"));
  EXPECT_THAT(t.output, HasSubstr("(480 samples)"));

  // Training goes on from the saved file; with --json - stdout holds only the JSON.
  const auto more = test::run_command(fmt::format(
      "{{ '{}' train --model '{}' --data 'csv:{},label=kind' --epochs 1 --threads 1 --out '{}' "
      "--json - 2>/dev/null; }}",
      HWPRUNE_CLI_PATH, model, csv, dir.file("more.hwp")));
  ASSERT_EQ(more.exit_code, 0) << more.output;
  EXPECT_EQ(nlohmann::json::parse(more.output)["epochs_run"], 1);
}

TEST(Cli, BadInputIsAOneLineErrorAndKeepsOutputs) {
  ScratchDir dir;
  const std::string csv = write_blob_csv(dir, "ok.csv");
  const std::string out = dir.write("out.hwp", "precious");
  const std::string base =
      fmt::format("--data 'csv:{},label=kind' --epochs 1 --out '{}'", csv, out);

  expect_error(
      run_cli("train --model resnet " + base),
      "--model resnet: not a builtin model (jet-mlp, fmnist-cnn, svhn-cnn, mlp:<sizes>) and no "
      "such file");
  expect_error(run_cli("train --model jet-mlp --precision 'ap_fixed<16>' " + base),
               "invalid fixed-point type \"ap_fixed<16>\"");
  expect_error(run_cli("train --model jet-mlp --val-split 1.5 " + base),
               "--val-split must be in [0, 1)");
  expect_error(run_cli("train --model jet-mlp --optimizer rmsprop " + base),
               "unknown optimizer \"rmsprop\"");
  expect_error(run_cli("train --model jet-mlp --batch-size 0 " + base), "batch size must be > 0");
  expect_error(run_cli(fmt::format("train --model jet-mlp --data '{}' --out '{}'",
                                   dir.file("none.csv"), out)),
               "none.csv");
  const std::string bad_rows = dir.write("bad.csv", "a,b,kind\n1,2,x\n3,y\n");
  expect_error(run_cli(fmt::format("train --model jet-mlp --data 'csv:{},label=kind' --out '{}'",
                                   bad_rows, out)),
               "bad.csv:3: expected 3 fields, got 2");
  const std::string nan_rows = dir.write("nan.csv", "a,kind\n1,x\nnan,y\n");
  expect_error(run_cli(fmt::format("train --model jet-mlp --data 'csv:{},label=kind' --out '{}'",
                                   nan_rows, out)),
               "nan.csv");
  const std::string wide = write_blob_csv(dir, "wide.csv", 17);
  expect_error(
      run_cli(
          fmt::format("train --model fmnist-cnn --data 'csv:{},label=kind' --out '{}'", wide, out)),
      "builtin model 'fmnist-cnn' takes images (H, W, C), but the samples have shape (17,)");
  expect_error(run_cli("train --model mlp:64,x " + base), "mlp:64,x");
  expect_error(run_cli("train --model jet-mlp --rf 7 " + base),
               "N mod RF = 1024 mod 7 = 2, must be 0");
  expect_error(run_cli(fmt::format("evaluate --model '{}' --data 'csv:{},label=kind'", out, csv)),
               "out.hwp");
  EXPECT_EQ(read_file(out), "precious");
}

// Errors found by fuzzing and by hand (issue 18): a path the filesystem refuses and names
// from the input holding line breaks still give one line, naming the file.
TEST(Cli, ErrorsStayOneLineWhateverTheInputHolds) {
  ScratchDir dir;
  // A Keras file named relative to a YAML given without a folder (used to escape as
  // "filesystem error: cannot make absolute path").
  dir.write("c.yml", "KerasJson: x.json\n");
  const auto relative = test::run_command(
      fmt::format("cd '{}' && '{}' inspect c.yml", dir.file(""), HWPRUNE_CLI_PATH));
  expect_error(relative, "c.yml: KerasJson: x.json: no such file");
  EXPECT_THAT(relative.output, Not(HasSubstr("filesystem error")));
  // A name too long for the file system.
  dir.write("long.yml", "KerasJson: " + std::string(300, 'k') + ".json\n");
  const auto long_name = run_cli(fmt::format("inspect '{}'", dir.file("long.yml")));
  expect_error(long_name, "long.yml: KerasJson: ");
  EXPECT_THAT(long_name.output, HasSubstr("kkkk.json: File name too long"));
  EXPECT_THAT(long_name.output, Not(HasSubstr("filesystem error")));
  // A key holding a line break is printed escaped.
  dir.write("nl.yml", "KerasJson: x.json\n\"bad\\nkey\": 1\n");
  const auto newline = run_cli(fmt::format("inspect '{}'", dir.file("nl.yml")));
  expect_error(newline, "nl.yml");
}

// Every output location is checked before any work (issue 18): a missing folder, or a folder
// where a file is to be written, fails at once with the option and the path, and the files
// already there stay as they were.
TEST(Cli, OutputLocationsAreCheckedBeforeAnyWork) {
  ScratchDir dir;
  const std::string csv = write_blob_csv(dir, "ok.csv");
  const std::string out = dir.write("out.hwp", "precious");
  const std::string data = fmt::format("--data 'csv:{},label=kind'", csv);
  // 2000 epochs would take minutes: the error comes before the first.
  const auto train = run_cli(fmt::format("train --model jet-mlp {} --epochs 2000 --out '{}'", data,
                                         dir.file("nodir/x.hwp")));
  expect_error(train, fmt::format("--out {}: directory {} does not exist", dir.file("nodir/x.hwp"),
                                  dir.file("nodir")));
  const std::string prune =
      fmt::format("prune --model jet-mlp {} --baseline-epochs 2000 --out '{}' ", data, out);
  expect_error(run_cli(prune + fmt::format("--save-baseline '{}'", dir.file("nodir/b.hwp"))),
               "--save-baseline " + dir.file("nodir/b.hwp"));
  expect_error(run_cli(prune + fmt::format("--json '{}'", dir.file("nodir/r.json"))),
               "--json " + dir.file("nodir/r.json"));
  expect_error(run_cli(prune + fmt::format("--report '{}'", dir.file(""))), "is a directory");
  EXPECT_EQ(read_file(out), "precious");
  // An export writes several files: one that cannot be written stops it before the first.
  const auto trained = run_cli(
      fmt::format("train --model jet-mlp {} --epochs 1 --out '{}'", data, dir.file("m.hwp")));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const std::string json = dir.write("e.json", "precious");
  std::filesystem::create_directory(dir.file("e_weights.h5"));
  expect_error(run_cli(fmt::format("convert '{}' '{}'", dir.file("m.hwp"), json)),
               dir.file("e_weights.h5") + ": is a directory");
  EXPECT_EQ(read_file(json), "precious");
}

}  // namespace
}  // namespace hwprune
