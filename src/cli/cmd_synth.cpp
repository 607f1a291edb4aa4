// hwprune synth: the pruned network as Verilog (rtl::generate_verilog), co-simulated with
// Verilator against the bit-exact integer model, synthesised with Yosys, and each layer's
// DSP/BRAM18/LUT/FF/latency printed beside the hardware model's estimate.
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/hw/estimate.hpp"
#include "hwprune/ir/int_model.hpp"
#include "hwprune/rtl/synth.hpp"
#include "hwprune/rtl/verilog.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

namespace {

struct SynthArgs {
  ModelArgs src;
  HardwareArgs hw;
  std::string out, data, test_data, top = "hwprune_top";
  int64_t samples = 1000;
  uint64_t seed = 1;
  int threads = 0;
  std::string json_out;
  bool no_yosys = false, no_cosim = false, dsp_bram_only = false;
};

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

std::string diff_cell(int64_t estimate, int64_t actual) {
  if (estimate == actual) return fmt::format("{} = {}", estimate, actual);
  return fmt::format("{} / {} ({:+d})", estimate, actual, actual - estimate);
}

void run_synth(SynthArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  FILE* human = a.json_out == "-" ? stderr : stdout;
  if (a.samples < 1) throw Error(fmt::format("--samples must be >= 1, got {}", a.samples));
  io::ModelFile file = load_model_arg(a.src);
  Model model = fold_batchnorm(file.model);
  model.infer_shapes();
  const hw::HardwareDefaults defaults = hardware_defaults(a.hw);
  const hw::Device device = hardware_device(a.hw);
  const hw::HardwareModel hwm = hw::resolve_hardware(model, defaults, device);
  for (const auto& adj : hwm.adjustments) fmt::print(human, "note: {} (closest valid)\n", adj);
  std::vector<int64_t> rfs;
  for (const auto& h : hwm.layers) rfs.push_back(h.reuse_factor);
  const IntNetwork net = make_int_network(model, rfs);
  rtl::VerilogOptions vo;
  vo.top = a.top;
  vo.dsp_min_weight_bits = device.dsp_min_weight_bits;
  const rtl::VerilogDesign design = rtl::generate_verilog(net, hwm.layers, vo);

  std::filesystem::create_directories(a.out);
  const std::string verilog = (std::filesystem::path(a.out) / (a.top + ".v")).string();
  write_file_atomic(verilog, design.verilog);
  const std::string ys = (std::filesystem::path(a.out) / "synth.ys").string();
  const rtl::SynthDepth depth =
      a.dsp_bram_only ? rtl::SynthDepth::DspAndBram : rtl::SynthDepth::Full;
  write_file_atomic(ys, rtl::yosys_script(verilog, a.top, device, depth));

  // Inputs: test data (standardised as the model was trained) or seeded random raw values.
  std::vector<std::vector<int64_t>> inputs;
  std::string origin;
  nlohmann::json agreement;
  if (!a.data.empty()) {
    data::LoadOptions load;
    load.task = file.model.task;
    load.class_names = file.model.class_names;
    PreparedData d = prepare_data(a.data, a.test_data, {0.2, a.seed}, load);
    data::Dataset& set = d.test ? *d.test : d.train;
    origin = d.test ? "test data (" + d.test_origin + ")" : "all data";
    file.model.standardisation.apply(set.x);
    const int64_t n = std::min(set.size(), a.samples);
    const int64_t f = net.n_in();
    if (shape_numel(set.sample_shape()) != f)
      throw Error(fmt::format("{}: {} features per sample, the network takes {}", a.data,
                              shape_numel(set.sample_shape()), f));
    for (int64_t i = 0; i < n; ++i) inputs.push_back(net.quantize_input(set.x.ptr() + i * f));
    // How often the integer model's class equals the float QAT model's (on all of the set).
    if (file.model.task == data::Task::Classification) {
      train::TrainConfig tc;
      tc.threads = resolve_threads(a.threads, file.model);
      Model m = file.model;
      train::Trainer t(m, tc);
      const Tensor qat = t.predict(set.x);
      const Tensor ints = net.forward(set.x);
      const int64_t k = net.n_out();
      int64_t agree = 0, correct_int = 0;
      for (int64_t i = 0; i < set.size(); ++i) {
        const float* p = qat.ptr() + i * k;
        const float* q = ints.ptr() + i * k;
        const auto ap = std::max_element(p, p + k) - p, aq = std::max_element(q, q + k) - q;
        agree += ap == aq;
        correct_int += aq == set.labels[i];
      }
      agreement = {{"samples", set.size()},
                   {"argmax_agreement", static_cast<double>(agree) / set.size()},
                   {"integer_model_accuracy", static_cast<double>(correct_int) / set.size()}};
      fmt::print(human,
                 "integer model vs float QAT model: argmax agrees on {}/{} samples ({:.2f}%); "
                 "integer-model accuracy {:.2f}%\n",
                 agree, set.size(), 100.0 * agree / set.size(), 100.0 * correct_int / set.size());
    }
  } else {
    inputs = random_inputs(net, a.samples, a.seed);
    origin = fmt::format("seeded random inputs (seed {})", a.seed);
  }
  std::vector<std::vector<int64_t>> expected;
  expected.reserve(inputs.size());
  for (const auto& x : inputs) expected.push_back(net.run(x));

  rtl::CosimResult cosim;
  if (!a.no_cosim) {
    cosim = rtl::cosimulate(design, inputs, expected,
                            (std::filesystem::path(a.out) / "cosim").string());
    fmt::print(human,
               "co-simulation (Verilator) on {} {}: {} mismatches; latency {} cycles, initiation "
               "interval {} cycles\n",
               cosim.samples, origin, cosim.mismatches, cosim.latency, cosim.interval);
    if (cosim.mismatches > 0) fmt::print(human, "first mismatch: {}\n", cosim.first_mismatch);
  }
  std::optional<rtl::SynthReport> synth;
  if (!a.no_yosys)
    synth = rtl::synthesize(verilog, a.top, device,
                            (std::filesystem::path(a.out) / "yosys").string(), depth);
  // LUT and FF counts exist only when the whole flow ran.
  const bool full = synth && depth == rtl::SynthDepth::Full;

  const hw::BramModel bram = hw::parse_bram_model(a.hw.bram);
  const hw::ModelEstimate est =
      hw::estimate_model(model, hwm, {bram, true, /*constants_by_value=*/true});
  std::vector<std::vector<std::string>> rows{{"layer", "RF", "DSP est/yosys", "BRAM18 est/yosys",
                                              "LUT", "FF est~/yosys", "cycles est~/rtl"}};
  nlohmann::json layers = nlohmann::json::array();
  auto module_of = [&](const std::string& module) -> const rtl::SynthResources* {
    if (!synth) return nullptr;
    for (const auto& [name, r] : synth->modules)
      if (name == module) return &r;
    return nullptr;
  };
  for (size_t i = 0; i < est.layers.size(); ++i) {
    const auto& e = est.layers[i];
    const auto& l = design.layers.at(i);
    const rtl::SynthResources* s = module_of(l.module);
    rows.push_back({e.name, std::to_string(e.reuse_factor),
                    s ? diff_cell(e.dsp, s->dsp) : std::to_string(e.dsp),
                    s ? diff_cell(e.bram18, s->bram18) : std::to_string(e.bram18),
                    s && full ? std::to_string(s->lut) : "-",
                    s && full ? diff_cell(e.ff, s->ff) : std::to_string(e.ff),
                    diff_cell(e.latency, l.latency)});
    nlohmann::json lj{
        {"name", e.name},
        {"module", l.module},
        {"reuse_factor", e.reuse_factor},
        {"estimate",
         {{"dsp", e.dsp}, {"bram18", e.bram18}, {"ff", e.ff}, {"latency_cycles", e.latency}}},
        {"rtl",
         {{"multipliers", l.multipliers},
          {"rom_width", l.rom_width},
          {"latency_cycles", l.latency}}}};
    if (s) lj["yosys"] = {{"dsp", s->dsp}, {"bram18", s->bram18}};
    if (s && full) {
      lj["yosys"]["lut"] = s->lut;
      lj["yosys"]["ff"] = s->ff;
    }
    layers.push_back(lj);
  }
  const rtl::SynthResources* tot = synth ? &synth->total : nullptr;
  rows.push_back({"total", "",
                  tot ? diff_cell(est.total.dsp, tot->dsp) : std::to_string(est.total.dsp),
                  tot ? diff_cell(est.total.bram18, tot->bram18) : std::to_string(est.total.bram18),
                  tot && full ? std::to_string(tot->lut) : "-",
                  tot && full ? diff_cell(est.total.ff, tot->ff) : std::to_string(est.total.ff),
                  diff_cell(est.total.latency, design.latency)});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(human, "{} for {} (estimate vs {}):\n{}", file.model.name, device.family,
             !synth ? "no synthesis"
             : full ? "Yosys synth_xilinx"
                    : "Yosys synth_xilinx up to block RAM mapping: no LUT/FF counts",
             format_table(rows));
  fmt::print(human, "wrote {}, {} ({:.1f} s)\n", verilog, ys, seconds);
  if (!a.json_out.empty()) {
    nlohmann::json j{{"model", a.src.model},
                     {"family", device.family},
                     {"verilog", verilog},
                     {"layers", layers},
                     {"latency_cycles", design.latency},
                     {"interval_cycles", design.interval},
                     {"estimate_total",
                      {{"dsp", est.total.dsp},
                       {"bram18", est.total.bram18},
                       {"ff", est.total.ff},
                       {"latency_cycles", est.total.latency}}},
                     {"wall_seconds", seconds}};
    if (tot) {
      j["yosys_total"] = {{"dsp", tot->dsp}, {"bram18", tot->bram18}, {"seconds", synth->seconds}};
      if (full) {
        j["yosys_total"]["lut"] = tot->lut;
        j["yosys_total"]["ff"] = tot->ff;
      }
    }
    if (!a.no_cosim)
      j["cosim"] = {{"samples", cosim.samples},
                    {"mismatches", cosim.mismatches},
                    {"latency_cycles", cosim.latency},
                    {"interval_cycles", cosim.interval},
                    {"inputs", origin}};
    if (!agreement.is_null()) j["integer_vs_qat"] = agreement;
    write_output(a.json_out, j.dump(2) + "\n");
  }
  if (!a.no_cosim && cosim.mismatches > 0)
    throw Error(fmt::format("co-simulation: {} of {} outputs differ from the integer model",
                            cosim.mismatches, cosim.samples));
}

}  // namespace

