#include "hwprune/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune::data {

Shape Dataset::sample_shape() const {
  if (x.shape.empty()) return {};
  return Shape(x.shape.begin() + 1, x.shape.end());
}

int64_t Dataset::sample_size() const {
  return shape_numel(sample_shape());
}

int Dataset::num_outputs() const {
  if (task == Task::Classification) return num_classes();
  if (targets.shape.size() < 2) return targets.shape.empty() ? 0 : 1;
  return static_cast<int>(shape_numel(Shape(targets.shape.begin() + 1, targets.shape.end())));
}

namespace {

// Copies the given rows of a (n, ...) tensor.
Tensor take_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  Tensor out;
  out.shape = t.shape;
  if (out.shape.empty()) return out;
  out.shape[0] = static_cast<int64_t>(rows.size());
  const int64_t n = t.shape[0];
  const size_t row = n > 0 ? t.data.size() / static_cast<size_t>(n) : 0;
  out.data.resize(rows.size() * row);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (row)
      std::memcpy(out.data.data() + i * row, t.data.data() + static_cast<size_t>(rows[i]) * row,
                  row * sizeof(float));
  }
  return out;
}

// Unbiased integer in [0, bound) from a 64-bit engine, independent of the standard library's
// distribution implementation.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  while (true) {
    uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

Dataset Dataset::subset(const std::vector<int64_t>& rows) const {
  const int64_t n = size();
  for (int64_t r : rows) {
    if (r < 0 || r >= n)
      throw Error(fmt::format("{}: row {} out of range for {} rows", source, r, n));
  }
  Dataset out;
  out.task = task;
  out.class_names = class_names;
  out.source = source;
  out.x = take_rows(x, rows);
  if (!labels.empty()) {
    out.labels.reserve(rows.size());
    for (int64_t r : rows) out.labels.push_back(labels[static_cast<size_t>(r)]);
  }
  if (!targets.shape.empty()) out.targets = take_rows(targets, rows);
  if (!teacher.shape.empty()) out.teacher = take_rows(teacher, rows);
  return out;
}

void Dataset::check_finite() const {
  const int64_t per = sample_size();
  for (size_t i = 0; i < x.data.size(); ++i) {
    if (!std::isfinite(x.data[i])) {
      const auto idx = static_cast<int64_t>(i);
      throw Error(fmt::format("{}: non-finite feature value {} at row {}, feature {}", source,
                              x.data[i], per ? idx / per : 0, per ? idx % per : idx));
    }
  }
  if (!targets.shape.empty() && targets.shape[0] > 0) {
    const int64_t width = static_cast<int64_t>(targets.data.size()) / targets.shape[0];
    for (size_t i = 0; i < targets.data.size(); ++i) {
      if (!std::isfinite(targets.data[i])) {
        const auto idx = static_cast<int64_t>(i);
        throw Error(fmt::format("{}: non-finite target value {} at row {}, output {}", source,
                                targets.data[i], idx / width, idx % width));
      }
    }
  }
}

std::pair<Dataset, Dataset> split_holdout(const Dataset& d, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw Error(fmt::format("{}: holdout fraction {} must be in [0, 1)", d.source, fraction));
  const int64_t n = d.size();
  const auto k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(bounded(rng, static_cast<uint64_t>(i) + 1));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  std::vector<int64_t> held, rest;
  if (d.task == Task::Classification && static_cast<int64_t>(d.labels.size()) == n && n > 0) {
    // Stratified: class c gets its share k * n_c / n of the held-out rows, rounded by largest
    // remainder (ties to the lower class) so the shares add up to k; its first rows in the
    // shuffled order are held out.
    std::vector<int64_t> per_class(static_cast<size_t>(d.num_classes()), 0);
    for (int32_t y : d.labels) ++per_class.at(static_cast<size_t>(y));
    std::vector<int64_t> quota(per_class.size());
    std::vector<std::pair<int64_t, size_t>> remainder;  // (k * n_c mod n, class)
    int64_t given = 0;
    for (size_t c = 0; c < per_class.size(); ++c) {
      quota[c] = k * per_class[c] / n;
      given += quota[c];
      remainder.push_back({k * per_class[c] % n, c});
    }
    std::stable_sort(remainder.begin(), remainder.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; given < k; ++i, ++given) ++quota[remainder[i].second];
    for (int64_t r : perm) {
      int64_t& q = quota[static_cast<size_t>(d.labels[static_cast<size_t>(r)])];
      (q > 0 ? held : rest).push_back(r);
      if (q > 0) --q;
    }
  } else {
    held.assign(perm.begin(), perm.begin() + k);
    rest.assign(perm.begin() + k, perm.end());
  }
  // Keep the original row order inside each part.
  std::sort(held.begin(), held.end());
  std::sort(rest.begin(), rest.end());
  return {d.subset(rest), d.subset(held)};
}

}  // namespace hwprune::data
