// A .npz dataset (a zip of .npy arrays) read through the --data loader.
#include "fuzz.hpp"
#include "hwprune/data/loaders.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      fuzz::write("d.npz", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean([&] { data::load_data("npz:" + path); }, {"d.npz"});
  return 0;
}
