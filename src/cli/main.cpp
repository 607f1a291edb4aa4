// hwprune command-line entry point.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "commands.hpp"
#include "hwprune/util/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"hwprune: hardware-aware pruning of quantized neural networks for FPGAs"};
  app.set_version_flag("--version", std::string("hwprune ") + HWPRUNE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  hwprune train --model fmnist-cnn --data fashion-mnist --out fmnist.hwp\n"
      "  hwprune evaluate --model fmnist.hwp --data fashion-mnist\n"
      "  hwprune prune --model jet-mlp --data letter --rf 2 --objective dsp --out jet.hwp\n"
      "  hwprune synth --model jet.hwp --rf 2 --data letter --out synth/\n"
      "  hwprune estimate --model fmnist.hwp --rf 2\n"
      "  hwprune inspect model.onnx\n"
      "  hwprune convert fmnist.hwp fmnist.onnx\n"
      "Run 'hwprune <command> --help' for the options of a command.");
  auto train = hwprune::cli::add_train_command(app);
  auto evaluate = hwprune::cli::add_evaluate_command(app);
  auto estimate = hwprune::cli::add_estimate_command(app);
  auto inspect = hwprune::cli::add_inspect_command(app);
  auto convert = hwprune::cli::add_convert_command(app);
  auto prune = hwprune::cli::add_prune_command(app);
  auto synth = hwprune::cli::add_synth_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (app.got_subcommand("train")) train();
    if (app.got_subcommand("evaluate")) evaluate();
    if (app.got_subcommand("estimate")) estimate();
    if (app.got_subcommand("inspect")) inspect();
    if (app.got_subcommand("convert")) convert();
    if (app.got_subcommand("prune")) prune();
    if (app.got_subcommand("synth")) synth();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hwprune: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
