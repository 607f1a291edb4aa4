// Knapsack preprocessing, weight classes, efficiency order and the greedy fill.
#include <algorithm>
#include <numeric>

#include "detail.hpp"

namespace hwprune::knapsack::detail {

Preprocessed preprocess(const Problem& p) {
  const std::size_t n = p.n_items, d = p.n_dims;
  Preprocessed out;
  out.take.assign(n, 0);
  std::vector<double> cap(d);
  for (std::size_t k = 0; k < d; ++k) cap[k] = effective_capacity(p.capacity[k]);

  // Candidates: positive value and fit alone. Zero-value items are never needed.
  std::vector<std::size_t> cand;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(p.value[i] > 0)) continue;
    bool fits = true;
    for (std::size_t k = 0; k < d && fits; ++k) fits = p.weight[i * d + k] <= cap[k];
    if (fits) cand.push_back(i);
  }
  // A dimension binds if all candidates together overflow it. Summed in item order, as
  // feasible() does: any subset summed in item order is then no larger (rounding is monotone).
  std::vector<std::size_t> binding;
  for (std::size_t k = 0; k < d; ++k) {
    double sum = 0;
    for (std::size_t i : cand) sum += p.weight[i * d + k];
    if (sum > cap[k]) binding.push_back(k);
  }
  Reduced& r = out.red;
  r.item.reserve(cand.size());
  r.v.reserve(cand.size());
  r.w.reserve(cand.size() * binding.size());
  r.u.reserve(cand.size() * binding.size());
  r.d = binding.size();
  r.dim = binding;
  for (std::size_t k : binding) r.cap.push_back(cap[k]);
  for (std::size_t i : cand) {
    bool zero = true;
    for (std::size_t k : binding) zero = zero && p.weight[i * d + k] == 0;
    if (zero) {  // fits next to anything
      out.take[i] = 1;
      continue;
    }
    r.item.push_back(i);
    r.v.push_back(p.value[i]);
    for (std::size_t kk = 0; kk < r.d; ++kk) {
      const double w = p.weight[i * d + binding[kk]];
      r.w.push_back(w);
      r.u.push_back(w / r.cap[kk]);
    }
  }
  r.n = r.item.size();
  for (std::size_t i = 0; i < n; ++i)
    if (out.take[i]) out.fixed_value += p.value[i];
  return out;
}

std::vector<std::uint8_t> expand(const Preprocessed& pre, const std::vector<std::uint8_t>& x) {
  std::vector<std::uint8_t> take = pre.take;
  for (std::size_t j = 0; j < pre.red.n; ++j)
    if (x[j]) take[pre.red.item[j]] = 1;
  return take;
}

std::vector<std::uint32_t> weight_classes(const Reduced& red, std::uint32_t* n_classes) {
  const std::size_t d = red.d;
  std::vector<std::size_t> idx(red.n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  const double* w = red.w.data();
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return std::lexicographical_compare(w + a * d, w + a * d + d, w + b * d, w + b * d + d);
  });
  std::vector<std::uint32_t> cls(red.n);
  std::uint32_t c = 0;
  for (std::size_t t = 0; t < idx.size(); ++t) {
    if (t > 0 && !std::equal(w + idx[t] * d, w + idx[t] * d + d, w + idx[t - 1] * d)) ++c;
    cls[idx[t]] = c;
  }
  *n_classes = red.n == 0 ? 0 : c + 1;
  return cls;
}

std::vector<double> surrogate_mu(const Reduced& red, const std::vector<double>& lambda) {
  double sum = 0;
  for (double l : lambda) sum += l;
  std::vector<double> mu(red.d, red.d ? 1.0 / static_cast<double>(red.d) : 0.0);
  if (sum > 0)
    for (std::size_t k = 0; k < red.d; ++k) mu[k] = lambda[k] / sum;
  return mu;
}

std::vector<double> surrogate_weights(const Reduced& red, const std::vector<double>& mu) {
  std::vector<double> s(red.n);
  for (std::size_t j = 0; j < red.n; ++j) {
    double t = 0;
    for (std::size_t k = 0; k < red.d; ++k) t += mu[k] * red.u[j * red.d + k];
    s[j] = t;
  }
  return s;
}

std::vector<std::size_t> efficiency_order(const Reduced& red, const std::vector<double>& s) {
  struct Key {
    double eff, v;
    std::size_t j;
  };
  std::vector<Key> keys(red.n);
  for (std::size_t j = 0; j < red.n; ++j)
    keys[j] = {s[j] > 0 ? red.v[j] / s[j] : std::numeric_limits<double>::infinity(), red.v[j], j};
  // Within a weight class s is identical, so eff is monotone in v and ties fall back to v.
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.eff != b.eff) return a.eff > b.eff;
    if (a.v != b.v) return a.v > b.v;
    return a.j < b.j;
  });
  std::vector<std::size_t> order(red.n);
  for (std::size_t t = 0; t < red.n; ++t) order[t] = keys[t].j;
  return order;
}

std::vector<std::uint8_t> greedy_fill(const Reduced& red, const std::vector<std::size_t>& order) {
  const std::size_t d = red.d;
  std::vector<std::uint8_t> x(red.n, 0);
  std::vector<double> used(d, 0.0);
  for (std::size_t j : order) {
    const double* w = &red.w[j * d];
    bool fits = true;
    for (std::size_t k = 0; k < d && fits; ++k) fits = used[k] + w[k] <= red.cap[k];
    if (!fits) continue;
    for (std::size_t k = 0; k < d; ++k) used[k] += w[k];
    x[j] = 1;
  }
  return x;
}

}  // namespace hwprune::knapsack::detail
