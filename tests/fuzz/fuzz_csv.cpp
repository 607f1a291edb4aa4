// A CSV dataset through the --data loader. The input's first line is the spec's options
// (",label=...,header=...,delimiter=...,task=..."), the rest is the file.
#include "fuzz.hpp"
#include "hwprune/data/loaders.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  const std::string_view options = input.substr(0, eol);
  const std::string_view file = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  const std::string path = fuzz::write("d.csv", file);
  fuzz::expect_clean([&] { data::load_data("csv:" + path + std::string(options)); }, {"d.csv"});
  return 0;
}
