// An hls4ml YAML configuration and the model it names. Beside the input lie the seed models'
// exports (fuzz.hpp): e.json + e_weights.h5, e.onnx, c.json + c_weights.h5, so a config that
// names them is applied to a real model.
#include "fuzz.hpp"
#include "hwprune/io/hls_config.hpp"
#include "hwprune/io/keras.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::seed_exports();
  const std::string path =
      fuzz::write("h.yml", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean([&] { io::load_hls_config(path); }, {"h.yml"});
  fuzz::expect_clean([&] { fuzz::check_loaded(io::load_model_from_hls_config(path), path); },
                     {"h.yml", "e.json", "e_weights.h5", "e.onnx", "c.json", "c_weights.h5"});
  return 0;
}
