// The HTML report: one self-contained file that works offline — Vega-Lite charts (the vega,
// vega-lite and vega-embed browser builds from npm, inlined) and tables made from the result
// JSON of `prune`, `synth` and a sweep (docs/json.md, docs/sweep.md). It reads JSON only, so
// it needs nothing else. docs/report.md lists what each section shows.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hwprune::report {

// One pruning run and/or one hardware check of a model.
struct Run {
  std::string name;      // shown as its title (e.g. the JSON file's name)
  nlohmann::json prune;  // prune::to_json, or null
  nlohmann::json synth;  // rtl::to_json, or null
};

// A sweep: its axes and its result rows (sweep::result_rows), and the prune JSON of every
// done point (same order as the rows, null where not done).
struct Sweep {
  std::string name;
  std::vector<std::string> axes;
  std::vector<nlohmann::json> rows;
  std::vector<nlohmann::json> runs;
};

struct Inputs {
  std::string title = "hwprune report";
  std::string version;  // hwprune's
  std::vector<Run> runs;
  std::vector<Sweep> sweeps;
};

// A chart of the report: its element id and Vega-Lite spec.
struct Chart {
  std::string id, title;
  nlohmann::json spec;
};

// The charts the report of `inputs` holds, in page order (ids: sweep-<k>-dsp, run-<k>-steps,
// ...). Error when there is nothing to chart.
std::vector<Chart> charts(const Inputs& inputs);

// The whole HTML page.
std::string html(const Inputs& inputs);

// Writes html(inputs) to path atomically.
void write_html(const std::string& path, const Inputs& inputs);

// The versions of the inlined charting libraries, e.g. {"vega": "6.2.0", ...}.
nlohmann::json library_versions();

// The Pareto front of (cost, value) points, cost minimised and value maximised (or
// minimised when !higher_is_better): the indices of the points no other point beats in both,
// ordered by cost. Ties on both keep the first.
std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& value,
                                 bool higher_is_better);

}  // namespace hwprune::report
