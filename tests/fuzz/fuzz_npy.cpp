// A .npy file image: the header, every dtype and byte order, and the conversions to float32
// and int64 (which must give one value per element).
#include "fuzz.hpp"
#include "hwprune/io/npy.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clean(
      [&] {
        const io::NpyArray a = io::parse_npy(bytes, "x.npy");
        const int64_t n = a.numel();
        fuzz::expect_clean(
            [&] {
              if (static_cast<int64_t>(a.to_tensor("x.npy").data.size()) != n)
                fuzz::fail("to_tensor size differs from the shape", "x.npy");
            },
            {"x.npy"});
        fuzz::expect_clean(
            [&] {
              if (static_cast<int64_t>(a.to_int64("x.npy").size()) != n)
                fuzz::fail("to_int64 size differs from the shape", "x.npy");
            },
            {"x.npy"});
      },
      {"x.npy"});
  return 0;
}
