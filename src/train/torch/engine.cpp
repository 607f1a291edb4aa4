// The LibTorch training engine (what libhwprune_torch.so exports): quantization-aware
// training, evaluation and weight scores of an IR model (see ../engine.hpp).
#include "../engine.hpp"

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "net.hpp"

namespace hwprune::train {

std::string loaded_blas_library_impl();  // blas_info.cpp

namespace {

// Uniform integer in [0, n) without modulo bias, the same on every standard library.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t v;
  do v = rng();
  while (v >= limit);
  return v % n;
}

// Activations of a training step are a few MB each and are freed and reallocated every
// batch. glibc serves blocks above its mmap threshold with fresh mmaps and trims the heap
// top eagerly, so every step page-faults its tensors in again; on this project's VMs that
// cost up to 9x in training speed (measured: docs/performance.md). Keep such blocks in the heap.
void keep_tensor_memory_in_heap() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

}  // namespace

// The Trainer's work on LibTorch.
class TorchEngine final : public Engine {
 public:
  Model& model;
  TrainConfig cfg;
  bool classification;
  Net net;
  std::unique_ptr<torch::optim::Optimizer> optimizer;

  TorchEngine(Model& m, TrainConfig c)
      : model(m),
        cfg(c),
        classification(resolve_classification(m, c)),
        net(m, c.quantize, c.gradient_rule, c.overflow_penalty, c.zero_dead_channels) {
    make_optimizer();
  }

  std::vector<EpochStats> fit(const data::Dataset& train, const data::Dataset* val,
                              ProgressSink* progress) override;
  Tensor predict(const Tensor& x, bool logits) override;
  double train_step(const data::Dataset& batch) override;
  void set_mask(const std::string& layer, const Tensor& mask) override;
  void set_widths(const std::string& layer, const Tensor& widths) override {
    net.set_widths(layer, widths);
  }
  void reset_optimizer() override { make_optimizer(); }
  void set_learning_rate(double lr) override { set_lr(lr); }
  void set_regulariser(std::vector<GroupPenalty> penalties) override;
  double regulariser_value() override;
  void add_shared_groups(const hw::GroupSet& groups) override;
  void clear_shared_groups() override;
  void sync_to_model() override;
  std::string optimizer_state() const override;
  void load_optimizer_state(const std::string& bytes) override;
  const TrainConfig& config() const override { return cfg; }

  static bool resolve_classification(const Model& m, const TrainConfig& c) {
    const bool cls = m.task == Task::Classification;
    if (c.loss == LossKind::CrossEntropy && !cls)
      throw Error(
          fmt::format("model '{}' is a regression model: cross-entropy does not apply", m.name));
    if (c.loss == LossKind::MSE) return false;
    return cls;
  }

  void make_optimizer() {
    if (cfg.optimizer == OptimizerKind::Adam) {
      optimizer = std::make_unique<torch::optim::Adam>(
          net.parameters(), torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
    } else {
      optimizer = std::make_unique<torch::optim::SGD>(
          net.parameters(),
          torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).weight_decay(cfg.weight_decay));
    }
  }

  void set_lr(double lr) {
    for (auto& g : optimizer->param_groups()) g.options().set_lr(lr);
  }

  double scheduled_lr(int epoch0) const {
    switch (cfg.schedule) {
      case LrSchedule::Constant:
        return cfg.lr;
      case LrSchedule::Step:
        return cfg.lr * std::pow(cfg.lr_gamma, epoch0 / cfg.lr_step_epochs);
      case LrSchedule::Cosine:
        return cfg.lr_min +
               0.5 * (cfg.lr - cfg.lr_min) *
                   (1.0 + std::cos(std::numbers::pi * epoch0 / std::max(cfg.epochs, 1)));
    }
    return cfg.lr;
  }

  void check_data(const data::Dataset& d) const {
    if (classification && d.task != Task::Classification)
      throw Error(fmt::format("{}: regression targets, but model '{}' is a classifier", d.source,
                              model.name));
    if (!classification && d.task != Task::Regression)
      throw Error(fmt::format("{}: class labels, but the loss is MSE (regression)", d.source));
    if (d.size() == 0) throw Error(fmt::format("{}: no samples", d.source));
    model.check_data(d.sample_shape(), d.num_outputs(), d.source);
  }

