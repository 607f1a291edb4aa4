// predict / predict_integer / evaluate without the training engine (see predict.hpp).
#include "hwprune/data/predict.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hwprune/ir/int_model.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::data {

namespace {

// Probabilities and predicted classes from the scores.
void finish(Predictions& p, const Model& model) {
  p.rows = p.scores.shape.empty() ? 0 : p.scores.shape[0];
  p.outputs = p.rows ? p.scores.numel() / p.rows : 0;
  if (model.task != Task::Classification) return;
  const int64_t k = p.outputs;
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* z = p.scores.ptr() + r * k;
    p.predicted.push_back(static_cast<int32_t>(std::max_element(z, z + k) - z));
  }
  if (!model.ends_in_softmax()) return;
  p.probabilities = Tensor(p.scores.shape);
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* z = p.scores.ptr() + r * k;
    const double top = z[p.predicted[static_cast<size_t>(r)]];
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - top);
    for (int64_t j = 0; j < k; ++j)
      p.probabilities.data[static_cast<size_t>(r * k + j)] =
          static_cast<float>(std::exp(static_cast<double>(z[j]) - top) / sum);
  }
}

}  // namespace

Predictions predict(const Model& model, const Tensor& x) {
  Predictions p;
  ReferenceOptions o;
  o.logits = true;
  o.overflows = &p.overflows;
  p.scores = reference_forward(model, x, o);
  const int64_t n = x.shape.empty() ? 0 : x.shape[0];
  p.scores.shape = {n, n ? p.scores.numel() / n : 0};
  finish(p, model);
  return p;
}

Predictions predict_integer(const Model& model, const Tensor& x, const hw::HardwareSpec& spec) {
  const IntNetwork net = hw::make_int_network(hw::map_model(model, spec));
  const int64_t n = x.shape.empty() ? 0 : x.shape[0];
  if (n > 0 && x.numel() / n != net.n_in())
    throw Error(fmt::format("predict: samples of shape {} have {} values, the network takes {}",
                            shape_str(Shape(x.shape.begin() + 1, x.shape.end())), x.numel() / n,
                            net.n_in()));
  Predictions p;
  p.raw_type = net.output_type();
  p.scores = Tensor({n, net.n_out()});
  for (int64_t r = 0; r < n; ++r) {
    const auto raw = net.run(net.quantize_input(x.ptr() + r * net.n_in()));
    for (int64_t j = 0; j < net.n_out(); ++j) {
      p.raw.push_back(raw[static_cast<size_t>(j)]);
      p.scores.data[static_cast<size_t>(r * net.n_out() + j)] =
          static_cast<float>(p.raw_type->to_real(raw[static_cast<size_t>(j)]));
    }
  }
  finish(p, model);
  return p;
}

Metrics evaluate(const Model& model, const Dataset& d) {
  Predictions p = predict(model, d.x);
  Metrics m = score_outputs(p.scores, d);
  m.overflows = std::move(p.overflows);
  return m;
}

}  // namespace hwprune::data
