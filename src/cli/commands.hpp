// The CLI subcommands: each registers its options on the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace hwprune::cli {

// Adds the subcommand to `app`; returns the function that runs it after parsing.
std::function<void()> add_train_command(CLI::App& app);
std::function<void()> add_evaluate_command(CLI::App& app);
std::function<void()> add_estimate_command(CLI::App& app);
std::function<void()> add_inspect_command(CLI::App& app);
std::function<void()> add_convert_command(CLI::App& app);
std::function<void()> add_prune_command(CLI::App& app);
std::function<void()> add_synth_command(CLI::App& app);

}  // namespace hwprune::cli
