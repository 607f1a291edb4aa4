// Opens the LibTorch training engine (libhwprune_torch.so) on first use: beside
// libhwprune_train.so, or the file $HWPRUNE_TORCH_ENGINE names.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "engine.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::train {

namespace {

// The folder this library (libhwprune_train.so) was loaded from.
std::filesystem::path own_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&engine_library), &info) == 0 || !info.dli_fname) return {};
  return std::filesystem::path(info.dli_fname).parent_path();
}

const EngineLibrary* open_engine() {
  std::string path;
  if (const char* env = std::getenv("HWPRUNE_TORCH_ENGINE"); env && *env) {
    path = env;
  } else {
    path = (own_folder() / "libhwprune_torch.so").string();
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error(fmt::format("cannot load the training engine (LibTorch) {}: {}", path,
                            why ? why : "unknown reason"));
  }
  using Entry = const EngineLibrary* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "hwprune_torch_engine"));
  if (!entry)
    throw Error(fmt::format("{}: not a hwprune training engine (no hwprune_torch_engine)", path));
  const EngineLibrary* lib = entry();
  if (!lib || lib->abi != kEngineAbi || !lib->make || !lib->blas_library)
    throw Error(fmt::format("{}: training engine from another hwprune build (ABI {}, expected {})",
                            path, lib ? lib->abi : -1, kEngineAbi));
  return lib;  // never closed: LibTorch does not support being unloaded
}

}  // namespace

const EngineLibrary& engine_library() {
  static std::mutex mutex;
  static const EngineLibrary* lib = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (!lib) lib = open_engine();  // a failure is retried (and reported) on the next call
  return *lib;
}

}  // namespace hwprune::train
