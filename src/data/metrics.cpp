// score_outputs: metrics of a model's outputs (see metrics.hpp).
#include "hwprune/data/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::data {

namespace {

// Mean cross-entropy, argmax confusion and recalls of logits (n, k) against integer labels.
void score_classes(const Tensor& out, const Dataset& d, int64_t k, Metrics& m) {
  m.confusion.assign(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(k), 0));
  double loss = 0;
  int64_t correct = 0;
  for (int64_t r = 0; r < m.samples; ++r) {
    const float* z = out.ptr() + r * k;
    const int32_t t = d.labels[static_cast<size_t>(r)];
    if (t < 0 || t >= k)
      throw Error(fmt::format("{}: label {} at row {} is not one of the model's {} classes",
                              d.source, t, r, k));
    const int64_t p = std::max_element(z, z + k) - z;
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - z[p]);
    loss += std::log(sum) - (static_cast<double>(z[t]) - z[p]);
    ++m.confusion[static_cast<size_t>(t)][static_cast<size_t>(p)];
    correct += p == t;
  }
  m.loss = loss / static_cast<double>(m.samples);
  m.accuracy = static_cast<double>(correct) / static_cast<double>(m.samples);
  for (const auto& row : m.confusion) {
    int64_t total = 0;
    for (int64_t v : row) total += v;
    const size_t c = m.per_class_accuracy.size();
    m.per_class_accuracy.push_back(total ? static_cast<double>(row[c]) / total
                                         : std::numeric_limits<double>::quiet_NaN());
  }
}

void score_values(const Tensor& out, const Dataset& d, int64_t k, Metrics& m) {
  if (d.targets.numel() != m.samples * k)
    throw Error(fmt::format("{}: {} targets per row, the model has {} outputs", d.source,
                            d.targets.numel() / std::max<int64_t>(m.samples, 1), k));
  double se = 0, ae = 0;
  for (int64_t i = 0; i < out.numel(); ++i) {
    const double e = static_cast<double>(out.data[i]) - d.targets.data[i];
    se += e * e;
    ae += std::abs(e);
  }
  const auto count = static_cast<double>(out.numel());
  m.mse = se / count;
  m.mae = ae / count;
  m.loss = m.mse;
}

}  // namespace

Metrics score_outputs(const Tensor& outputs, const Dataset& d) {
  Metrics m;
  m.samples = d.size();
  if (m.samples == 0) throw Error(fmt::format("{}: no samples", d.source));
  if (outputs.rank() < 1 || outputs.shape[0] != m.samples)
    throw Error(
        fmt::format("{}: {} rows, but {} outputs", d.source, m.samples, shape_str(outputs.shape)));
  const int64_t k = outputs.numel() / m.samples;
  if (d.task == Task::Classification)
    score_classes(outputs, d, k, m);
  else
    score_values(outputs, d, k, m);
  return m;
}

nlohmann::json to_json(const Metrics& m, const Model& model) {
  nlohmann::json j{{"samples", m.samples}, {"loss", m.loss}};
  nlohmann::json over = nlohmann::json::array();
  for (const auto& o : m.overflows)
    over.push_back(
        {{"layer", o.layer}, {"wrapped", o.wrapped}, {"values", o.values}, {"max_abs", o.max_abs}});
  j["overflows"] = over;
  if (model.task == Task::Regression) {
    j["mse"] = m.mse;
    j["mae"] = m.mae;
    return j;
  }
  j["accuracy"] = m.accuracy;
  j["class_names"] = model.class_names;
  nlohmann::json per = nlohmann::json::array();
  for (double v : m.per_class_accuracy)
    per.push_back(std::isnan(v) ? nlohmann::json() : nlohmann::json(v));
  j["per_class_accuracy"] = per;
  j["confusion_matrix"] = m.confusion;
  return j;
}

}  // namespace hwprune::data
