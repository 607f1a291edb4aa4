// IDX image and label files (the Fashion-MNIST format) through the --data loader. The input
// is the images file, then "\nLABELS\n" and the labels file (without it: no labels).
#include "fuzz.hpp"
#include "hwprune/data/loaders.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSplit = "\nLABELS\n";
  const size_t at = input.find(kSplit);
  const std::string images = fuzz::write("i.idx", input.substr(0, at));
  std::string spec = "idx:" + images;
  if (at != std::string_view::npos)
    spec += ",labels=" + fuzz::write("l.idx", input.substr(at + kSplit.size()));
  fuzz::expect_clean([&] { data::load_data(spec); }, {"i.idx", "l.idx"});
  return 0;
}
