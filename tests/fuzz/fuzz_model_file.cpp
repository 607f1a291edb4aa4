// hwprune's model file (.hwp) as a whole: the zip archive, model.json and the .npy arrays.
#include "fuzz.hpp"
#include "hwprune/io/model_file.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      fuzz::write("m.hwp", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean([&] { fuzz::check_loaded(io::load_model_file(path).model, path); }, {"m.hwp"});
  return 0;
}
