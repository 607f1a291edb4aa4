// A sweep file (hwprune sweep): YAML, the grid and point expansion, the options' words.
#include "fuzz.hpp"
#include "hwprune/sweep/spec.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      fuzz::write("s.yml", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean(
      [&] {
        const sweep::Spec spec = sweep::load_spec(path);
        for (const auto& p : spec.points) {
          sweep::option_words(p.options);
          sweep::point_threads(p);
        }
      },
      {"s.yml"});
  return 0;
}
