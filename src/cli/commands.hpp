// The CLI subcommands, one table: each entry registers its options on the app and returns the
// function that runs it after parsing. main() and the top-level help come from this list.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string_view>

namespace hwprune::cli {

using AddCommand = std::function<void()> (*)(CLI::App& app);

std::function<void()> add_train_command(CLI::App& app);
std::function<void()> add_evaluate_command(CLI::App& app);
std::function<void()> add_predict_command(CLI::App& app);
std::function<void()> add_estimate_command(CLI::App& app);
std::function<void()> add_inspect_command(CLI::App& app);
std::function<void()> add_convert_command(CLI::App& app);
std::function<void()> add_prune_command(CLI::App& app);
std::function<void()> add_synth_command(CLI::App& app);
std::function<void()> add_sweep_command(CLI::App& app);
std::function<void()> add_report_command(CLI::App& app);

struct Command {
  std::string_view name;  // must equal the subcommand name the add function registers
  AddCommand add;
};
inline constexpr Command kCommands[] = {
    {"train", add_train_command},     {"evaluate", add_evaluate_command},
    {"predict", add_predict_command}, {"estimate", add_estimate_command},
    {"inspect", add_inspect_command}, {"convert", add_convert_command},
    {"prune", add_prune_command},     {"synth", add_synth_command},
    {"sweep", add_sweep_command},     {"report", add_report_command},
};

}  // namespace hwprune::cli
