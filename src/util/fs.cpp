#include "hwprune/util/fs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune {

std::string read_file(const std::string& path) {
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::directory)
    throw Error(fmt::format("{}: is a directory", path));
  // A device (/dev/zero, /dev/urandom) would be read for ever; a pipe ends, so it is read.
  if (type == std::filesystem::file_type::character || type == std::filesystem::file_type::block ||
      type == std::filesystem::file_type::socket)
    throw Error(fmt::format("{}: not a file (a device or socket)", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: read error", path));
  return ss.str();
}

namespace {

std::string temp_name_for(const std::string& path) {
  std::random_device rd;
  return fmt::format("{}.tmp-{}-{:08x}", path, ::getpid(), rd());
}

}  // namespace

int remove_stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp-";
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    // <path>.tmp-<pid>-<8 hex digits>
    const std::string rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || rest.size() != dash + 9) continue;
    long pid = 0;
    try {
      size_t used = 0;
      pid = std::stol(rest.substr(0, dash), &used);
      if (used != dash || pid <= 0) continue;
    } catch (const std::exception&) {
      continue;
    }
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours)
    std::error_code tec;
    if (fs::remove(it->path(), tec)) ++removed;
  }
  return removed;
}

namespace {
thread_local StagedOutputs* current_stage = nullptr;
}  // namespace

StagedOutputs::StagedOutputs() : previous_(current_stage) {
  current_stage = this;
}

StagedOutputs::~StagedOutputs() {
  current_stage = previous_;
  std::error_code ec;
  for (const auto& [path, tmp] : staged_) std::filesystem::remove(tmp, ec);
}

StagedOutputs* StagedOutputs::current() {
  return current_stage;
}

namespace {
std::string normal(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}
}  // namespace

void StagedOutputs::hold(const std::string& path) {
  if (!holds(path)) held_.push_back(normal(path));
}

bool StagedOutputs::holds(const std::string& path) const {
  return std::find(held_.begin(), held_.end(), normal(path)) != held_.end();
}

void StagedOutputs::stage(const std::string& path, const std::string& tmp) {
  for (auto& [p, t] : staged_)
    if (normal(p) == normal(path)) {  // written again: the newer content wins
      std::error_code ec;
      std::filesystem::remove(t, ec);
      t = tmp;
      return;
    }
  staged_.emplace_back(path, tmp);
}

void StagedOutputs::commit() {
  auto staged = std::move(staged_);
  staged_.clear();
  for (size_t i = 0; i < staged.size(); ++i) {
    std::error_code ec;
    std::filesystem::rename(staged[i].second, staged[i].first, ec);
    if (ec) {
      for (size_t j = i; j < staged.size(); ++j) std::filesystem::remove(staged[j].second, ec);
      throw Error(fmt::format("{}: cannot rename temporary file into place ({})", staged[i].first,
                              ec.message()));
    }
  }
  std::error_code ec;
  for (const auto& path : obsolete_) std::filesystem::remove(path, ec);
  obsolete_.clear();
}

void remove_after_outputs(const std::string& path) {
  if (StagedOutputs* stage = StagedOutputs::current()) return stage->remove_on_commit(path);
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

void declare_output(const std::string& path, const std::string& what) {
  if (path.empty() || path == "-") return;
  check_output_folder(path, what);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(fmt::format("{} {}: is a directory", what, path));
  if (StagedOutputs* stage = StagedOutputs::current()) stage->hold(path);
}

void write_via_temp(const std::string& path, const std::function<void(const std::string&)>& write) {
  remove_stale_temps(path);
  const std::string tmp = temp_name_for(path);
  try {
    write(tmp);
    if (StagedOutputs* stage = StagedOutputs::current(); stage && stage->holds(path)) {
      stage->stage(path, tmp);
      return;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec)
      throw Error(
          fmt::format("{}: cannot rename temporary file into place ({})", path, ec.message()));
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

void check_output_folder(const std::string& path, const std::string& what) {
  if (path.empty()) return;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir))
    throw Error(fmt::format("{} {}: directory {} does not exist", what, path, dir.string()));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_via_temp(path, [&](const std::string& tmp) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(fmt::format("{}: cannot write ({})", path, std::strerror(errno)));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        throw Error(fmt::format("{}: write failed ({})", path, std::strerror(err)));
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0)
      throw Error(fmt::format("{}: write failed ({})", path, std::strerror(errno)));
  });
}

}  // namespace hwprune
