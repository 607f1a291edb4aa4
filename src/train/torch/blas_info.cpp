// Which BLAS LibTorch runs on (train::loaded_blas_library): read from the process's memory map, plus OpenBLAS's own
// build string when it is the one loaded.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "hwprune/train/trainer.hpp"

namespace hwprune::train {

std::string loaded_blas_library_impl() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> libs;
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = std::filesystem::path(path).filename().string();
    if (file.find("blas") == std::string::npos && file.find("mkl_rt") == std::string::npos)
      continue;
    std::error_code ec;
    const auto real = std::filesystem::canonical(path, ec);
    libs.insert(ec ? path : real.string());
  }
  std::string out;
  for (const auto& l : libs) out += (out.empty() ? "" : ", ") + l;
  if (out.empty()) out = "(no BLAS library mapped)";
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    out += std::string(" [") + fn() + "]";
  return out;
}

}  // namespace hwprune::train
