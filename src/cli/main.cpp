// hwprune command-line entry point: runs the command line of app.hpp and turns an error into
// one line and exit code 1.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "app.hpp"

int main(int argc, char** argv) {
  auto c = hwprune::cli::make_command_line();
  try {
    c->app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return c->app.exit(e);
  }
  try {
    c->run_chosen();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "hwprune: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
