// model.json inside a valid model file: the input is model.json, the archive around it holds
// the arrays of the quantized every-layer model (fuzz.hpp), so the fuzzer works on the
// JSON's meaning rather than on the zip format.
#include "fuzz.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/io/zip.hpp"

using namespace hwprune;

namespace {

std::vector<std::pair<std::string, std::string>>& arrays() {
  static std::vector<std::pair<std::string, std::string>> members;
  return members;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string base = (fuzz::work_dir() / "base.hwp").string();
  io::save_model(base, fuzz::every_layer_quantized());
  io::ZipReader zip(base);
  for (const auto& name : zip.names())
    if (name != "model.json") arrays().emplace_back(name, zip.read(name));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (fuzz::work_dir() / "m.hwp").string();
  io::ZipWriter zip(path);
  for (const auto& [name, bytes] : arrays()) zip.add(name, bytes, false);
  zip.add("model.json", std::string(reinterpret_cast<const char*>(data), size), false);
  zip.commit();
  fuzz::expect_clean([&] { fuzz::check_loaded(io::load_model_file(path).model, path); }, {"m.hwp"});
  return 0;
}
