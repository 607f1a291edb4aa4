// A torch network built from an IR model: parameters in torch layout, masks, the
// quantized forward pass (training and inference), and the copy back into the IR.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "hwprune/ir/model.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::train {

// Side results of an inference forward pass.
struct ForwardStats {
  // Per slot (0 = the input, 1 + i = layer i), values quantized, and values that
  // wrapped (overflowed a wrapping result type).
  std::vector<int64_t> values, wrapped;
};

class Net {
 public:
  Net(const Model& model, bool quantize, GradientRule rule, double overflow_penalty);

  // x: (N, sample...) channels-last. Returns the logits (the output of
  // Model::logits_layer()) in training mode or the last layer's output with train = false
  // and apply_final_softmax = true.
  torch::Tensor forward(const torch::Tensor& x, bool train, bool apply_final_softmax = false,
                        ForwardStats* stats = nullptr);

  std::vector<torch::Tensor> parameters() const;  // in a fixed order
  void apply_masks();                             // zeroes masked weights (no grad)
  void set_mask(const std::string& layer, const Tensor& mask_keras_layout);
  // Parameters and buffers, for snapshots (early stopping).
  std::vector<torch::Tensor> state() const;
  void load_state(const std::vector<torch::Tensor>& snapshot);
  void sync_to(Model& model) const;

 private:
  struct LayerState {
    torch::Tensor kernel, bias;  // Dense (in, out) / Conv (F, C, K...) torch layout
    torch::Tensor mask;          // kernel's shape, or undefined
    torch::Tensor gamma, beta;   // BatchNorm
    torch::Tensor running_mean, running_var;
    int folded_bn = -1;  // index of a BatchNorm folded into this layer
    bool skip = false;   // a BatchNorm folded into the previous layer
  };

  torch::Tensor weight_layer(size_t i, const torch::Tensor& x, bool train);
  torch::Tensor conv_op(const Layer& l, const torch::Tensor& x, const torch::Tensor& w) const;
  torch::Tensor masked_kernel(size_t i) const;
  // A weight/bias/scale quantized to its precision: saturating (hwprune writes in-range
  // weights). Identity when not quantizing.
  torch::Tensor param(const torch::Tensor& t, const Precision& p) const;
  // A layer's result (layer -1: the input) quantized to its precision. Training saturates
  // and adds the range-penalty gradient where the type wraps; inference uses the exact
  // type and counts wrapped values in stats_ when set.
  torch::Tensor result(const torch::Tensor& t, const Precision& p, bool train, int layer);

  Model model_;
  bool quantize_;
  GradientRule rule_;
  double overflow_penalty_;
  std::vector<LayerState> st_;
  ForwardStats* stats_ = nullptr;
};

// Keras (IR) <-> torch kernel layouts.
torch::Tensor to_torch_kernel(const Layer& l, const Tensor& t);
Tensor from_torch_kernel(const Layer& l, const torch::Tensor& t);
torch::Tensor to_torch(const Tensor& t);  // copies
Tensor from_torch(const torch::Tensor& t);

}  // namespace hwprune::train
