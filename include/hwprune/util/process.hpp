// Child processes: start a program with stdin from /dev/null and its output in a file, wait
// for it, or look for it on PATH. Used for Yosys (rtl) and a sweep's points (sweep).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace hwprune {

struct ProcessSpec {
  std::vector<std::string> argv = {};  // argv[0]: a path to the executable
  std::string dir = ".";               // working directory
  std::string output = {};             // stdout + stderr go here (created; truncated unless append)
  std::vector<std::string> env = {};   // "NAME=value" set on top of this process's environment
  bool append = false;
};

// Starts the process and returns its pid. Throws Error naming argv[0] when it cannot start
// (fork, the output file, the folder, or exec failing).
pid_t start_process(const ProcessSpec& spec);

// The exit status of a finished child: its exit code, or 128 + signal.
int exit_status(int wait_status);

// Waits for the child and returns exit_status.
int wait_process(pid_t pid);

// start_process + wait_process.
int run_process(const ProcessSpec& spec);

// `name` on PATH (or `name` itself when it holds a '/'), if it is an executable file.
std::optional<std::string> find_executable(const std::string& name);

}  // namespace hwprune
