// check_hardware: the hardware check as a list of steps (see check.hpp), and its JSON.
#include "hwprune/rtl/check.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "hwprune/data/predict.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::rtl {

namespace {

namespace fs = std::filesystem;

// The Verilog and the Yosys script, written into the output folder.
VerilogDesign write_design(const IntNetwork& net, const hw::MappedModel& mapped,
                           const CheckOptions& o, HardwareCheck& c) {
  VerilogOptions vo;
  vo.top = o.top;
  vo.dsp_min_weight_bits = mapped.hardware.device.dsp_min_weight_bits;
  VerilogDesign design = generate_verilog(net, mapped.hardware.layers, vo);
  fs::create_directories(o.out_dir);
  c.verilog_path = (fs::path(o.out_dir) / (o.top + ".v")).string();
  c.script_path = (fs::path(o.out_dir) / "synth.ys").string();
  write_file_atomic(c.verilog_path, design.verilog);
  write_file_atomic(c.script_path,
                    yosys_script(c.verilog_path, o.top, mapped.hardware.device, o.depth));
  c.latency = design.latency;
  c.interval = design.interval;
  return design;
}

// Seeded random raw inputs over the whole input type range.
std::vector<std::vector<int64_t>> random_inputs(const IntNetwork& net, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(net.input.raw_min(), net.input.raw_max());
  std::vector<std::vector<int64_t>> in(static_cast<size_t>(n));
  for (auto& v : in) {
    v.resize(static_cast<size_t>(net.n_in()));
    for (auto& x : v) x = dist(rng);
  }
  return in;
}

// The raw inputs to co-simulate: rows of the data, or seeded random values.
void choose_inputs(const IntNetwork& net, const CheckOptions& o, HardwareCheck& c) {
  if (o.samples < 1) throw Error(fmt::format("samples must be >= 1, got {}", o.samples));
  if (!o.data) {
    c.inputs = random_inputs(net, o.samples, o.seed);
    c.inputs_origin = fmt::format("seeded random inputs (seed {})", o.seed);
    return;
  }
  const data::Dataset& d = *o.data;
  const int64_t f = net.n_in();
  if (d.sample_size() != f)
    throw Error(fmt::format("{}: {} features per sample, the network takes {}", d.source,
                            d.sample_size(), f));
  const int64_t n = std::min(d.size(), o.samples);
  for (int64_t i = 0; i < n; ++i) c.inputs.push_back(net.quantize_input(d.x.ptr() + i * f));
  c.inputs_origin = d.source;
}

// Of a labelled classifier: the integer model's class against the float QAT model's.
void compare_with_float_model(const Model& model, const IntNetwork& net, const CheckOptions& o,
                              HardwareCheck& c) {
  if (!o.data || o.data->task != Task::Classification || o.data->labels.empty()) return;
  const data::Dataset& d = *o.data;
  const data::Predictions qat = data::predict(model, d.x);
  const Tensor ints = net.forward(d.x);
  const int64_t k = net.n_out();
  int64_t agree = 0, correct = 0;
  for (int64_t i = 0; i < d.size(); ++i) {
    const float* q = ints.ptr() + i * k;
    const int64_t cls = std::max_element(q, q + k) - q;
    agree += cls == qat.predicted[static_cast<size_t>(i)];
    correct += cls == d.labels[static_cast<size_t>(i)];
  }
  const auto n = static_cast<double>(d.size());
  c.agreement =
      Agreement{d.size(), static_cast<double>(agree) / n, static_cast<double>(correct) / n};
}

// Every layer's estimate beside what was generated and, when it ran, what Yosys counted.
void compare_layers(const hw::MappedModel& mapped, const VerilogDesign& design,
                    const CheckOptions& o, HardwareCheck& c) {
  const hw::ModelEstimate est = hw::estimate_model(mapped.model, mapped.hardware,
                                                   {o.bram, true, /*constants_by_value=*/true});
  for (size_t i = 0; i < est.layers.size(); ++i) {
    LayerCheck lc{est.layers[i], design.layers.at(i), std::nullopt, std::nullopt};
    // The layer module with its submodules: the multiplier lanes and sums, and a streaming
    // layer's kernel instances.
    if (c.synth) lc.yosys = subtree_resources(*c.synth, lc.rtl.module);
    if (c.full_synthesis)
      lc.yosys_lut_multipliers = subtree_resources(*c.synth, lc.rtl.module, "lutmul_");
    c.layers.push_back(std::move(lc));
  }
  c.estimate_total = est.total;
}

}  // namespace

