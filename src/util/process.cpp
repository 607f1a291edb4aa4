#include "hwprune/util/process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

extern char** environ;

namespace hwprune {

namespace {

// This process's environment with `overrides` ("NAME=value") replacing or adding entries.
std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> out;
  auto key = [](const std::string& e) { return e.substr(0, e.find('=')); };
  for (char** e = environ; e && *e; ++e) {
    const std::string entry(*e);
    bool replaced = false;
    for (const auto& o : overrides) replaced = replaced || key(o) == key(entry);
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), overrides.begin(), overrides.end());
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

pid_t start_process(const ProcessSpec& spec) {
  if (spec.argv.empty()) throw Error("start_process: no program given");
  const std::string& program = spec.argv[0];
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = merged_environment(spec.env);
  std::vector<char*> args = pointers(argv_strings), envp = pointers(env_strings);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    throw Error(fmt::format("cannot start {}: pipe ({})", program, std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    throw Error(fmt::format("cannot start {}: fork ({})", program, std::strerror(err)));
  }
  if (pid == 0) {  // child: async-signal-safe calls only
    int err = 0;
    const int in = ::open("/dev/null", O_RDONLY);
    const int out =
        ::open(spec.output.c_str(), O_WRONLY | O_CREAT | (spec.append ? O_APPEND : O_TRUNC), 0644);
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0 ||
        ::chdir(spec.dir.c_str()) != 0)
      err = errno;
    else
      ::execve(args[0], args.data(), envp.data());
    if (err == 0) err = errno;
    [[maybe_unused]] ssize_t w = ::write(pipefd[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int child_errno = 0;
  ssize_t got;
  do got = ::read(pipefd[0], &child_errno, sizeof child_errno);
  while (got < 0 && errno == EINTR);
  ::close(pipefd[0]);
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    int ignored = 0;
    while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
    throw Error(fmt::format("cannot run {} (in {}, output {}): {}", program, spec.dir, spec.output,
                            std::strerror(child_errno)));
  }
  return pid;
}

int exit_status(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

int wait_process(pid_t pid) {
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0)
    if (errno != EINTR)
      throw Error(fmt::format("waiting for process {}: {}", pid, std::strerror(errno)));
  return exit_status(wstatus);
}

int run_process(const ProcessSpec& spec) {
  return wait_process(start_process(spec));
}

std::optional<std::string> find_executable(const std::string& name) {
  namespace fs = std::filesystem;
  auto executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos)
    return executable(name) ? std::optional<std::string>(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (executable(p)) return p.string();
  }
  return std::nullopt;
}

}  // namespace hwprune
