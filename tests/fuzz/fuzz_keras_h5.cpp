// A Keras HDF5 file: as a full model (architecture in its model_config attribute, weights
// under model_weights/) and as the weights file of the seed architectures (fuzz.hpp).
#include "fuzz.hpp"
#include "hwprune/io/keras.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::seed_exports();
  const std::string path =
      fuzz::write("m.h5", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean([&] { fuzz::check_loaded(io::load_keras(path), path); }, {"m.h5"});
  for (const char* json : {"e.json", "c.json"}) {
    const std::string arch = (fuzz::work_dir() / json).string();
    fuzz::expect_clean([&] { fuzz::check_loaded(io::load_keras(arch, path), path); },
                       {"m.h5", json});
  }
  return 0;
}
