// hwprune synth: the hardware check (rtl::check_hardware: Verilog, Verilator co-simulation
// against the bit-exact integer model, Yosys), each layer's DSP/BRAM18/LUT/FF/latency printed
// beside the hardware model's estimate.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/rtl/check.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

namespace {

struct SynthArgs {
  data::ModelSource src;
  HardwareArgs hw;
  data::EvalSpec eval;
  rtl::CheckOptions check;
  std::string json_out, report_out;
  bool no_yosys = false, no_cosim = false, dsp_bram_only = false;
};

std::string diff_cell(int64_t estimate, int64_t actual) {
  if (estimate == actual) return fmt::format("{} = {}", estimate, actual);
  return fmt::format("{} / {} ({:+d})", estimate, actual, actual - estimate);
}

// The LUT multipliers' estimate beside Yosys's count, with the relative error.
std::string lut_cell(int64_t estimate, std::optional<int64_t> actual) {
  const std::string est = estimate < 0 ? "?" : std::to_string(estimate);
  if (!actual) return est;
  if (estimate == *actual) return diff_cell(estimate, *actual);
  if (estimate <= 0) return fmt::format("{} / {}", est, *actual);
  return fmt::format(
      "{} / {} ({:+.1f}%)", estimate, *actual,
      100.0 * static_cast<double>(*actual - estimate) / static_cast<double>(estimate));
}

// Estimate vs Yosys per layer and in total.
std::string comparison_table(const rtl::HardwareCheck& c) {
  std::vector<std::vector<std::string>> rows{{"layer", "RF", "DSP est/yosys", "BRAM18 est/yosys",
                                              "LUT", "LUT mult est/yosys", "FF est~/yosys",
                                              "cycles est~/rtl"}};
  auto row = [&](const std::string& name, const std::string& rf, const hw::LayerEstimate& e,
                 const rtl::SynthResources* y, std::optional<int64_t> y_mult, int64_t rtl_latency) {
    const bool full = y && c.full_synthesis;
    rows.push_back({name, rf, y ? diff_cell(e.dsp, y->dsp) : std::to_string(e.dsp),
                    y ? diff_cell(e.bram18, y->bram18) : std::to_string(e.bram18),
                    full ? std::to_string(y->lut) : "-", lut_cell(e.lut_multipliers, y_mult),
                    full ? diff_cell(e.ff, y->ff) : std::to_string(e.ff),
                    diff_cell(e.latency, rtl_latency)});
  };
  std::optional<int64_t> total_mult;
  for (const auto& l : c.layers) {
    std::optional<int64_t> m;
    if (l.yosys_lut_multipliers) {
      m = l.yosys_lut_multipliers->lut;
      total_mult = total_mult.value_or(0) + *m;
    }
    row(l.estimate.name, std::to_string(l.estimate.reuse_factor), l.estimate,
        l.yosys ? &*l.yosys : nullptr, m, l.rtl.latency);
  }
  row("total", "", c.estimate_total, c.synth ? &c.synth->total : nullptr, total_mult, c.latency);
  return format_table(rows);
}

void run_synth(SynthArgs& a) {
  FILE* human = human_stream(a.json_out);
  declare_output(a.report_out, "--report");
  const hw::HardwareSpec spec = hardware_spec(a.hw);
  const Model model = data::load_model_source(a.src).model;
  std::optional<data::EvalData> rows;
  if (!a.eval.data.empty()) {
    a.eval.labels_required = false;
    rows = data::prepare_eval(model, a.eval);
    a.check.data = &rows->rows;
  }
  a.check.cosimulate = !a.no_cosim;
  a.check.synthesize = !a.no_yosys;
  a.check.depth = a.dsp_bram_only ? rtl::SynthDepth::DspAndBram : rtl::SynthDepth::Full;
  a.check.bram = hw::parse_bram_model(a.hw.bram);
  const rtl::HardwareCheck c = rtl::check_hardware(model, spec, a.check);

  print_notes(human, c.adjustments);
  if (c.agreement)
    fmt::print(human,
               "integer model vs float QAT model: argmax agrees on {:.2f}% of {} samples; "
               "integer-model accuracy {:.2f}%\n",
               100 * c.agreement->argmax_agreement, c.agreement->samples,
               100 * c.agreement->integer_model_accuracy);
  if (c.cosim) {
    fmt::print(human,
               "co-simulation (Verilator) on {} {}: {} mismatches; latency {} cycles, initiation "
               "interval {} cycles\n",
               c.cosim->samples,
               rows ? fmt::format("rows of {} ({})", a.eval.data, rows->what) : c.inputs_origin,
               c.cosim->mismatches, c.cosim->latency, c.cosim->interval);
    if (c.cosim->mismatches > 0) fmt::print(human, "first mismatch: {}\n", c.cosim->first_mismatch);
  }
  fmt::print(human, "{} for {} (estimate vs {}):\n{}", c.model_name, c.family,
             !c.synth           ? "no synthesis"
             : c.full_synthesis ? "Yosys synth_xilinx"
                                : "Yosys synth_xilinx up to block RAM mapping: no LUT/FF counts",
             comparison_table(c));
  fmt::print(human, "wrote {}, {} ({:.1f} s)\n", c.verilog_path, c.script_path, c.seconds);
  nlohmann::json j = rtl::to_json(c);
  j["model"] = a.src.model;
  if (!a.json_out.empty()) write_output(a.json_out, j.dump(2) + "\n");
  if (!a.report_out.empty())
    write_report(human, a.report_out, "hwprune synth: " + c.model_name,
                 {{a.src.model, nullptr, j}});
  if (c.cosim && c.cosim->mismatches > 0)
    throw Error(fmt::format("co-simulation: {} of {} outputs differ from the integer model",
                            c.cosim->mismatches, c.cosim->samples));
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
  cmd->add_option("--out", a->check.out_dir,
                  "Output folder (Verilog, Yosys script, logs, simulator)")
      ->required();
  a->hw.bram = "trimmed";  // what Yosys does with the generated ROMs
  add_hardware_options(cmd, a->hw);
  cmd->add_option("--data", a->eval.data,
                  "Co-simulate on rows of this data (--split; default: its test part) and report "
                  "integer vs float QAT argmax agreement; default: seeded random inputs");
  cmd->add_option("--test-data", a->eval.test_data, "A separate test set (spec as --data)");
  cmd->add_option("--split", a->eval.split,
                  fmt::format("Rows of --data: {}", data::kSplitNames.list(", ")))
      ->capture_default_str();
  cmd->add_option("--samples", a->check.samples, "Inputs to co-simulate")->capture_default_str();
  cmd->add_option("--seed", a->check.seed, "Seed of the random inputs")->capture_default_str();
  cmd->add_option("--top", a->check.top, "Name of the top module")->capture_default_str();
  cmd->add_flag("--no-yosys", a->no_yosys, "Skip synthesis");
  cmd->add_flag("--no-cosim", a->no_cosim, "Skip co-simulation");
  cmd->add_flag("--dsp-bram-only", a->dsp_bram_only,
                "Run Yosys only until DSPs and block RAMs are mapped (about half the time; no "
                "LUT/FF counts)");
  cmd->add_option("--report", a->report_out,
                  "Write an HTML report (per-layer estimate vs Yosys, co-simulation)");
  cmd->add_option("--json", a->json_out,
                  "Write the results as JSON ('-': stdout, the table then goes to stderr)");
  cmd->footer(
      "Examples:\n"
      "  hwprune synth --model jet_pruned.hwp --data letter --out synth/\n"
      "  hwprune synth --model jet.json --hls-config jet.yml --family xcu --out synth/ --json "
      "synth.json\n"
      "  hwprune synth --model small.hwp --rf 4 --no-yosys --out sim/");
  return [a] { run_synth(*a); };
}

}  // namespace hwprune::cli
