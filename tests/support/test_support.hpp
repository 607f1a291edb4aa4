// Helpers shared by the tests: scratch folders, the ../shared example data, running the CLI.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "hwprune/util/error.hpp"

namespace hwprune::test {

// A fresh, empty folder under the system temp dir, removed when the object dies.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("hwprune-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << bytes;
    return file(name);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ../shared next to the source checkout (or $HWPRUNE_SHARED_DIR); empty if absent.
inline std::string shared_dir() {
  if (const char* env = std::getenv("HWPRUNE_SHARED_DIR")) return env;
  std::filesystem::path p = std::filesystem::path(HWPRUNE_SOURCE_DIR) / ".." / "shared";
  return std::filesystem::exists(p) ? std::filesystem::canonical(p).string() : std::string();
}

// The message of the hwprune::Error thrown by f; fails the test if none is thrown or if the
// message is not a single line.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no hwprune::Error thrown";
  return "";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing its output.
inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs the hwprune CLI with the given arguments.
#ifdef HWPRUNE_CLI_PATH
inline CommandResult run_cli(const std::string& args) {
  return run_command(std::string("'") + HWPRUNE_CLI_PATH + "' " + args);
}

// A failed run: exit code 1 and a single "hwprune: error: ..." line containing `what`.
inline void expect_error(const CommandResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto pos = r.output.find("hwprune: error: ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  EXPECT_NE(r.output.find(what, pos), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\n', pos), r.output.size() - 1) << "more than one error line";
}
#endif

}  // namespace hwprune::test
