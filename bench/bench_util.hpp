// Helpers shared by the benchmarks that compare against a python3-torch peer.
#pragma once

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwprune/data/dataset.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::bench {

// Runs a shell command and returns its stdout; Error with the output if it fails.
inline std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw hwprune::Error("cannot run: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) throw hwprune::Error(fmt::format("peer failed: {}\n{}", cmd, out));
  return out;
}

// Jet-tagger-shaped synthetic data: 5 classes, 16 features, class means +-1 per feature
// (drawn first) plus unit Gaussian noise. One dataset per entry of `rows`, drawn one after
// the other from the same seeded stream.
inline std::vector<data::Dataset> synthetic_jets(const std::vector<int64_t>& rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  float means[5][16];
  for (auto& row : means)
    for (float& m : row) m = (rng() & 1) ? 1.0f : -1.0f;
  std::vector<data::Dataset> out;
  for (int64_t n : rows) {
    data::Dataset d;
    d.x = Tensor({n, 16});
    d.labels.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const int c = static_cast<int>(rng() % 5);
      d.labels[i] = c;
      for (int j = 0; j < 16; ++j) d.x.data[i * 16 + j] = means[c][j] + gauss(rng);
    }
    for (int c = 0; c < 5; ++c) d.class_names.push_back(std::to_string(c));
    d.source = "synthetic";
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace hwprune::bench
