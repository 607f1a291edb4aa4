// The integer model's activations against hls4ml's own C++ (nnet_activation.h and its
// ap_fixed headers, from the hls4ml peer): every raw input of each input type, through
// sigmoid, tanh, elu (with and without alpha), selu, leaky_relu, hard_sigmoid, relu and a
// linear cast, compiled with g++ at test time. Skips when the hls4ml peer is absent.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/ir/int_model.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::run_command;
using test::ScratchDir;

// The hls4ml peer's Vivado templates (nnet_utils, ap_types), or empty.
std::filesystem::path hls4ml_templates() {
  std::filesystem::path root;
  if (const char* env = std::getenv("HWPRUNE_HLS4ML"))
    root = env;
  else if (const std::string shared = test::shared_dir(); !shared.empty())
    root = std::filesystem::path(shared) / "peers" / "hls4ml-py";
  const auto t = root / "hls4ml" / "templates" / "vivado";
  return !root.empty() && std::filesystem::exists(t / "nnet_utils" / "nnet_activation.h")
             ? t
             : std::filesystem::path();
}

struct Case {
  std::string id;
  ActivationKind kind;
  double alpha = 0, beta = 0;
  bool parametrized = false;  // hls4ml's ParametrizedActivation form (alpha passed in)
  std::string input, result;
};

// The hls4ml call for one case, on an array of every raw value of the input type.
std::string hls_call(const Case& c, const FixedType& param) {
  const std::string act(to_string(c.kind));
  switch (c.kind) {
    case ActivationKind::LeakyReLU:
      return fmt::format("nnet::leaky_relu<in_t, {}, res_t, cfg>(x, {}, y);", param.str(),
                         fmt::format("{:.17g}", c.alpha));
    case ActivationKind::ELU:
      if (c.parametrized)
        return fmt::format("nnet::elu<in_t, {}, res_t, cfg>(x, {:.17g}, y);", param.str(), c.alpha);
      return "nnet::elu<in_t, res_t, cfg>(x, y);";
    case ActivationKind::ReLU:
      return "nnet::relu<in_t, res_t, cfg>(x, y);";
    case ActivationKind::Linear:
      return "nnet::linear<in_t, res_t, cfg>(x, y);";
    default:
      return fmt::format("nnet::{}<in_t, res_t, cfg>(x, y);", act);
  }
}

std::string program(const std::vector<Case>& cases) {
  std::string s =
      "#include <cmath>\n#include <cstdio>\n#include \"ap_fixed.h\"\n"
      "#include \"nnet_utils/nnet_activation.h\"\n";
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    Layer l;
    l.activation = c.kind;
    l.alpha = c.alpha;
    const FixedType in = FixedType::parse(c.input), res = FixedType::parse(c.result);
    const int64_t n = in.raw_max() - in.raw_min() + 1;
    s += fmt::format(
        "namespace c{0} {{\ntypedef {1} in_t;\ntypedef {2} res_t;\n"
        "struct cfg : nnet::activ_config {{\n  static const unsigned n_in = {3};\n"
        "  typedef ap_ufixed<16,0> slope_t;\n  typedef ap_ufixed<2,0> shift_t;\n"
        "  static const slope_t slope;\n  static const shift_t shift;\n}};\n"
        "const cfg::slope_t cfg::slope = {4:.17g};\nconst cfg::shift_t cfg::shift = {5:.17g};\n"
        "void run() {{\n  static in_t x[{3}];\n  static res_t y[{3}];\n"
        "  for (long long i = 0; i < {3}; ++i) x[i] = std::ldexp((double)({6}LL + i), -{7});\n"
        "  {8}\n  std::printf(\"{9}\");\n"
        "  for (long long i = 0; i < {3}; ++i) std::printf(\" %.0f\", std::ldexp(y[i].to_double(), "
        "{10}));\n  std::printf(\"\\n\");\n}}\n}}\n",
        k, in.str(), res.str(), n, c.alpha, c.beta, in.raw_min(), in.frac_bits(),
        hls_call(c, activation_param_type(l)), c.id, res.frac_bits());
  }
  s += "int main() {\n";
  for (size_t k = 0; k < cases.size(); ++k) s += fmt::format("  c{}::run();\n", k);
  return s + "  return 0;\n}\n";
}

