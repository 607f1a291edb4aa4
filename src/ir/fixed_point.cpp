#include "hwprune/ir/fixed_point.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hwprune/util/error.hpp"

namespace hwprune {

namespace {

using i128 = __int128;
using u128 = unsigned __int128;

// Integer bits are limited so that every value of every type, the step and the bounds are
// finite normal doubles: F = W - I lies in [1 - 900, 63 + 900] = [-899, 963], so 2^-F is
// normal and |raw * 2^-F| < 2^63 * 2^899 < DBL_MAX. Real types never come near this.
constexpr int kMinInteger = -900;
constexpr int kMaxInteger = 900;

constexpr std::array<std::pair<QuantMode, std::string_view>, 7> kQuantNames{{
    {QuantMode::TRN, "AP_TRN"},
    {QuantMode::TRN_ZERO, "AP_TRN_ZERO"},
    {QuantMode::RND, "AP_RND"},
    {QuantMode::RND_ZERO, "AP_RND_ZERO"},
    {QuantMode::RND_MIN_INF, "AP_RND_MIN_INF"},
    {QuantMode::RND_INF, "AP_RND_INF"},
    {QuantMode::RND_CONV, "AP_RND_CONV"},
}};

constexpr std::array<std::pair<OverflowMode, std::string_view>, 4> kOverflowNames{{
    {OverflowMode::WRAP, "AP_WRAP"},
    {OverflowMode::SAT, "AP_SAT"},
    {OverflowMode::SAT_ZERO, "AP_SAT_ZERO"},
    {OverflowMode::SAT_SYM, "AP_SAT_SYM"},
}};

// The exact integer a real value rounds to, before overflow handling. Small integers are held
// exactly; an integer of magnitude >= 2^64 (only reachable by shifting left) is "big": only
// its sign and its value modulo 2^64 (all WRAP needs, since W <= 63) are kept.
struct Rounded {
  i128 value = 0;  // exact when !big
  bool big = false;
  bool negative = false;  // sign when big
  uint64_t low64 = 0;     // value mod 2^64 when big
};

// Rounds a * 2^-k (k >= 1, |a| < 2^120) to an integer with mode q, exactly.
i128 round_shift_right(i128 a, int64_t k, QuantMode q) {
  if (a == 0) return 0;
  i128 floor_q;
  int cmp_half;  // remainder (a - floor_q * 2^k) compared with 2^(k-1): -1, 0, +1
  bool inexact;
  if (k >= 124) {
    // |a| < 2^(k-1): the value lies strictly inside (-1/2, 1/2), and is not 0.
    floor_q = a < 0 ? -1 : 0;
    cmp_half = a < 0 ? 1 : -1;  // a > 0: remainder a < half; a < 0: 2^k + a > half
    inexact = true;
  } else {
    floor_q = a >> k;  // arithmetic shift (C++20): floor division by 2^k
    const u128 mask = (u128{1} << k) - 1;
    const u128 rem = static_cast<u128>(a) & mask;
    const u128 half = u128{1} << (k - 1);
    cmp_half = rem < half ? -1 : (rem == half ? 0 : 1);
    inexact = rem != 0;
  }
  if (!inexact) return floor_q;
  const bool neg = a < 0;
  bool up = false;
  switch (q) {
    case QuantMode::TRN:
      up = false;
      break;
    case QuantMode::TRN_ZERO:
      up = neg;
      break;
    case QuantMode::RND:
      up = cmp_half >= 0;
      break;
    case QuantMode::RND_ZERO:
      up = cmp_half > 0 || (cmp_half == 0 && neg);
      break;
    case QuantMode::RND_MIN_INF:
      up = cmp_half > 0;
      break;
    case QuantMode::RND_INF:
      up = cmp_half > 0 || (cmp_half == 0 && !neg);
      break;
    case QuantMode::RND_CONV:
      up = cmp_half > 0 || (cmp_half == 0 && (floor_q & 1) != 0);
      break;
  }
  return up ? floor_q + 1 : floor_q;
}

// a * 2^k for k >= 0 and |a| <= 2^63.
Rounded shift_left(i128 a, int64_t k) {
  Rounded r;
  if (a == 0) return r;
  if (k < 64) {
    r.value = a * (i128{1} << k);  // |result| <= 2^126
  } else {
    r.big = true;
    r.negative = a < 0;
    r.low64 = 0;  // a multiple of 2^64
  }
  return r;
}

std::string quote(std::string_view text) {
  // One line whatever the input holds: control characters are escaped.
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// Why (width, integer) is not a valid type, or nullopt.
std::optional<std::string> range_problem(int64_t width, int64_t integer) {
  if (width < 1 || width > FixedType::kMaxWidth)
    return fmt::format("width {} out of range 1..{}", width, FixedType::kMaxWidth);
  if (integer < kMinInteger || integer > kMaxInteger)
    return fmt::format("integer bits {} out of range {}..{}", integer, kMinInteger, kMaxInteger);
  return std::nullopt;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Mode name without the optional "AP_" prefix, upper case.
std::string mode_key(std::string_view s) {
  std::string u = upper(s);
  if (u.rfind("AP_", 0) == 0) u.erase(0, 3);
  return u;
}

std::optional<QuantMode> find_quant(std::string_view s) {
  const std::string key = mode_key(s);
  for (const auto& [mode, name] : kQuantNames)
    if (name.substr(3) == key) return mode;
  return std::nullopt;
}

std::optional<OverflowMode> find_overflow(std::string_view s) {
  const std::string key = mode_key(s);
  for (const auto& [mode, name] : kOverflowNames)
    if (name.substr(3) == key) return mode;
  return std::nullopt;
}

// Parses a whole token as a decimal integer; nullopt if it is not one. Out-of-range values
// are reported through `overflowed` (the caller prints the token text).
std::optional<int64_t> parse_int(std::string_view tok, bool& overflowed) {
  overflowed = false;
  if (tok.empty()) return std::nullopt;
  std::string_view digits = tok;
  if (digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || (tok.front() == '+' && digits.front() == '-')) return std::nullopt;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range && ptr == digits.data() + digits.size()) {
    overflowed = true;
    return std::nullopt;
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string_view to_string(QuantMode q) {
  for (const auto& [mode, name] : kQuantNames)
    if (mode == q) return name;
  return "AP_?";
}

std::string_view to_string(OverflowMode o) {
  for (const auto& [mode, name] : kOverflowNames)
    if (mode == o) return name;
  return "AP_?";
}

FixedType FixedType::make(int width, int integer, bool is_signed, QuantMode q, OverflowMode o) {
  if (auto problem = range_problem(width, integer))
    throw Error(fmt::format("invalid fixed-point type ap_{}fixed<{},{}>: {}", is_signed ? "" : "u",
                            width, integer, *problem));
  FixedType t;
  t.width = width;
  t.integer = integer;
  t.is_signed = is_signed;
  t.quant = q;
  t.overflow = o;
  return t;
}

int64_t FixedType::raw_min() const {
  return is_signed ? -(int64_t{1} << (width - 1)) : 0;
}

int64_t FixedType::raw_max() const {
  const int bits = is_signed ? width - 1 : width;
  return static_cast<int64_t>((uint64_t{1} << bits) - 1);
}

double FixedType::step() const {
  return std::ldexp(1.0, -frac_bits());
}
double FixedType::min_value() const {
  return to_real(raw_min());
}
double FixedType::max_value() const {
  return to_real(raw_max());
}

double FixedType::to_real(int64_t raw) const {
  return std::ldexp(static_cast<double>(raw), -frac_bits());
}

namespace {

// Applies the overflow mode of `t` to the exactly rounded integer `r`.
int64_t apply_overflow(const FixedType& t, const Rounded& r) {
  const int64_t lo = t.raw_min();
  const int64_t hi = t.raw_max();
  const bool above = r.big ? !r.negative : r.value > hi;
  const bool below = r.big ? r.negative : r.value < lo;
  if (t.overflow == OverflowMode::WRAP) {
    if (!above && !below) return static_cast<int64_t>(r.value);
    uint64_t bits = r.big ? r.low64 : static_cast<uint64_t>(static_cast<u128>(r.value));
    bits &= (uint64_t{1} << t.width) - 1;
    if (t.is_signed && ((bits >> (t.width - 1)) & 1) != 0)
      bits |= ~uint64_t{0} << t.width;  // sign-extend
    return static_cast<int64_t>(bits);
  }
  switch (t.overflow) {
    case OverflowMode::SAT_ZERO:
      return above || below ? 0 : static_cast<int64_t>(r.value);
    case OverflowMode::SAT_SYM:
      if (t.is_signed) {
        // Xilinx (ap_fixed_base.h, overflow_adjust + the "underflow |= neg_src && low W-1
        // bits zero" check) turns min and anything below into min | 1 == -max; for W == 1
        // that bit pattern is min itself (-1), so a 1-bit type saturates like AP_SAT.
        const int64_t sym_lo = t.width > 1 ? -hi : lo;
        if (above) return hi;
        if (below || r.value == lo) return sym_lo;
        return static_cast<int64_t>(r.value);
      }
      [[fallthrough]];
    case OverflowMode::SAT:
    default:
      if (above) return hi;
      if (below) return lo;
      return static_cast<int64_t>(r.value);
  }
}

}  // namespace

int64_t FixedType::quantize_raw(double x) const {
  if (std::isnan(x)) throw Error(fmt::format("cannot quantize NaN to {}", str()));
  if (std::isinf(x))
    throw Error(fmt::format("cannot quantize {}inf to {}", x < 0 ? "-" : "+", str()));
  if (x == 0) return 0;
  // x = mant * 2^(exp - 53) exactly, |mant| < 2^53 (frexp handles subnormals too).
  int exp = 0;
  const double m = std::frexp(x, &exp);
  const auto mant = static_cast<int64_t>(std::ldexp(m, 53));
  // Scaled value x * 2^F = mant * 2^shift.
  const int64_t shift = int64_t{exp} - 53 + frac_bits();
  Rounded r;
  if (shift >= 0)
    r = shift_left(mant, shift);
  else
    r.value = round_shift_right(mant, -shift, quant);
  return apply_overflow(*this, r);
}

FloatQuantizer::FloatQuantizer(const FixedType& type)
    : type_(type),
      scale_(std::ldexp(1.0, type.frac_bits())),
      unscale_(std::ldexp(1.0, -type.frac_bits())),
      lo_(type.raw_min()),
      hi_(type.raw_max()) {}

float FloatQuantizer::exact(float x, bool* wrapped) const {
  const int64_t raw = type_.quantize_raw(static_cast<double>(x));
  if (wrapped)
    *wrapped = type_.overflow == OverflowMode::WRAP &&
               raw != saturating(type_).quantize_raw(static_cast<double>(x));
  return static_cast<float>(type_.to_real(raw));
}

float FloatQuantizer::operator()(float x, bool* wrapped) const {
  // x * 2^F is exact (a power of two times a float); below 2^52 its fraction is exact too.
  const double v = static_cast<double>(x) * scale_;
  if (!(std::fabs(v) < 0x1p52)) return exact(x, wrapped);  // NaN, inf, huge: the exact path
  double r = std::floor(v);
  const double frac = v - r;
  switch (type_.quant) {
    case QuantMode::TRN:
      break;
    case QuantMode::TRN_ZERO:
      r += frac != 0 && v < 0;
      break;
    case QuantMode::RND:
      r += frac >= 0.5;
      break;
    case QuantMode::RND_ZERO:
      r += frac > 0.5 || (frac == 0.5 && v < 0);
      break;
    case QuantMode::RND_MIN_INF:
      r += frac > 0.5;
      break;
    case QuantMode::RND_INF:
      r += frac > 0.5 || (frac == 0.5 && v > 0);
      break;
    case QuantMode::RND_CONV:
      r += frac > 0.5 || (frac == 0.5 && std::fmod(r, 2.0) != 0);
      break;
  }
  auto raw = static_cast<int64_t>(r);
  if (wrapped) *wrapped = false;
  if (raw > hi_ || raw < lo_ ||
      (raw == lo_ && type_.overflow == OverflowMode::SAT_SYM && type_.is_signed))
    return exact(x, wrapped);  // overflow: the exact path's modes
  return static_cast<float>(static_cast<double>(raw) * unscale_);
}

double FixedType::quantize(double x) const {
  return to_real(quantize_raw(x));
}

int64_t FixedType::requantize(int64_t raw, int src_frac_bits) const {
  // value = raw * 2^-src; target raw = raw * 2^(F - src).
  const int64_t shift = int64_t{frac_bits()} - src_frac_bits;
  Rounded r;
  if (shift >= 0)
    r = shift_left(raw, shift);
  else
    r.value = round_shift_right(raw, -shift, quant);
  return apply_overflow(*this, r);
}

std::string FixedType::str() const {
  const bool default_modes = quant == QuantMode::TRN && overflow == OverflowMode::WRAP;
  if (int_spelling && integer == width && default_modes)
    return fmt::format("ap_{}int<{}>", is_signed ? "" : "u", width);
  std::string s = fmt::format("ap_{}fixed<{},{}", is_signed ? "" : "u", width, integer);
  if (!default_modes) s += fmt::format(",{}", to_string(quant));
  if (overflow != OverflowMode::WRAP) s += fmt::format(",{}", to_string(overflow));
  s += '>';
  return s;
}

FixedType FixedType::parse(std::string_view text) {
  auto fail = [&](const std::string& why) -> Error {
    return Error(fmt::format("invalid fixed-point type {}: {}", quote(text), why));
  };
  std::string s;
  s.reserve(text.size());
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  if (s.empty()) throw fail("empty type");

  constexpr std::string_view kExpectAny =
      "expected ap_fixed<W,I[,Q[,O]]>, ap_ufixed<W,I[,Q[,O]]>, ap_int<W> or ap_uint<W>";
  const size_t open = s.find('<');
  if (open == std::string::npos) throw fail(std::string(kExpectAny));
  const std::string name = s.substr(0, open);
  bool is_fixed = false;
  bool is_signed = true;
  if (name == "ap_fixed" || name == "fixed") {
    is_fixed = true;
  } else if (name == "ap_ufixed" || name == "ufixed") {
    is_fixed = true;
    is_signed = false;
  } else if (name == "ap_int" || name == "int") {
  } else if (name == "ap_uint" || name == "uint") {
    is_signed = false;
  } else {
    throw fail(fmt::format("unknown type name {}; {}", quote(name), kExpectAny));
  }
  const std::string expect = is_fixed ? fmt::format("expected {}<W,I[,Q[,O]]>", name)
                                      : fmt::format("expected {}<W>", name);
  const size_t close = s.find('>', open);
  if (close == std::string::npos) throw fail(expect + " (missing '>')");
  if (close + 1 != s.size())
    throw fail(fmt::format("unexpected text {} after '>'", quote(s.substr(close + 1))));

  std::vector<std::string> args;
  {
    std::string_view body = std::string_view(s).substr(open + 1, close - open - 1);
    size_t pos = 0;
    while (true) {
      const size_t comma = body.find(',', pos);
      args.emplace_back(
          body.substr(pos, comma == std::string_view::npos ? body.npos : comma - pos));
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  const size_t max_args = is_fixed ? 5 : 1;
  const size_t min_args = is_fixed ? 2 : 1;
  if (args.size() < min_args || args.size() > max_args || (args.size() == 1 && args[0].empty()))
    throw fail(expect);
  for (const std::string& a : args)
    if (a.empty()) throw fail(expect + " (empty argument)");

  auto number = [&](const std::string& tok, const char* what) -> int64_t {
    bool overflowed = false;
    if (auto v = parse_int(tok, overflowed)) return *v;
    if (overflowed) {
      if (std::string_view(what) == "width")
        throw fail(fmt::format("width {} out of range 1..{}", tok, kMaxWidth));
      throw fail(fmt::format("integer bits {} out of range {}..{}", tok, kMinInteger, kMaxInteger));
    }
    throw fail(fmt::format("{} {} is not an integer", what, quote(tok)));
  };

  const int64_t width = number(args[0], "width");
  const int64_t integer = is_fixed ? number(args[1], "integer bits") : width;
  if (auto problem = range_problem(width, integer)) throw fail(*problem);

  FixedType t;
  t.width = static_cast<int>(width);
  t.integer = static_cast<int>(integer);
  t.is_signed = is_signed;
  t.int_spelling = !is_fixed;
  if (args.size() >= 3) {
    if (auto q = find_quant(args[2])) {
      t.quant = *q;
    } else if (find_overflow(args[2]) || mode_key(args[2]) == "WRAP_SM") {
      throw fail(fmt::format("{} is an overflow mode where the rounding mode Q belongs; {}",
                             quote(args[2]), expect));
    } else {
      throw fail(fmt::format("unknown rounding mode {}", quote(args[2])));
    }
  }
  if (args.size() >= 4) {
    if (auto o = find_overflow(args[3])) {
      t.overflow = *o;
    } else if (mode_key(args[3]) == "WRAP_SM") {
      throw fail("overflow mode AP_WRAP_SM is not supported");
    } else if (find_quant(args[3])) {
      throw fail(fmt::format("{} is a rounding mode where the overflow mode O belongs; {}",
                             quote(args[3]), expect));
    } else {
      throw fail(fmt::format("unknown overflow mode {}", quote(args[3])));
    }
  }
  if (args.size() == 5) {
    bool overflowed = false;
    const auto n = parse_int(args[4], overflowed);
    if (!n) throw fail(fmt::format("saturation bit count {} is not an integer", quote(args[4])));
    if (*n != 0) throw fail(fmt::format("saturation bit count N={} is not supported (only 0)", *n));
  }
  return t;
}

Precision parse_precision(std::string_view text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  if (s == "float" || s == "float32") return std::nullopt;
  return FixedType::parse(text);
}

std::string precision_str(const Precision& p) {
  return p ? p->str() : "float";
}

FixedType saturating(FixedType t) {
  if (t.overflow == OverflowMode::WRAP) t.overflow = OverflowMode::SAT;
  return t;
}

Precision saturating(const Precision& p) {
  return p ? Precision(saturating(*p)) : p;
}

FixedType at_width(const FixedType& type, int bits) {
  if (bits < 1 || bits > FixedType::kMaxWidth)
    throw Error(fmt::format("weight width {} is out of range (1..{})", bits, FixedType::kMaxWidth));
  FixedType t = type;
  t.width = bits;
  t.int_spelling = false;
  return t;
}

}  // namespace hwprune
