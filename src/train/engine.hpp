// The training engine behind train::Trainer, as an interface. Its one implementation runs on
// LibTorch (src/train/torch/) and lives in its own shared library, libhwprune_torch.so,
// which engine_library() opens on first use: a program that never trains never loads
// LibTorch (docs/startup.md). Every method means what the Trainer method of the same name
// documents in include/hwprune/train/trainer.hpp.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hwprune/train/trainer.hpp"

namespace hwprune::train {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::vector<EpochStats> fit(const data::Dataset& train, const data::Dataset* val,
                                      ProgressSink* progress) = 0;
  virtual Metrics evaluate(const data::Dataset& d) = 0;
  virtual Tensor predict(const Tensor& x, bool logits) = 0;
  virtual double train_step(const data::Dataset& batch) = 0;
  virtual void set_mask(const std::string& layer, const Tensor& mask) = 0;
  virtual void set_widths(const std::string& layer, const Tensor& widths) = 0;
  virtual void reset_optimizer() = 0;
  virtual void set_learning_rate(double lr) = 0;
  virtual void set_regulariser(std::vector<GroupPenalty> penalties) = 0;
  virtual double regulariser_value() = 0;
  virtual void add_shared_groups(const hw::GroupSet& groups) = 0;
  virtual void clear_shared_groups() = 0;
  virtual std::map<std::string, Tensor> weight_scores(const data::Dataset& d, ScoreKind kind,
                                                      int64_t max_samples) = 0;
  virtual void sync_to_model() = 0;
  virtual std::string optimizer_state() const = 0;
  virtual void load_optimizer_state(const std::string& bytes) = 0;
  virtual const TrainConfig& config() const = 0;
};

// What libhwprune_torch.so exports (C symbol hwprune_torch_engine). `abi` must equal
// kEngineAbi: the library and its loader come from one build.
inline constexpr int kEngineAbi = 3;
struct EngineLibrary {
  int abi = 0;
  // A new engine for `model` (config checked already); throws hwprune::Error.
  Engine* (*make)(Model& model, const TrainConfig& config) = nullptr;
  std::string (*blas_library)() = nullptr;  // see train::loaded_blas_library
};

// The engine library, opened on the first call: libhwprune_torch.so beside
// libhwprune_train.so ($HWPRUNE_TORCH_ENGINE names another file). Error (one line, with the
// loader's reason) if it cannot be opened or does not match this build.
const EngineLibrary& engine_library();

}  // namespace hwprune::train

extern "C" const hwprune::train::EngineLibrary* hwprune_torch_engine();
