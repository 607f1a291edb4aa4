// Input standardisation: fitting on training data and applying it to samples.
#include "hwprune/ir/standardisation.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

namespace hwprune {

void Standardisation::apply(Tensor& x) const {
  if (empty()) return;
  if (mean.size() != scale.size())
    throw Error(
        fmt::format("standardisation has {} means but {} scales", mean.size(), scale.size()));
  if (mean.size() == 1) {
    const float m = mean[0], s = scale[0];
    for (float& v : x.data) v = (v - m) / s;
    return;
  }
  const int64_t per = x.shape.empty() ? 0 : shape_numel(Shape(x.shape.begin() + 1, x.shape.end()));
  if (per != static_cast<int64_t>(mean.size()))
    throw Error(fmt::format("standardisation has {} features but the data {} has {} per sample",
                            mean.size(), shape_str(x.shape), per));
  const size_t f = mean.size();
  for (size_t i = 0; i < x.data.size(); i += f) {
    float* row = x.data.data() + i;
    for (size_t j = 0; j < f; ++j) row[j] = (row[j] - mean[j]) / scale[j];
  }
}

namespace {

float safe_scale(double var) {
  const auto s = static_cast<float>(std::sqrt(var));
  return (var > 0.0 && std::isfinite(s) && s > 0.0f) ? s : 1.0f;
}

}  // namespace

Standardisation fit_standardisation(const Tensor& x, StandardiseMode mode) {
  if (mode == StandardiseMode::None) return {};
  if (x.shape.empty() || x.shape[0] == 0 || x.data.empty())
    throw Error(fmt::format("cannot fit a standardisation on empty data {}", shape_str(x.shape)));
  Standardisation st;
  if (mode == StandardiseMode::Global) {
    double sum = 0.0;
    float lo = x.data[0], hi = x.data[0];
    for (float v : x.data) {
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double m = sum / static_cast<double>(x.data.size());
    double ss = 0.0;
    for (float v : x.data) ss += (v - m) * (v - m);
    st.mean = {static_cast<float>(m)};
    st.scale = {lo == hi ? 1.0f : safe_scale(ss / static_cast<double>(x.data.size()))};
    return st;
  }
  const int64_t n = x.shape[0];
  const size_t f = x.data.size() / static_cast<size_t>(n);
  std::vector<double> sum(f, 0.0), ss(f, 0.0);
  // A feature is constant (zero variance, scale 1) exactly when its min equals its max;
  // rounding in the mean would otherwise leave a tiny non-zero variance.
  std::vector<float> lo(x.data.begin(), x.data.begin() + static_cast<std::ptrdiff_t>(f));
  std::vector<float> hi = lo;
  for (size_t i = 0; i < x.data.size(); i += f)
    for (size_t j = 0; j < f; ++j) {
      const float v = x.data[i + j];
      sum[j] += v;
      lo[j] = std::min(lo[j], v);
      hi[j] = std::max(hi[j], v);
    }
  for (size_t j = 0; j < f; ++j) sum[j] /= static_cast<double>(n);
  for (size_t i = 0; i < x.data.size(); i += f)
    for (size_t j = 0; j < f; ++j) {
      const double dlt = x.data[i + j] - sum[j];
      ss[j] += dlt * dlt;
    }
  st.mean.resize(f);
  st.scale.resize(f);
  for (size_t j = 0; j < f; ++j) {
    st.mean[j] = static_cast<float>(sum[j]);
    st.scale[j] = lo[j] == hi[j] ? 1.0f : safe_scale(ss[j] / static_cast<double>(n));
  }
  return st;
}

StandardiseMode default_standardise_mode(const Shape& x_shape) {
  return x_shape.size() == 2 ? StandardiseMode::PerFeature : StandardiseMode::Global;
}

}  // namespace hwprune
