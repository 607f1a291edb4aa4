// hwprune command-line entry point: registers the commands of kCommands, runs the chosen one
// and turns an error into one line and exit code 1.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <vector>

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
      "  hwprune predict --model fmnist.hwp --data fashion-mnist --out preds.csv\n"
      "  hwprune prune --model jet-mlp --data letter --rf 2 --objective dsp --out jet.hwp\n"
      "  hwprune synth --model jet.hwp --data letter --out synth/\n"
      "  hwprune estimate --model fmnist.hwp --rf 2\n"
      "  hwprune inspect model.onnx\n"
      "  hwprune convert fmnist.hwp fmnist.onnx\n"
      "Run 'hwprune <command> --help' for the options of a command.");
  std::vector<std::function<void()>> run;
  for (const auto& c : hwprune::cli::kCommands) run.push_back(c.add(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (size_t i = 0; i < run.size(); ++i)
      if (app.got_subcommand(std::string(hwprune::cli::kCommands[i].name))) run[i]();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hwprune: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
