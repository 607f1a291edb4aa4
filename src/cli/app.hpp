// The hwprune command line as an object: the app with every command of kCommands
// registered. main() runs it on argv; a sweep point runs `prune` and `synth` through it
// in-process, so a point takes exactly the options (and errors) of the commands.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hwprune::cli {

struct CommandLine {
  CLI::App app{"hwprune: hardware-aware pruning of quantized neural networks for FPGAs"};
  std::vector<std::function<void()>> run;  // per kCommands entry
  // Runs the command the parsed line chose.
  void run_chosen();
};

std::unique_ptr<CommandLine> make_command_line();

// Parses `words` (a command and its options, no program name) and, unless parse_only, runs
// the command. Error "<first word>: <CLI11's message>" when the words do not parse.
void run_words(const std::vector<std::string>& words, bool parse_only = false);

// This program's executable (for starting more of itself).
std::string self_executable();

}  // namespace hwprune::cli
