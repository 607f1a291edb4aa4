// Fixed-point type strings (ap_fixed<...>, fixed<...>, float) and QKeras quantizer strings.
// Beyond a clean error: every type parsed prints a string that parses back to the same type.
#include "fuzz.hpp"
#include "hwprune/io/keras.hpp"
#include "hwprune/ir/fixed_point.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clean([&] {
    const Precision p = parse_precision(text);
    const std::string printed = precision_str(p);
    const Precision again =
        fuzz::must("printed type refused: " + printed, [&] { return parse_precision(printed); });
    if (again != p) fuzz::fail("type changed by printing and parsing", printed);
  });
  fuzz::expect_clean([&] {
    const FixedType t = io::parse_qkeras_quantizer(text);
    if (!io::qkeras_exact(t))
      fuzz::fail("quantizer parsed to a type QKeras does not compute", t.str());
    const std::string printed = io::qkeras_quantizer_str(t);
    const FixedType again = fuzz::must("printed quantizer refused: " + printed,
                                       [&] { return io::parse_qkeras_quantizer(printed); });
    if (!(again == t)) fuzz::fail("quantizer changed by printing and parsing", printed);
  });
  return 0;
}
