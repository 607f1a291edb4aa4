// Private to the ONNX importer/exporter: how a QONNX Quant node (scale 2^-F, zero point 0,
// bit width W, signed, narrow, rounding_mode) corresponds to an ap_fixed type.
#pragma once

#include <optional>
#include <string>

#include "hwprune/ir/fixed_point.hpp"

namespace hwprune::io::onnx_detail {

inline constexpr const char* kQonnxDomain = "qonnx.custom_op.general";
inline constexpr const char* kFinnDomain = "finn.custom_op.general";
// metadata_props key holding what Quant nodes cannot say (see docs/onnx.md).
inline constexpr const char* kMetadataKey = "hwprune";

bool is_quant_domain(const std::string& domain);

// The attributes and scalar inputs of one Quant node (zero point always 0).
struct QuantSpec {
  int bitwidth = 8;
  int frac_bits = 0;  // scale = 2^-frac_bits
  bool is_signed = true;
  bool narrow = false;
  std::string rounding = "ROUND";  // upper case
  bool operator==(const QuantSpec&) const = default;
};

// The Quant node hwprune writes for a type, or nullopt when no Quant node has the type's
// grid and range (signed 1-bit types, which QONNX treats as bipolar; a scale 2^-F that is
// not a normal float32). Overflow is always saturation in QONNX, so AP_WRAP/AP_SAT_ZERO map
// to plain saturation, and AP_RND/AP_RND_MIN_INF (no QONNX counterpart) to "ROUND".
std::optional<QuantSpec> quant_spec(const FixedType& t);
// Whether the Quant node of quant_spec(t) computes exactly what t computes on any input.
bool quant_is_exact(const FixedType& t);
// Whether quantizing values with the Quant node of quant_spec(t) gives the same values as
// saturating(t) (the weight/bias quantizer): only the rounding mode matters.
bool rounding_expressible(QuantMode q);
// The type a Quant node means. Throws Error (message without location) when it has no
// ap_fixed counterpart.
FixedType type_of_quant(const QuantSpec& s);
// Parses a QONNX rounding_mode (case-insensitive); Error for CEIL/UP/unknown.
QuantMode parse_rounding_mode(const std::string& mode);

}  // namespace hwprune::io::onnx_detail