std::function<void()> add_synth_command(CLI::App& app) {
  auto a = std::make_shared<SynthArgs>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Generate Verilog, co-simulate it (Verilator) and synthesise it (Yosys): DSP, "
      "BRAM18, LUT, FF and latency per layer beside the estimate");
  cmd->add_option("--model", a->src.model, "A model file (.hwp, .onnx, Keras, hls4ml .yml)")
      ->required();
  add_model_file_options(cmd, a->src);
  cmd->add_option("--out", a->out, "Output folder (Verilog, Yosys script, logs, simulator)")
      ->required();
  a->hw.bram = "trimmed";  // what Yosys does with the generated ROMs
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--data", a->data,
                  "Co-simulate on this data's test part (and report integer vs float QAT "
                  "argmax agreement); default: seeded random inputs");
  cmd->add_option("--test-data", a->test_data, "A separate test set (spec as --data)");
  cmd->add_option("--samples", a->samples, "Inputs to co-simulate")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the random inputs")->capture_default_str();
  cmd->add_option("--top", a->top, "Name of the top module")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Torch threads for the float model")
      ->capture_default_str();
  cmd->add_flag("--no-yosys", a->no_yosys, "Skip synthesis");
  cmd->add_flag("--no-cosim", a->no_cosim, "Skip co-simulation");
  cmd->add_flag("--dsp-bram-only", a->dsp_bram_only,
                "Run Yosys only until DSPs and block RAMs are mapped (about half the time; no "
                "LUT/FF counts)");
  cmd->add_option("--json", a->json_out,
                  "Write the results as JSON ('-': stdout, the table then goes to stderr)");
  cmd->footer(
      "Examples:\n"
      "  hwprune synth --model jet_pruned.hwp --rf 2 --data letter --out synth/\n"
      "  hwprune synth --model jet.json --hls-config jet.yml --family xcu --out synth/ --json "
      "synth.json\n"
      "  hwprune synth --model small.hwp --rf 4 --no-yosys --out sim/");
  return [a] { run_synth(*a); };
}

}  // namespace hwprune::cli
