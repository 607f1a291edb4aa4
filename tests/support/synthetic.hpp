// Seeded synthetic datasets for tests: Gaussian class blobs that a small network learns in
// a few epochs, in any sample shape.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include <fmt/format.h>

#include "hwprune/data/dataset.hpp"
#include "test_support.hpp"

namespace hwprune::test {

// n samples of `sample` shape in `classes` classes: each class has its own random mean
// pattern (+-1 per feature); samples add N(0, noise^2) noise.
inline data::Dataset make_blobs(int64_t n, Shape sample, int classes, uint64_t seed,
                                double noise = 0.7) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const int64_t f = shape_numel(sample);
  std::vector<float> means(static_cast<size_t>(classes * f));
  for (float& m : means) m = (rng() & 1) ? 1.0f : -1.0f;
  data::Dataset d;
  Shape shape = sample;
  shape.insert(shape.begin(), n);
  d.x = Tensor(shape);
  d.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % classes);
    d.labels[i] = c;
    for (int64_t j = 0; j < f; ++j)
      d.x.data[i * f + j] = means[c * f + j] + static_cast<float>(noise * gauss(rng));
  }
  for (int c = 0; c < classes; ++c) d.class_names.push_back(fmt::format("c{}", c));
  d.source = "blobs";
  return d;
}

// A CSV of 600 blob rows (3 classes), `features` columns f0.., string classes ("gluon",
// "quark", "top") in the last column "kind".
inline std::string write_blob_csv(const ScratchDir& dir, const std::string& name,
                                  int features = 16) {
  const data::Dataset d = test::make_blobs(600, {features}, 3, 21);
  std::string csv;
  for (int j = 0; j < features; ++j) csv += fmt::format("f{},", j);
  csv += "kind\n";
  const char* names[] = {"gluon", "quark", "top"};
  for (int64_t i = 0; i < d.size(); ++i) {
    for (int j = 0; j < features; ++j) csv += fmt::format("{},", d.x.data[i * features + j]);
    csv += fmt::format("{}\n", names[d.labels[i]]);
  }
  return dir.write(name, csv);
}

}  // namespace hwprune::test
