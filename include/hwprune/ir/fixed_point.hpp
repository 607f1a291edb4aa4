// Fixed-point types with Xilinx ap_fixed/ap_ufixed semantics (the types hls4ml emits),
// their exact string form, and a bit-exact quantizer working on integers.
//
// A type ap_fixed<W,I,Q,O> has W bits in all, I of them left of the binary point (the sign
// bit included for signed types), so F = W - I fractional bits; I may exceed W (F < 0, the
// step is 2^-F > 1) or be <= 0 (all bits fractional). A value is held as a raw integer r in
// [raw_min, raw_max] and means r * 2^-F. Converting a real number first rounds to a multiple
// of 2^-F according to Q, then handles overflow according to O (a carry from rounding can
// overflow).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hwprune {

// Quantization (rounding) modes, Vivado/Vitis HLS naming.
enum class QuantMode {
  TRN,          // floor, towards -inf (default)
  TRN_ZERO,     // towards zero
  RND,          // nearest, ties towards +inf
  RND_ZERO,     // nearest, ties towards zero
  RND_MIN_INF,  // nearest, ties towards -inf
  RND_INF,      // nearest, ties away from zero
  RND_CONV,     // nearest, ties to even (convergent)
};

// Overflow modes. AP_WRAP_SM and a non-zero saturation-bit count N are not supported
// (parse() refuses them with a clear error).
enum class OverflowMode {
  WRAP,      // keep the low W bits, two's complement (default)
  SAT,       // clamp to [min, max]
  SAT_ZERO,  // any overflow gives 0
  SAT_SYM,   // clamp to [-max, max] for signed types (the value min is also mapped to -max;
             // for W == 1, where -max == 0, Xilinx gives min: like SAT); unsigned: like SAT
};

std::string_view to_string(QuantMode q);     // "AP_TRN", ...
std::string_view to_string(OverflowMode o);  // "AP_WRAP", ...

struct FixedType {
  static constexpr int kMaxWidth = 63;  // raw values are int64

  int width = 16;   // W, 1..kMaxWidth
  int integer = 6;  // I (may be > W or <= 0)
  bool is_signed = true;
  QuantMode quant = QuantMode::TRN;
  OverflowMode overflow = OverflowMode::WRAP;
  // Spelling only: true for types written ap_int<W>/ap_uint<W> (I == W, default modes).
  // Ignored by operator==.
  bool int_spelling = false;

  // Throws Error if width/integer are out of range.
  static FixedType make(int width, int integer, bool is_signed = true, QuantMode q = QuantMode::TRN,
                        OverflowMode o = OverflowMode::WRAP);

  int frac_bits() const { return width - integer; }
  int64_t raw_min() const;  // -2^(W-1) signed, 0 unsigned
  int64_t raw_max() const;  // 2^(W-1)-1 signed, 2^W-1 unsigned
  double step() const;      // 2^-F
  double min_value() const;
  double max_value() const;
  double to_real(int64_t raw) const;  // raw * 2^-F, exact

  // Real -> raw integer, exactly as assigning a double to ap_fixed does. NaN and +-inf
  // throw Error.
  int64_t quantize_raw(double x) const;
  // Real -> real on this type's grid (to_real(quantize_raw(x))).
  double quantize(double x) const;
  // Value held as raw * 2^-src_frac_bits in another fixed type (any sign/width up to 63
  // bits, src_frac_bits may be negative) -> raw of this type. Integer arithmetic only; this
  // is what the RTL does when an accumulator is cast to the result type.
  int64_t requantize(int64_t raw, int src_frac_bits) const;

  // Exact hls4ml/Vivado string: "ap_fixed<16,6>", "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>",
  // "ap_int<8>". Mode arguments are printed only when not default (O forces Q).
  std::string str() const;
  // Parses ap_fixed<W,I[,Q[,O[,N]]]>, ap_ufixed<...>, ap_int<W>, ap_uint<W>, and hls4ml's
  // generic fixed<...>/ufixed<...>/int<W>/uint<W> (modes with or without the "AP_" prefix).
  // Whitespace is ignored. Anything else throws Error quoting the string.
  static FixedType parse(std::string_view text);

  bool operator==(const FixedType& o) const {
    return width == o.width && integer == o.integer && is_signed == o.is_signed &&
           quant == o.quant && overflow == o.overflow;
  }
};

// A layer precision is either a fixed-point type or unquantized float32.
using Precision = std::optional<FixedType>;
// "float" (or "float32") gives nullopt; otherwise FixedType::parse.
Precision parse_precision(std::string_view text);
std::string precision_str(const Precision& p);  // "float" for nullopt

// The same type with AP_WRAP replaced by AP_SAT (other modes unchanged). Weights and biases
// are quantized with it (hwprune writes the saturated values, so the hardware never wraps
// a weight), and so are results while training (QKeras clips). See docs/model-semantics.md.
FixedType saturating(FixedType t);
// Bits of the two's complement integer that holds every raw value of `t`: its width, one more
// for an unsigned type (what synthesis sees of an operand).
inline int signed_width(const FixedType& t) {
  return t.width + (t.is_signed ? 0 : 1);
}

// The type of a weight kept at `bits` bits (joint pruning and precision, Layer::widths): the
// same integer bits, signedness and modes, `bits` wide: the range stays, the step grows, and
// its grid lies on `type`'s when bits <= type.width. Error for bits outside 1..kMaxWidth.
FixedType at_width(const FixedType& type, int bits);
Precision saturating(const Precision& p);

// A float quantizer for one type, for the C++ reference inference (millions of values):
// q(x) == static_cast<float>(type.quantize(x)) for every finite float x (tested against
// quantize_raw on every mode), with the rounding done in double on x * 2^F (exact) instead of
// on the integer mantissa. NaN/inf are an Error as in quantize_raw.
class FloatQuantizer {
 public:
  explicit FloatQuantizer(const FixedType& type);
  // `wrapped` (optional) is set when the value overflowed an AP_WRAP type and wrapped.
  float operator()(float x, bool* wrapped = nullptr) const;

 private:
  float exact(float x, bool* wrapped) const;
  FixedType type_;
  double scale_, unscale_;  // 2^F, 2^-F
  int64_t lo_, hi_;
};

}  // namespace hwprune
