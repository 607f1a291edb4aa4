// Fake quantization of torch tensors with exact ap_fixed semantics (the same values as
// FixedType::quantize) and a straight-through gradient.
#pragma once

#include <torch/torch.h>

#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::train {

// The quantized values of x (no gradient). Exact for float32 inputs when W <= 24 (computed
// in float32), otherwise computed in float64.
torch::Tensor quantize_values(const torch::Tensor& x, const FixedType& t);

// Forward: quantize_values(x); backward: identity (STE) or identity inside the type's
// range only (ClippedSTE). A float precision (nullopt) returns x unchanged.
torch::Tensor fake_quant(const torch::Tensor& x, const Precision& p, GradientRule rule);

}  // namespace hwprune::train
