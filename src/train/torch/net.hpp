// A torch network built from an IR model: parameters in torch layout, masks and the
// constraints applied with them (shared weight groups, dead channels), the group
// regulariser, the quantized forward pass (training and inference), and the copy back into
// the IR.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "hwprune/ir/model.hpp"
#include "hwprune/structures/groups.hpp"
#include "hwprune/train/trainer.hpp"

namespace hwprune::train {

// Side results of an inference forward pass.
struct ForwardStats {
  // Per slot (0 = the input, 1 + i = layer i), values quantized, and values that
  // wrapped (overflowed a wrapping result type).
  std::vector<int64_t> values, wrapped;
  std::vector<double> max_abs;  // the largest magnitude before quantization
};

class Net {
 public:
  // zero_dead_channels: TrainConfig::zero_dead_channels.
  Net(const Model& model, bool quantize, GradientRule rule, double overflow_penalty,
      bool zero_dead_channels = false);

  // x: (N, sample...) channels-last. Returns the logits (the output of
  // Model::logits_layer()) in training mode or the last layer's output with train = false
  // and apply_final_softmax = true. With train = false no statistics are updated; the
  // result still has a graph back to the kernels unless grad mode is off.
  torch::Tensor forward(const torch::Tensor& x, bool train, bool apply_final_softmax = false,
                        ForwardStats* stats = nullptr);

  std::vector<torch::Tensor> parameters() const;  // in a fixed order
  // Enforces the constraints on the parameters (no grad), in this order: masked weights
  // become +0.0; each shared group's unmasked weights become the group's mean; with
  // zero_dead_channels, the bias of every output channel whose kernel is fully masked, and
  // the gamma/beta of the BatchNorm right after the layer (folded into it), become +0.0.
  void apply_masks();
  void set_mask(const std::string& layer, const Tensor& mask_keras_layout);
  // Trainer::set_widths: each kernel weight fake-quantized at its own width (empty: the
  // weight precision's).
  void set_widths(const std::string& layer, const Tensor& widths_keras_layout);
  // Trainer::add_shared_groups / clear_shared_groups (apply_masks() applies them).
  void add_shared_groups(const hw::GroupSet& groups);
  void clear_shared_groups();
  // Trainer::set_regulariser; regulariser() is its value with a graph to the kernels (a
  // 0-dim zero without penalties).
  void set_regulariser(const std::vector<GroupPenalty>& penalties);
  bool has_regulariser() const { return !penalties_.empty(); }
  torch::Tensor regulariser() const;

  const Model& model() const { return model_; }
  // The kernel of a Dense/Conv layer (torch layout) with masked weights 0, with a graph.
  torch::Tensor masked_kernel(size_t i) const;
  const torch::Tensor& kernel(size_t i) const { return st_[i].kernel; }
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
    torch::Tensor dead;  // zero_dead_channels: bool per output channel (fully masked), or
                         // undefined when no channel is dead
    // Layer::widths: per width narrower than the weight precision, where its weights are
    // (bool, kernel shape, torch layout).
    std::vector<std::pair<int, torch::Tensor>> narrow;
  };
  // Groups whose unmasked weights share one value (add_shared_groups).
  struct SharedGroups {
    size_t layer = 0;
    int64_t count = 0;    // number of groups
    torch::Tensor index;  // torch-layout flat kernel index of every member (int64)
    torch::Tensor group;  // the group of every member (int64)
  };
  // One GroupPenalty in gather form: members padded to (groups, max size) with the index
  // numel (a zero appended to the flat kernel).
  struct Penalty {
    size_t layer = 0;
    torch::Tensor index;      // (G, S) int64, flattened
    torch::Tensor valid;      // (G, S) float: 1 for a member, 0 for padding
    torch::Tensor size;       // (G) float: group sizes, at least 1
    torch::Tensor root_size;  // (G) float: sqrt(group size)
    int64_t groups = 0, width = 0;
    bool padded = false;    // some group is shorter than `width`
    double root_width = 0;  // sqrt(width), the common sqrt(|g|) when not padded
    double alpha = 0, beta = 0;
  };

  torch::Tensor weight_layer(size_t i, const torch::Tensor& x, bool train);
  torch::Tensor conv_op(const Layer& l, const torch::Tensor& x, const torch::Tensor& w) const;
  // The layer a GroupSet refers to (by name when it has one, else by index); Error naming
  // `what` and the layer when it does not exist or has no kernel.
  size_t group_layer(const hw::GroupSet& g, const char* what) const;
  // Torch-layout flat kernel indices of the members of `g`, checked against the kernel.
  torch::Tensor torch_members(size_t layer, const hw::GroupSet& g, const char* what) const;
  // The BatchNorm right after layer i (the one folded into it), or -1.
  int following_bn(size_t i) const;
  void update_dead(size_t i);
  // A weight/bias/scale quantized to its precision: saturating (hwprune writes in-range
  // weights). Identity when not quantizing.
  torch::Tensor param(const torch::Tensor& t, const Precision& p) const;
  // Layer i's kernel (or its folded kernel) quantized: param with the weight precision, each
  // weight at its own width (Layer::widths).
  torch::Tensor kernel_param(size_t i, const torch::Tensor& t) const;
  // Builds LayerState::narrow from `widths` (Keras layout) after checking it.
  void load_widths(size_t i, const Tensor& widths);
  // A layer's result (layer -1: the input) quantized to its precision. Training saturates
  // and adds the range-penalty gradient where the type wraps; inference uses the exact
  // type and counts wrapped values in stats_ when set.
  torch::Tensor result(const torch::Tensor& t, const Precision& p, bool train, int layer);

  Model model_;
  bool quantize_;
  GradientRule rule_;
  double overflow_penalty_;
  bool zero_dead_channels_;
  std::vector<LayerState> st_;
  std::vector<SharedGroups> shared_;
  std::vector<Penalty> penalties_;
  ForwardStats* stats_ = nullptr;
};

// Keras (IR) <-> torch kernel layouts.
torch::Tensor to_torch_layout(const Layer& l, const torch::Tensor& keras_kernel);  // a view
torch::Tensor to_torch_kernel(const Layer& l, const Tensor& t);
// For every flat Keras-layout kernel index k, the flat index of the same weight in the
// contiguous torch-layout kernel (int64, the kernel's size).
torch::Tensor keras_to_torch_index(const Layer& l);
Tensor from_torch_kernel(const Layer& l, const torch::Tensor& t);
torch::Tensor to_torch(const Tensor& t);  // copies
Tensor from_torch(const torch::Tensor& t);

}  // namespace hwprune::train
