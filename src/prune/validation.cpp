// The validation metric from each validation row's value, its standard error and the paired
// standard error of a step's difference from the baseline (run.hpp, Scored).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "run.hpp"

namespace hwprune::prune {

namespace {

// Standard error of sum_i w_i v_i with rows a sample per stratum: sqrt(sum_i w_i^2 (v_i -
// mean of v over the row's stratum)^2). For accuracy (one stratum, w = 1/n) this is the
// binomial sqrt(p (1 - p) / n).
double stratified_se(const std::vector<double>& v, const ValidationRows& rows) {
  std::vector<double> sum(static_cast<size_t>(rows.strata), 0.0), count(sum.size(), 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    sum[static_cast<size_t>(rows.stratum[i])] += v[i];
    count[static_cast<size_t>(rows.stratum[i])] += 1;
  }
  double var = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto s = static_cast<size_t>(rows.stratum[i]);
    const double d = v[i] - sum[s] / count[s];
    var += rows.weight[i] * rows.weight[i] * d * d;
  }
  return std::sqrt(var);
}

}  // namespace

ValidationRows validation_rows(const data::Dataset& val, Metric metric) {
  ValidationRows r;
  const int64_t n = val.size();
  if (n == 0) throw Error(fmt::format("{}: the validation split has no rows", val.source));
  r.weight.assign(static_cast<size_t>(n), 1.0 / static_cast<double>(n));
  r.stratum.assign(static_cast<size_t>(n), 0);
  if (metric == Metric::BalancedAccuracy) {
    // Each class present weighs 1 / classes present, shared by its rows.
    std::vector<int64_t> per_class(static_cast<size_t>(val.num_classes()), 0);
    for (int32_t y : val.labels) ++per_class[static_cast<size_t>(y)];
    const auto present =
        std::count_if(per_class.begin(), per_class.end(), [](int64_t c) { return c > 0; });
    for (int64_t i = 0; i < n; ++i) {
      const int32_t y = val.labels[static_cast<size_t>(i)];
      r.weight[static_cast<size_t>(i)] =
          1.0 / (static_cast<double>(present) * static_cast<double>(per_class[y]));
      r.stratum[static_cast<size_t>(i)] = y;
    }
    r.strata = val.num_classes();
  }
  return r;
}

Scored Run::score(train::Trainer& t) const {
  const data::Dataset& d = val();
  // Logits (before a final Softmax): the loss from them cannot underflow, and the class is
  // their first largest, as train::Trainer::evaluate counts it.
  const Tensor out = t.predict(d.x, /*logits=*/true);
  const int64_t n = d.size(), k = out.numel() / std::max<int64_t>(1, n);
  Scored s;
  s.values.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* o = out.data.data() + i * k;
    double v = 0;
    if (d.task == Task::Classification) {
      const int32_t y = d.labels[static_cast<size_t>(i)];
      if (metric == Metric::Loss) {
        const double mx = *std::max_element(o, o + k);
        double z = 0;
        for (int64_t c = 0; c < k; ++c) z += std::exp(static_cast<double>(o[c]) - mx);
        v = mx + std::log(z) - o[y];
      } else {
        v = std::max_element(o, o + k) - o == y ? 1.0 : 0.0;
      }
    } else {
      const float* target = d.targets.data.data() + i * k;
      for (int64_t c = 0; c < k; ++c) v += (o[c] - target[c]) * (o[c] - target[c]);
      v /= static_cast<double>(k);
    }
    s.values[static_cast<size_t>(i)] = v;
    s.metric += val_rows.weight[static_cast<size_t>(i)] * v;
  }
  s.se = stratified_se(s.values, val_rows);
  if (baseline_values.size() == s.values.size()) {
    std::vector<double> diff(s.values.size());
    for (size_t i = 0; i < diff.size(); ++i) diff[i] = s.values[i] - baseline_values[i];
    s.delta_se = stratified_se(diff, val_rows);
    if (is_increasing(metric)) {
      // Per-class recall (the values are right/wrong) of this model and of the baseline.
      std::vector<double> right(static_cast<size_t>(d.num_classes()), 0.0), base(right);
      for (int64_t i = 0; i < n; ++i) {
        const auto y = static_cast<size_t>(d.labels[static_cast<size_t>(i)]);
        right[y] += s.values[static_cast<size_t>(i)];
        base[y] += baseline_values[static_cast<size_t>(i)];
      }
      for (size_t c = 0; c < right.size(); ++c)
        if (base[c] > 0) s.worst_class = std::min(s.worst_class, right[c] / base[c]);
    }
  }
  return s;
}

bool Run::within_tolerance(double metric) const {
  return prune::acceptable(metric, state.baseline_metric, *loop.rtol, increasing);
}

bool Run::acceptable(const Scored& s) const {
  return within_tolerance(s.metric) && (!loop.class_floor || s.worst_class >= *loop.class_floor);
}

double Run::evaluate(train::Trainer& t) const {
  return score(t).metric;
}

bool Run::clearly_acceptable(const Scored& s) const {
  const double threshold = *loop.rtol * state.baseline_metric;
  const double margin = increasing ? s.metric - threshold : threshold - s.metric;
  return margin > s.delta_se;
}

void Run::put_score(const Scored& s, StepRow& row) const {
  row.metric = s.metric;
  row.metric_se = s.se;
  row.delta_se = s.delta_se;
  row.worst_class = s.worst_class;
  row.accepted = acceptable(s);
  row.clearly = row.accepted && clearly_acceptable(s);
}

}  // namespace hwprune::prune
