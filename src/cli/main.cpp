// hwprune command-line entry point: runs the command line of app.hpp and turns an error into
// one line and exit code 1.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "app.hpp"
#include "hwprune/util/error.hpp"

namespace {

int fail(std::string_view message) {
  std::fflush(stdout);
  fmt::print(stderr, "hwprune: error: {}\n", hwprune::one_line(message));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto c = hwprune::cli::make_command_line();
  try {
    c->app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return c->app.exit(e);
  }
  try {
    c->run_chosen();
  } catch (const std::filesystem::filesystem_error& e) {
    // Named by its path, not by the library's "filesystem error: <call>: ..." text.
    return fail(e.path1().empty() ? std::string(e.code().message())
                                  : fmt::format("{}: {}", e.path1().string(), e.code().message()));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
