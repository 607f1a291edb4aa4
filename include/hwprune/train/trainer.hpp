// The training engine: quantization-aware training of an IR model on LibTorch.
// This header does not include torch, and libhwprune_train does not link it: the first
// Trainer opens the LibTorch implementation (src/train/torch/, libhwprune_torch.so), so a
// program loads LibTorch only when it trains (docs/startup.md). Semantics of the quantized forward
// pass: docs/model-semantics.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hwprune/data/dataset.hpp"
#include "hwprune/data/metrics.hpp"
#include "hwprune/hw/weight_groups.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/names.hpp"

namespace hwprune::train {

enum class OptimizerKind { Adam, SGD };
enum class LossKind { Auto, CrossEntropy, MSE };  // Auto: from the model's task
enum class LrSchedule { Constant, Step, Cosine };
// Backward rule of the fake quantizers (weights, biases, activations):
//   STE        identity everywhere (QKeras: x + stop_gradient(q(x) - x))
//   ClippedSTE identity inside the type's range [min, max], zero where it saturates/wraps
enum class GradientRule { STE, ClippedSTE };

inline constexpr NameTable<OptimizerKind, 2> kOptimizerNames{
    "optimizer",
    {{{"adam", OptimizerKind::Adam, "Adam"}, {"sgd", OptimizerKind::SGD, "SGD with momentum"}}}};
inline constexpr NameTable<LrSchedule, 3> kLrScheduleNames{
    "learning-rate schedule",
    {{{"constant", LrSchedule::Constant, "the same rate every epoch"},
      {"step", LrSchedule::Step, "times lr_gamma every lr_step_epochs epochs"},
      {"cosine", LrSchedule::Cosine, "cosine decay to lr_min"}}}};
inline constexpr NameTable<GradientRule, 2> kGradientRuleNames{
    "gradient rule",
    {{{"ste", GradientRule::STE, "identity everywhere (QKeras)"},
      {"clipped", GradientRule::ClippedSTE, "zero where the quantizer saturates or wraps"}}}};
inline std::string_view to_string(OptimizerKind k) {
  return kOptimizerNames.name(k);
}
inline OptimizerKind parse_optimizer(std::string_view s) {
  return kOptimizerNames.parse(s);
}
inline std::string_view to_string(LrSchedule s) {
  return kLrScheduleNames.name(s);
}
inline LrSchedule parse_schedule(std::string_view s) {
  return kLrScheduleNames.parse(s);
}
inline std::string_view to_string(GradientRule g) {
  return kGradientRuleNames.name(g);
}
inline GradientRule parse_gradient_rule(std::string_view s) {
  return kGradientRuleNames.parse(s);
}

struct TrainConfig {
  int epochs = 10;
  int64_t batch_size = 128;
  double lr = 1e-3;
  OptimizerKind optimizer = OptimizerKind::Adam;
  double momentum = 0.9;  // SGD
  double weight_decay = 0.0;
  LossKind loss = LossKind::Auto;
  LrSchedule schedule = LrSchedule::Constant;
  int lr_step_epochs = 10;  // Step: multiply by lr_gamma every lr_step_epochs epochs
  double lr_gamma = 0.1;
  double lr_min = 0.0;              // Cosine: final learning rate
  int early_stopping_patience = 0;  // 0 = off; else stop after this many epochs without a
                                    // better validation loss, and restore the best weights
  // Early stopping watches the validation metric (accuracy, or MSE for a regression)
  // instead of the loss; ties keep the earlier epoch.
  bool early_stopping_on_metric = false;
  // An epoch counts as better only when it improves on the best by more than this (in the
  // watched quantity's units: loss, accuracy or MSE).
  double early_stopping_min_delta = 0.0;
  uint64_t seed = 1;
  int threads = 1;
  GradientRule gradient_rule = GradientRule::STE;
  bool quantize = true;  // false ignores every precision (float training)
  // Weight of the range penalty added to the loss while training: for every result whose
  // type wraps (AP_WRAP), the squared distance of its values beyond [min, max], summed per
  // sample and averaged over the batch. Training saturates there, but the hardware would
  // wrap; the penalty keeps the trained network inside the range. 0 turns it off. Only its
  // gradient is computed (in the quantizer's backward); reported losses exclude it.
  double overflow_penalty = 1.0;
  // Structured masks: a Dense/Conv output channel whose kernel weights are all masked also
  // has its bias, and the gamma and beta of a BatchNorm folded into the layer (the
  // BatchNorm right after it, also when training in float), held at exactly +0.0 from
  // construction/set_mask on and after every optimizer step, so the channel outputs 0 and
  // can be removed physically (structures::remove_zero_structures) without changing the
  // network's outputs.
  bool zero_dead_channels = false;
  // Distillation: with a training set that carries a teacher's outputs (Dataset::teacher),
  // the loss minimised is (1 - w) * loss + w * teacher term, w = distill_weight in [0, 1].
  // Teacher term for a classifier: T^2 * KL(softmax(teacher / T) || softmax(output / T))
  // with T = distill_temperature (Hinton et al. 2015); for a regression: the MSE to the
  // teacher's outputs. Only its gradient enters training: reported losses are the data's.
  // 0, or no teacher in the data, trains on the labels alone.
  double distill_weight = 0.0;
  double distill_temperature = 4.0;
};

// The hardware-aware group regulariser on one layer's kernel, added to the training loss:
//   alpha * sum_g sqrt(|g|) * ||w_g||_2      (group lasso: pushes whole groups to 0)
// + beta  * sum_g Var(w_g)                    (population variance: pushes a group towards
//                                              one shared value)
// over the groups of `groups` (flat Keras-layout kernel indices; the layer is
// groups.layer_name, or groups.layer when the name is empty). Masked weights count as 0
// (members of their group with value 0). Only its gradient enters training: reported losses
// (train_step, EpochStats, evaluate) exclude it. The norm's gradient is 0 for an all-zero
// group.
struct GroupPenalty {
  hw::GroupSet groups;
  double alpha = 0.0;
  double beta = 0.0;
};

// Per-weight importance estimated from data (Keras layout, one tensor per Dense/Conv layer).
//   Oracle    sum over batches of |w * dL/dw| (first-order Taylor estimate of the loss change
//             when w is removed), L the mean loss of the batch.
//   Saliency  w^2 * F_ii / 2, F_ii the diagonal of the empirical Fisher information
//             (mean over samples of the squared per-sample gradient), an estimate of the
//             Hessian diagonal that is never negative (Optimal Brain Damage with the
//             Gauss-Newton/Fisher approximation).
//   Fisher    F_ii itself: what the per-width importance of joint pruning and precision
//             weighs quantization errors by.
// Masked weights score 0 (they get no gradient). Every value is finite and >= 0.
enum class ScoreKind { Oracle, Saliency, Fisher };

struct EpochStats {
  int epoch = 0;  // 1-based
  double lr = 0;
  double train_loss = 0, train_metric = 0;  // metric: accuracy, or MSE for regression
  double val_loss = 0, val_metric = 0;      // NaN when there is no validation data
  double seconds = 0;
  double samples_per_second = 0;
};

using data::Metrics;  // data/metrics.hpp: what evaluate() reports

// Receives progress while training; all methods are optional to override.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void epoch_begin(int /*epoch*/, int /*epochs*/, int64_t /*batches*/) {}
  virtual void batch_end(int64_t /*batch*/, int64_t /*samples*/, double /*running_loss*/) {}
  virtual void epoch_end(const EpochStats& /*stats*/) {}
};

