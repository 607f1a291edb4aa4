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
// range_penalty > 0 adds the gradient of range_penalty * sum((x - clamp(x, min, max))^2),
// the range penalty of wrapping result types (TrainConfig::overflow_penalty divided by the
// batch size), without building a graph for it: one custom backward does both.
torch::Tensor fake_quant(const torch::Tensor& x, const Precision& p, GradientRule rule,
                         double range_penalty = 0.0);

}  // namespace hwprune::train
