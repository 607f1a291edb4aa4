#include "app.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "commands.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

void CommandLine::run_chosen() {
  // The outputs a command declares (declare_output) are replaced together once it succeeds.
  StagedOutputs outputs;
  for (size_t i = 0; i < run.size(); ++i)
    if (app.got_subcommand(std::string(kCommands[i].name))) run[i]();
  outputs.commit();
}

std::unique_ptr<CommandLine> make_command_line() {
  auto c = std::make_unique<CommandLine>();
  CLI::App& app = c->app;
  app.set_version_flag("--version", std::string("hwprune ") + HWPRUNE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  hwprune train --model fmnist-cnn --data fashion-mnist --out fmnist.hwp\n"
      "  hwprune evaluate --model fmnist.hwp --data fashion-mnist\n"
      "  hwprune predict --model fmnist.hwp --data fashion-mnist --out preds.csv\n"
      "  hwprune prune --model jet-mlp --data letter --rf 2 --objective dsp --out jet.hwp\n"
      "  hwprune synth --model jet.hwp --data letter --out synth/\n"
      "  hwprune sweep sweep.yml\n"
      "  hwprune report sweep.yml prune.json --out report.html\n"
      "  hwprune estimate --model fmnist.hwp --rf 2\n"
      "  hwprune inspect model.onnx\n"
      "  hwprune convert fmnist.hwp fmnist.onnx\n"
      "Run 'hwprune <command> --help' for the options of a command.");
  for (const auto& cmd : kCommands) c->run.push_back(cmd.add(app));
  return c;
}

void run_words(const std::vector<std::string>& words, bool parse_only) {
  auto c = make_command_line();
  std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 takes them reversed
  try {
    c->app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    throw Error(fmt::format("{}: {}", words.empty() ? std::string("hwprune") : words[0], e.what()));
  }
  if (!parse_only) c->run_chosen();
}

std::string self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw Error("cannot find this program's executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace hwprune::cli
