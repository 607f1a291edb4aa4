// QONNX Quant node <-> ap_fixed type mapping.
#include "onnx_quant.hpp"

#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::io::onnx_detail {

bool is_quant_domain(const std::string& domain) {
  return domain == kQonnxDomain || domain == kFinnDomain;
}

bool rounding_expressible(QuantMode q) {
  return q != QuantMode::RND && q != QuantMode::RND_MIN_INF;
}

namespace {
std::string rounding_name(QuantMode q) {
  switch (q) {
    case QuantMode::TRN:
      return "FLOOR";
    case QuantMode::TRN_ZERO:
      return "DOWN";
    case QuantMode::RND_CONV:
      return "ROUND";
    case QuantMode::RND_INF:
      return "HALF_UP";
    case QuantMode::RND_ZERO:
      return "HALF_DOWN";
    case QuantMode::RND:
    case QuantMode::RND_MIN_INF:
      break;
  }
  return "ROUND";
}
}  // namespace

std::optional<QuantSpec> quant_spec(const FixedType& t) {
  if (t.is_signed && t.width == 1) return std::nullopt;
  const float scale = std::ldexp(1.0f, -t.frac_bits());
  if (!std::isnormal(scale)) return std::nullopt;
  QuantSpec s;
  s.bitwidth = t.width;
  s.frac_bits = t.frac_bits();
  s.is_signed = t.is_signed;
  s.narrow = t.is_signed && t.overflow == OverflowMode::SAT_SYM;
  s.rounding = rounding_name(t.quant);
  return s;
}

bool quant_is_exact(const FixedType& t) {
  return quant_spec(t) && rounding_expressible(t.quant) &&
         (t.overflow == OverflowMode::SAT || t.overflow == OverflowMode::SAT_SYM);
}

QuantMode parse_rounding_mode(const std::string& mode) {
  std::string m = mode;
  for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (m == "ROUND" || m == "HALF_EVEN") return QuantMode::RND_CONV;
  if (m == "FLOOR") return QuantMode::TRN;
  if (m == "ROUND_TO_ZERO" || m == "DOWN") return QuantMode::TRN_ZERO;
  if (m == "HALF_UP") return QuantMode::RND_INF;
  if (m == "HALF_DOWN") return QuantMode::RND_ZERO;
  throw Error(fmt::format(
      "rounding_mode \"{}\" has no ap_fixed counterpart (ROUND, HALF_EVEN, FLOOR, DOWN, "
      "ROUND_TO_ZERO, HALF_UP, HALF_DOWN do)",
      mode));
}

FixedType type_of_quant(const QuantSpec& s) {
  if (s.bitwidth < 1 || s.bitwidth > FixedType::kMaxWidth)
    throw Error(
        fmt::format("bit width {} is out of range 1..{}", s.bitwidth, FixedType::kMaxWidth));
  if (s.is_signed && s.bitwidth == 1)
    throw Error("a signed 1-bit Quant is bipolar (+-scale), not a fixed-point type");
  if (!s.is_signed && s.narrow)
    throw Error("unsigned narrow range [0, 2^W - 2] has no ap_fixed counterpart");
  const QuantMode q = parse_rounding_mode(s.rounding);
  const OverflowMode o = s.narrow ? OverflowMode::SAT_SYM : OverflowMode::SAT;
  return FixedType::make(s.bitwidth, s.bitwidth - s.frac_bits, s.is_signed, q, o);
}

}  // namespace hwprune::io::onnx_detail