HardwareCheck check_hardware(const Model& model, const hw::HardwareSpec& spec,
                             const CheckOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  HardwareCheck c;
  c.model_name = model.name;
  c.family = spec.device.family;
  const hw::MappedModel mapped = hw::map_model(model, spec);
  c.adjustments = mapped.hardware.adjustments;
  const IntNetwork net = hw::make_int_network(mapped);
  const VerilogDesign design = write_design(net, mapped, o, c);
  choose_inputs(net, o, c);
  for (const auto& x : c.inputs) c.expected.push_back(net.run(x));
  compare_with_float_model(model, net, o, c);
  if (o.cosimulate) {
    c.cosim = cosimulate(design, c.inputs, c.expected, (fs::path(o.out_dir) / "cosim").string());
    // Streaming layers overlap: the design's own figure is an upper bound, this is measured.
    c.latency = c.cosim->latency;
    c.interval = c.cosim->interval;
  }
  if (o.synthesize)
    c.synth = synthesize(c.verilog_path, o.top, mapped.hardware.device,
                         (fs::path(o.out_dir) / "yosys").string(), o.depth);
  c.full_synthesis = c.synth && o.depth == SynthDepth::Full;
  compare_layers(mapped, design, o, c);
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

nlohmann::json to_json(const HardwareCheck& c) {
  using nlohmann::json;
  auto yosys_json = [&](const SynthResources& r) {
    json j{{"dsp", r.dsp}, {"bram18", r.bram18}};
    if (c.full_synthesis) j.update({{"lut", r.lut}, {"ff", r.ff}});
    return j;
  };
  json layers = json::array();
  for (const auto& l : c.layers) {
    const auto& e = l.estimate;
    json lj{{"name", e.name},
            {"module", l.rtl.module},
            {"reuse_factor", e.reuse_factor},
            {"estimate",
             {{"dsp", e.dsp},
              {"bram18", e.bram18},
              {"ff", e.ff},
              {"latency_cycles", e.latency},
              {"lut_multipliers", e.lut_multipliers}}},
            {"rtl",
             {{"multipliers", l.rtl.multipliers},
              {"rom_width", l.rtl.rom_width},
              {"latency_cycles", l.rtl.latency}}}};
    if (l.yosys) lj["yosys"] = yosys_json(*l.yosys);
    if (l.yosys_lut_multipliers) lj["yosys"]["lut_multipliers"] = l.yosys_lut_multipliers->lut;
    layers.push_back(std::move(lj));
  }
  const auto& t = c.estimate_total;
  json j{{"model", c.model_name},
         {"family", c.family},
         {"verilog", c.verilog_path},
         {"rf_adjustments", c.adjustments},
         {"layers", layers},
         {"latency_cycles", c.latency},
         {"interval_cycles", c.interval},
         {"estimate_total",
          {{"dsp", t.dsp}, {"bram18", t.bram18}, {"ff", t.ff}, {"latency_cycles", t.latency}}},
         {"wall_seconds", c.seconds}};
  if (c.synth) {
    j["yosys_total"] = yosys_json(c.synth->total);
    j["yosys_total"]["seconds"] = c.synth->seconds;
  }
  if (c.cosim)
    j["cosim"] = {{"samples", c.cosim->samples},
                  {"mismatches", c.cosim->mismatches},
                  {"latency_cycles", c.cosim->latency},
                  {"interval_cycles", c.cosim->interval},
                  {"inputs", c.inputs_origin}};
  if (c.agreement)
    j["integer_vs_qat"] = {{"samples", c.agreement->samples},
                           {"argmax_agreement", c.agreement->argmax_agreement},
                           {"integer_model_accuracy", c.agreement->integer_model_accuracy}};
  return j;
}

}  // namespace hwprune::rtl
