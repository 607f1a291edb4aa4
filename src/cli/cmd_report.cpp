// hwprune report: one self-contained HTML page (report::html) from sweep files and the JSON
// of prune and synth runs.
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "common.hpp"
#include "hwprune/report/report.hpp"
#include "hwprune/sweep/results.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::string out, title = "hwprune report";
};

// The report of the inputs: a .yml/.yaml is a sweep file; a .json a prune or synth result
// (a synth result of a model a prune result wrote joins that run).
report::Inputs report_inputs(const std::vector<std::string>& paths) {
  report::Inputs in;
  for (const auto& path : paths) {
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".yml" || ext == ".yaml") {
      const sweep::Spec spec = sweep::load_spec(path);
      in.sweeps.push_back(sweep::report_input(spec, sweep::result_rows(spec)));
      continue;
    }
    json j;
    try {
      j = json::parse(read_file(path));
    } catch (const json::exception& e) {
      throw Error(fmt::format("{}: not valid JSON ({})", path, e.what()));
    }
    const std::string name = fs::path(path).filename().string();
    if (j.is_object() && j.contains("steps") && j.contains("config")) {
      in.runs.push_back({name, j, json()});
    } else if (j.is_object() && j.contains("estimate_total") && j.contains("layers")) {
      bool joined = false;
      for (auto& r : in.runs)
        if (!joined && r.synth.is_null() && r.prune.is_object() &&
            r.prune.value("model", "") == j.value("model", "?")) {
          r.synth = j;
          r.name += " + " + name;
          joined = true;
        }
      if (!joined) in.runs.push_back({name, json(), j});
    } else {
      throw Error(fmt::format("{}: neither a prune nor a synth result (docs/json.md)", path));
    }
  }
  return in;
}

}  // namespace

std::function<void()> add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "One self-contained HTML report (charts work offline) of sweeps and prune/synth results");
  cmd->add_option("inputs", a->inputs, "Sweep files (.yml) and --json results of prune and synth")
      ->required();
  cmd->add_option("--out", a->out, "The HTML file to write")->required();
  cmd->add_option("--title", a->title, "Title of the page")->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  hwprune report letter.yml --out letter.html\n"
      "  hwprune report prune.json synth.json --out jet.html");
  return [a] {
    declare_output(a->out, "--out");
    report::Inputs in = report_inputs(a->inputs);
    write_report(stdout, a->out, a->title, std::move(in.runs), std::move(in.sweeps));
  };
}

}  // namespace hwprune::cli
