// Helpers of the pruning-pipeline tests: an observer that simulates a kill after a
// checkpoint, and a bit-exact comparison of two models' weights and masks.
#pragma once

#include <stdexcept>

#include <gtest/gtest.h>

#include "hwprune/prune/pipeline.hpp"

namespace hwprune::test {

// Throws after the checkpoint of step `at` (-1: the baseline's) was written.
class Killer : public prune::PipelineObserver {
 public:
  explicit Killer(int at) : at_(at) {}
  void checkpoint_written(int step) override {
    if (step == at_) throw std::runtime_error("simulated kill");
  }

 private:
  int at_;
};

inline void expect_same_weights(const Model& a, const Model& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const Layer &la = a.layers[i], &lb = b.layers[i];
    ASSERT_EQ(la.weights.size(), lb.weights.size()) << la.name;
    for (const auto& [k, t] : la.weights) {
      const Tensor& u = lb.weights.at(k);
      ASSERT_EQ(t.shape, u.shape) << la.name << " " << k;
      for (size_t j = 0; j < t.data.size(); ++j)
        ASSERT_EQ(t.data[j], u.data[j]) << la.name << " " << k << "[" << j << "]";
    }
    ASSERT_EQ(la.mask.data, lb.mask.data) << la.name;
    ASSERT_EQ(la.widths.data, lb.widths.data) << la.name;
  }
}

}  // namespace hwprune::test