  torch::Tensor targets(const data::Dataset& d) const {
    if (classification)
      return torch::from_blob(const_cast<int32_t*>(d.labels.data()),
                              {static_cast<int64_t>(d.labels.size())}, torch::kInt32)
          .to(torch::kInt64);
    return to_torch(d.targets).view({d.size(), -1});
  }

  torch::Tensor loss(const torch::Tensor& out, const torch::Tensor& y) const {
    if (classification) return torch::nn::functional::cross_entropy(out, y);
    return torch::mse_loss(out.view(y.sizes()), y);
  }

  // The teacher's outputs of `d` (undefined without a teacher or distillation); error naming
  // the data when their shape does not fit.
  torch::Tensor teacher(const data::Dataset& d) const {
    if (d.teacher.shape.empty() || cfg.distill_weight == 0) return {};
    if (d.teacher.shape != Shape{d.size(), d.num_outputs()})
      throw Error(fmt::format("{}: teacher outputs of shape {}, expected ({}, {})", d.source,
                              shape_str(d.teacher.shape), d.size(), d.num_outputs()));
    return to_torch(d.teacher);
  }

  // The distillation term of `out` against the teacher's outputs `tb`.
  torch::Tensor teacher_term(const torch::Tensor& out, const torch::Tensor& tb) const {
    if (!classification) return torch::mse_loss(out.view(tb.sizes()), tb);
    const double T = cfg.distill_temperature;
    const torch::Tensor target = torch::log_softmax(tb / T, 1);
    return torch::kl_div(torch::log_softmax(out / T, 1), target, at::Reduction::None,
                         /*log_target=*/true)
               .sum(1)
               .mean() *
           (T * T);
  }

  // One optimizer step; `tb` the batch's teacher outputs (undefined: none).
  double step(const torch::Tensor& xb, const torch::Tensor& yb, const torch::Tensor& tb,
              torch::Tensor* out_logits) {
    optimizer->zero_grad();
    torch::Tensor out = net.forward(xb, /*train=*/true);
    torch::Tensor l = loss(out, yb);
    // Distillation and the regulariser join the gradient only; the returned (reported) loss
    // is the data's.
    torch::Tensor objective = l;
    if (tb.defined())
      objective = (1 - cfg.distill_weight) * l + cfg.distill_weight * teacher_term(out, tb);
    if (net.has_regulariser()) objective = objective + net.regulariser();
    objective.backward();
    optimizer->step();
    net.apply_masks();  // masks, shared groups, dead channels
    if (out_logits) *out_logits = out.detach();
    return l.item<double>();
  }