class Engine;  // the LibTorch implementation, loaded on first use (docs/startup.md)

// Owns a torch copy of the model's parameters. The IR model is updated by sync_to_model()
// (fit() calls it at the end). Masks come from the model's layers (Layer::mask) and can be
// replaced with set_mask(); a masked weight is exactly 0.0 in the forward pass, receives a
// zero gradient and stays exactly 0.0 through optimizer steps (Adam moments included).
class Trainer {
 public:
  Trainer(Model& model, TrainConfig config);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains on `train` (already standardised); `val` may be null. Returns per-epoch stats.
  std::vector<EpochStats> fit(const data::Dataset& train, const data::Dataset* val,
                              ProgressSink* progress = nullptr);
  // Loss and metrics in inference mode (quantized, BatchNorm folded, no dropout).
  Metrics evaluate(const data::Dataset& d);
  // Network outputs for x (n, sample...) in inference mode: class probabilities when the
  // model ends in Softmax, else the raw outputs. `logits`: the outputs before that final
  // Softmax (what Dataset::teacher holds).
  Tensor predict(const Tensor& x, bool logits = false);

  // One optimizer step on `batch` (all its rows); returns the loss before the step.
  double train_step(const data::Dataset& batch);

  void set_mask(const std::string& layer, const Tensor& mask);  // kernel shape, 0/1
  // Per-weight widths (Layer::widths, kernel shape; empty: none): from the next forward pass
  // each kernel weight is fake-quantized at its own width, with the same gradient rule. Error
  // naming the layer for a wrong shape, a value that is not a whole number of bits in 1..63,
  // or a float weight precision.
  void set_widths(const std::string& layer, const Tensor& widths);
  void reset_optimizer();  // fresh optimizer state (e.g. after a new mask)
  void set_learning_rate(double lr);

