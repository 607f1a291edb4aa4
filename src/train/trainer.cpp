// train::Trainer: checks the configuration and forwards to the LibTorch engine, which is
// opened on the first Trainer (engine_loader.cpp). No torch here.
#include "hwprune/train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "engine.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::train {

namespace {

void check_config(const TrainConfig& c) {
  if (c.epochs < 0) throw Error(fmt::format("epochs must be >= 0, got {}", c.epochs));
  if (c.batch_size <= 0) throw Error(fmt::format("batch size must be > 0, got {}", c.batch_size));
  if (!(c.lr > 0) || !std::isfinite(c.lr))
    throw Error(fmt::format("learning rate must be > 0, got {}", c.lr));
  if (c.threads < 1) throw Error(fmt::format("threads must be >= 1, got {}", c.threads));
  if (c.schedule == LrSchedule::Step && c.lr_step_epochs < 1)
    throw Error("step schedule needs lr_step_epochs >= 1");
  if (c.weight_decay < 0) throw Error("weight decay must be >= 0");
  if (c.early_stopping_patience < 0) throw Error("early-stopping patience must be >= 0");
  if (!(c.early_stopping_min_delta >= 0 && std::isfinite(c.early_stopping_min_delta)))
    throw Error(fmt::format("early-stopping minimum improvement must be finite and >= 0, got {}",
                            c.early_stopping_min_delta));
  if (!(c.overflow_penalty >= 0)) throw Error("overflow penalty must be >= 0");
  if (!(c.distill_weight >= 0 && c.distill_weight <= 1))
    throw Error(fmt::format("distillation weight must be in [0, 1], got {}", c.distill_weight));
  if (!(c.distill_temperature > 0 && std::isfinite(c.distill_temperature)))
    throw Error(fmt::format("distillation temperature must be finite and > 0, got {}",
                            c.distill_temperature));
}

}  // namespace

Trainer::Trainer(Model& model, TrainConfig config) {
  check_config(config);
  engine_.reset(engine_library().make(model, config));
}

Trainer::~Trainer() = default;

std::vector<EpochStats> Trainer::fit(const data::Dataset& train, const data::Dataset* val,
                                     ProgressSink* progress) {
  return engine_->fit(train, val, progress);
}
Metrics Trainer::evaluate(const data::Dataset& d) {
  return engine_->evaluate(d);
}
Tensor Trainer::predict(const Tensor& x, bool logits) {
  return engine_->predict(x, logits);
}
double Trainer::train_step(const data::Dataset& batch) {
  return engine_->train_step(batch);
}
void Trainer::set_widths(const std::string& layer, const Tensor& widths) {
  engine_->set_widths(layer, widths);
}

void Trainer::set_mask(const std::string& layer, const Tensor& mask) {
  engine_->set_mask(layer, mask);
}
void Trainer::reset_optimizer() {
  engine_->reset_optimizer();
}
void Trainer::set_learning_rate(double lr) {
  engine_->set_learning_rate(lr);
}
void Trainer::set_regulariser(std::vector<GroupPenalty> penalties) {
  engine_->set_regulariser(std::move(penalties));
}
double Trainer::regulariser_value() {
  return engine_->regulariser_value();
}
void Trainer::add_shared_groups(const hw::GroupSet& groups) {
  engine_->add_shared_groups(groups);
}
void Trainer::clear_shared_groups() {
  engine_->clear_shared_groups();
}
std::map<std::string, Tensor> Trainer::weight_scores(const data::Dataset& d, ScoreKind kind,
                                                     int64_t max_samples) {
  return engine_->weight_scores(d, kind, max_samples);
}
void Trainer::sync_to_model() {
  engine_->sync_to_model();
}
std::string Trainer::optimizer_state() const {
  return engine_->optimizer_state();
}
void Trainer::load_optimizer_state(const std::string& bytes) {
  engine_->load_optimizer_state(bytes);
}
const TrainConfig& Trainer::config() const {
  return engine_->config();
}

std::vector<std::string> fit_result_ranges(Model& model, const data::Dataset& d,
                                           const TrainConfig& config) {
  std::vector<std::string> changes;
  for (size_t round = 0; round <= model.layers.size(); ++round) {
    Model probe = model;
    Trainer t(probe, config);
    const auto lines = fit_integer_bits(model, t.evaluate(d).overflows);
    if (lines.empty()) break;
    changes.insert(changes.end(), lines.begin(), lines.end());
  }
  return changes;
}

int auto_threads(const Model& model) {
  for (const auto& l : model.layers)
    if (l.is_conv()) return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return 1;
}

std::string loaded_blas_library() {
  return engine_library().blas_library();
}

}  // namespace hwprune::train