  // TorchEngine::weight_scores.
  std::map<std::string, Tensor> weight_scores(const data::Dataset& d, ScoreKind kind,
                                              int64_t max_samples) override {
    check_data(d);
    if (max_samples < 1)
      throw Error(fmt::format("weight_scores: max_samples must be >= 1, got {}", max_samples));
    torch::AutoGradMode grad_on(true);
    const Model& m = net.model();
    std::vector<size_t> layers;
    std::vector<torch::Tensor> kernels, acc;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      if (!m.layers[i].has_kernel()) continue;
      layers.push_back(i);
      kernels.push_back(net.kernel(i));
      acc.push_back(torch::zeros_like(net.kernel(i), torch::kFloat64));
    }
    const int64_t n = std::min<int64_t>(d.size(), max_samples);
    const torch::Tensor x = to_torch(d.x).narrow(0, 0, n), y = targets(d).narrow(0, 0, n);
    // Oracle: gradients of the batch-mean loss; Saliency: per-sample gradients (micro-batches
    // of one sample: exact, no per-sample tricks needed in inference mode).
    const int64_t bs = kind == ScoreKind::Oracle ? cfg.batch_size : 1;
    for (int64_t start = 0; start < n; start += bs) {
      const int64_t len = std::min(bs, n - start);
      // Inference mode (train = false): running statistics, no dropout, no updates; the
      // gradients go to the kernels through torch::autograd::grad, not into .grad.
      const torch::Tensor l =
          loss(net.forward(x.narrow(0, start, len), /*train=*/false), y.narrow(0, start, len));
      const auto grads = torch::autograd::grad({l}, kernels, /*grad_outputs=*/{},
                                               /*retain_graph=*/false, /*create_graph=*/false,
                                               /*allow_unused=*/true);
      for (size_t k = 0; k < layers.size(); ++k) {
        if (!grads[k].defined()) continue;
        const torch::Tensor g = grads[k].detach().to(torch::kFloat64);
        if (kind == ScoreKind::Oracle)
          acc[k] += (net.masked_kernel(layers[k]).detach().to(torch::kFloat64) * g).abs();
        else
          acc[k] += g.pow(2);
      }
    }
    std::map<std::string, Tensor> out;
    for (size_t k = 0; k < layers.size(); ++k) {
      torch::Tensor score = acc[k];
      if (kind == ScoreKind::Saliency) {
        const torch::Tensor w = net.masked_kernel(layers[k]).detach().to(torch::kFloat64);
        score = w.pow(2) * (score / static_cast<double>(n)) * 0.5;
      } else if (kind == ScoreKind::Fisher) {
        score = score / static_cast<double>(n);
      }
      out[m.layers[layers[k]].name] = from_torch_kernel(m.layers[layers[k]], score);
    }
    return out;
  }

  Metrics evaluate(const data::Dataset& d) override {
    check_data(d);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = to_torch(d.x);
    const int64_t n = d.size(), bs = 256;
    ForwardStats stats;
    std::vector<torch::Tensor> outs;
    for (int64_t start = 0; start < n; start += bs)
      outs.push_back(
          net.forward(x.narrow(0, start, std::min(bs, n - start)), /*train=*/false, false, &stats));
    const torch::Tensor all = torch::cat(outs).to(torch::kFloat32).contiguous();
    Metrics m = data::score_outputs(from_torch(all.view({n, -1})), d);
    for (size_t slot = 0; slot < stats.wrapped.size(); ++slot)
      if (stats.wrapped[slot] > 0)
        m.overflows.push_back({slot == 0 ? "input" : model.layers[slot - 1].name,
                               stats.wrapped[slot], stats.values[slot], stats.max_abs[slot]});
    return m;
  }
};

std::vector<EpochStats> TorchEngine::fit(const data::Dataset& train, const data::Dataset* val,
                                         ProgressSink* progress) {
  TorchEngine& im = *this;
  const TrainConfig& cfg = im.cfg;
  im.check_data(train);
  if (val) im.check_data(*val);
  if (cfg.early_stopping_patience > 0 && !val)
    throw Error("early stopping needs validation data (use a validation split)");
  torch::set_num_threads(cfg.threads);
  torch::manual_seed(cfg.seed);
  const torch::Tensor x = to_torch(train.x), y = im.targets(train), t = im.teacher(train);
  const int64_t n = train.size();
  const int64_t batches = (n + cfg.batch_size - 1) / cfg.batch_size;
  std::mt19937_64 rng(cfg.seed ^ 0x5DEECE66DULL);
  std::vector<int64_t> order(static_cast<size_t>(n));

  std::vector<EpochStats> history;
  double best_val = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_state;
  int since_best = 0;
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    EpochStats st;
    st.epoch = epoch + 1;
    st.lr = im.scheduled_lr(epoch);
    im.set_lr(st.lr);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(order[i], order[uniform_below(rng, static_cast<uint64_t>(i + 1))]);
    const torch::Tensor perm = torch::from_blob(order.data(), {n}, torch::kInt64);
    if (progress) progress->epoch_begin(epoch + 1, cfg.epochs, batches);
    double loss_sum = 0, metric_sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t start = b * cfg.batch_size, len = std::min(cfg.batch_size, n - start);
      const torch::Tensor idx = perm.narrow(0, start, len);
      torch::Tensor out;
      const torch::Tensor yb = y.index_select(0, idx);
      const double l = im.step(x.index_select(0, idx), yb,
                               t.defined() ? t.index_select(0, idx) : torch::Tensor(), &out);
      if (!std::isfinite(l))
        throw Error(
            fmt::format("training diverged: loss is {} at epoch {}, batch {} (try a "
                        "lower learning rate)",
                        l, epoch + 1, b + 1));
      loss_sum += l * static_cast<double>(len);
      if (im.classification)
        metric_sum += out.argmax(1).eq(yb).sum().item<double>();
      else
        metric_sum += torch::mse_loss(out.view(yb.sizes()), yb).item<double>() * len;
      if (progress)
        progress->batch_end(b + 1, start + len, loss_sum / static_cast<double>(start + len));
    }
    st.train_loss = loss_sum / static_cast<double>(n);
    st.train_metric = metric_sum / static_cast<double>(n);
    st.val_loss = st.val_metric = std::numeric_limits<double>::quiet_NaN();
    if (val) {
      const Metrics m = im.evaluate(*val);
      st.val_loss = m.loss;
      st.val_metric = im.classification ? m.accuracy : m.mse;
    }
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.samples_per_second = static_cast<double>(n) / std::max(st.seconds, 1e-9);
    history.push_back(st);
    if (progress) progress->epoch_end(st);
    if (cfg.early_stopping_patience > 0) {
      // Lower is better: the loss, the MSE, or the accuracy negated.
      const double watched = !cfg.early_stopping_on_metric ? st.val_loss
                             : im.classification           ? -st.val_metric
                                                           : st.val_metric;
      if (watched < best_val - cfg.early_stopping_min_delta) {
        best_val = watched;
        best_state = im.net.state();
        since_best = 0;
      } else if (++since_best >= cfg.early_stopping_patience) {
        break;
      }
    }
  }
  if (!best_state.empty()) im.net.load_state(best_state);
  sync_to_model();
  return history;
}