// The integer model of a one-activation network, on every raw value of the input type.
std::vector<int64_t> ours(const Case& c) {
  Model m;
  m.input_shape = {1};
  m.input_precision = FixedType::parse(c.input);
  Layer l;
  l.name = c.id;
  l.kind = LayerKind::Activation;
  l.activation = c.kind;
  l.alpha = c.alpha;
  l.beta = c.beta;
  l.precision.result = FixedType::parse(c.result);
  m.layers.push_back(l);
  const IntNetwork net = make_int_network(m);
  std::vector<int64_t> out;
  for (int64_t r = net.input.raw_min(); r <= net.input.raw_max(); ++r)
    out.push_back(net.run({r}).at(0));
  return out;
}

TEST(Hls4mlActivations, IntegerModelEqualsHls4mlOnEveryInput) {
  const auto templates = hls4ml_templates();
  if (templates.empty())
    GTEST_SKIP() << "hls4ml peer not found (../shared/peers/hls4ml-py or $HWPRUNE_HLS4ML)";
  if (run_command("g++ --version").exit_code != 0) GTEST_SKIP() << "g++ not found";

  using A = ActivationKind;
  std::vector<Case> cases;
  const std::vector<std::pair<std::string, std::string>> types = {
      {"ap_fixed<12,5>", "ap_fixed<16,6>"},
      {"ap_fixed<10,2>", "ap_ufixed<8,0,AP_RND,AP_SAT>"},
      {"ap_fixed<14,8,AP_RND_CONV,AP_SAT>", "ap_fixed<10,3,AP_RND,AP_SAT>"},
      {"ap_ufixed<8,4>", "ap_fixed<12,4>"},
  };
  for (size_t t = 0; t < types.size(); ++t) {
    const std::string& in = types[t].first;  // named: clang-14 cannot capture a binding
    const std::string& res = types[t].second;
    auto add = [&](A kind, double alpha, double beta, bool param, const char* tag) {
      cases.push_back({fmt::format("{}{}_{}", tag, param ? "_alpha" : "", t), kind, alpha, beta,
                       param, in, res});
    };
    add(A::Sigmoid, 0, 0, false, "sigmoid");
    add(A::Tanh, 0, 0, false, "tanh");
    add(A::ELU, 1.0, 0, false, "elu");
    add(A::ELU, 0.7, 0, true, "elu");
    add(A::SELU, 0, 0, false, "selu");
    add(A::LeakyReLU, 0.3, 0, true, "leaky_relu");
    add(A::LeakyReLU, 0.01, 0, true, "leaky_relu_small");
    add(A::HardSigmoid, 0.2, 0.5, false, "hard_sigmoid");
    add(A::ReLU, 0, 0, false, "relu");
    add(A::Linear, 0, 0, false, "linear");
  }

  ScratchDir dir;
  dir.write("act.cpp", program(cases));
  const auto build =
      run_command(fmt::format("g++ -std=c++14 -O1 -w -I'{0}' -I'{0}/ap_types' -o '{1}' '{2}'",
                              templates.string(), dir.file("act"), dir.file("act.cpp")));
  ASSERT_EQ(build.exit_code, 0) << build.output.substr(0, 4000);
  const auto run = run_command(fmt::format("'{}'", dir.file("act")));
  ASSERT_EQ(run.exit_code, 0) << run.output.substr(0, 2000);

  std::map<std::string, std::vector<int64_t>> theirs;
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string id;
    f >> id;
    for (double v; f >> v;) theirs[id].push_back(static_cast<int64_t>(v));
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id + " " + c.input + " -> " + c.result);
    const auto mine = ours(c);
    const auto& ref = theirs[c.id];
    ASSERT_EQ(ref.size(), mine.size());
    int64_t diff = 0, first = -1;
    for (size_t i = 0; i < mine.size(); ++i)
      if (mine[i] != ref[i] && diff++ == 0) first = static_cast<int64_t>(i);
    EXPECT_EQ(diff, 0) << "first at raw input " << FixedType::parse(c.input).raw_min() + first
                       << ": ours " << (first >= 0 ? mine[first] : 0) << ", hls4ml "
                       << (first >= 0 ? ref[first] : 0);
  }
}

}  // namespace
}  // namespace hwprune
