// A Keras / QKeras architecture JSON, read with the weights of the seed models (the quantized
// every-layer model and the Conv2D one, fuzz.hpp) so that layers find their arrays.
#include "fuzz.hpp"
#include "hwprune/io/keras.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::seed_exports();
  const std::string path =
      fuzz::write("m.json", std::string_view(reinterpret_cast<const char*>(data), size));
  for (const char* weights : {"e_weights.h5", "c_weights.h5"}) {
    const std::string h5 = (fuzz::work_dir() / weights).string();
    fuzz::expect_clean([&] { fuzz::check_loaded(io::load_keras(path, h5), path); },
                       {"m.json", weights});
  }
  return 0;
}