  // Replaces the group regulariser (empty: none). Error naming the layer for a layer that
  // does not exist or has no kernel, groups that do not index its kernel, or an alpha/beta
  // that is negative or not finite.
  void set_regulariser(std::vector<GroupPenalty> penalties);
  // The regulariser's current value (0 without one).
  double regulariser_value();

  // Ties each group's weights to one shared value: from now on the weights of every group
  // in `groups` are set to the group's mean (masked weights stay 0 and do not count) after
  // every optimizer step, and at once. Calls accumulate per layer (applied in call order);
  // clear_shared_groups() removes them. Error as for set_regulariser.
  void add_shared_groups(const hw::GroupSet& groups);
  void clear_shared_groups();

  // Per-weight importance on up to `max_samples` samples of `d` (in order), in inference
  // mode for BatchNorm statistics (no update of running statistics, no dropout); the
  // fake quantizers' gradient rule applies. L is the training loss without the
  // regulariser. Keys are layer names. Weights, .grad and optimizer state are untouched.
  std::map<std::string, Tensor> weight_scores(const data::Dataset& d, ScoreKind kind,
                                              int64_t max_samples = 1024);

  // Copies weights, BatchNorm statistics and masks back into the IR model.
  void sync_to_model();
  // Optimizer state as opaque bytes (LibTorch archive) and back; the model must have the
  // same parameters. load throws Error if the bytes do not fit.
  std::string optimizer_state() const;
  void load_optimizer_state(const std::string& bytes);

  const TrainConfig& config() const;

 private:
  std::unique_ptr<Engine> engine_;
};

// Fits the integer bits of `model`'s wrapping result types to the ranges its inference
// (quantized, `config`'s threads) reaches on `d` (hwprune::fit_integer_bits), evaluating
// again after each fit until nothing wraps: a type that stops wrapping passes larger values
// on, so a later layer may then need more (at most layers + 1 rounds). Returns the changes.
std::vector<std::string> fit_result_ranges(Model& model, const data::Dataset& d,
                                           const TrainConfig& config);

// Torch threads for a model when none are requested: all cores for a model with
// convolutions, 1 for the others (the measured fastest choice for small MLPs).
int auto_threads(const Model& model);

// The BLAS library LibTorch is running on (path of the loaded libblas/libopenblas), e.g.
// for benchmark reports.
std::string loaded_blas_library();

}  // namespace hwprune::train