Tensor TorchEngine::predict(const Tensor& x, bool logits) {
  torch::NoGradGuard no_grad;
  if (x.rank() < 1 || Shape(x.shape.begin() + 1, x.shape.end()) != model.input_shape)
    throw Error(fmt::format("predict: input of shape {} does not fit model '{}' (input {})",
                            shape_str(x.shape), model.name, shape_str(model.input_shape)));
  return from_torch(net.forward(to_torch(x), /*train=*/false, /*apply_final_softmax=*/!logits));
}

double TorchEngine::train_step(const data::Dataset& batch) {
  check_data(batch);
  return step(to_torch(batch.x), targets(batch), teacher(batch), nullptr);
}

void TorchEngine::set_mask(const std::string& layer, const Tensor& mask) {
  net.set_mask(layer, mask);
  model.layer(layer).mask = mask;
}

void TorchEngine::set_regulariser(std::vector<GroupPenalty> penalties) {
  net.set_regulariser(penalties);
}

double TorchEngine::regulariser_value() {
  torch::NoGradGuard no_grad;
  return net.regulariser().item<double>();
}

void TorchEngine::add_shared_groups(const hw::GroupSet& groups) {
  net.add_shared_groups(groups);
}

void TorchEngine::clear_shared_groups() {
  net.clear_shared_groups();
}

void TorchEngine::sync_to_model() {
  net.sync_to(model);
}

std::string TorchEngine::optimizer_state() const {
  torch::serialize::OutputArchive archive;
  optimizer->save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

void TorchEngine::load_optimizer_state(const std::string& bytes) {
  try {
    std::istringstream is(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(is);
    optimizer->load(archive);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("optimizer state does not fit this model/optimizer ({})",
                            std::string(e.what_without_backtrace()).substr(0, 200)));
  }
}

}  // namespace hwprune::train

extern "C" const hwprune::train::EngineLibrary* hwprune_torch_engine() {
  static const hwprune::train::EngineLibrary lib{
      hwprune::train::kEngineAbi,
      [](hwprune::Model& model,
         const hwprune::train::TrainConfig& config) -> hwprune::train::Engine* {
        hwprune::train::keep_tensor_memory_in_heap();
        torch::set_num_threads(config.threads);
        return new hwprune::train::TorchEngine(model, config);
      },
      &hwprune::train::loaded_blas_library_impl};
  return &lib;
}
