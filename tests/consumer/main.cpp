// Builds a builtin model, trains it for one step and quantizes a value: proves that the
// installed headers and libraries work without the hwprune source tree.
#include <cstdio>

#include "hwprune/ir/fixed_point.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/train/trainer.hpp"

int main() {
  hwprune::Model m = hwprune::make_builtin_model("jet-mlp", 2, 1);
  m.set_precision(hwprune::FixedType::parse("ap_fixed<16,6>"));
  hwprune::data::Dataset d;
  d.x = hwprune::Tensor({4, 16}, 0.5f);
  d.labels = {0, 1, 0, 1};
  d.class_names = {"a", "b"};
  d.source = "consumer";
  hwprune::train::TrainConfig cfg;
  hwprune::train::Trainer t(m, cfg);
  const double loss = t.train_step(d);
  std::printf("loss %.4f, 0.3 -> %g\n", loss, m.input_precision->quantize(0.3));
  return loss > 0 ? 0 : 1;
}
