// A sweep's results folder: each point's files (named by its id), its state (done, failed,
// missing) read from them, and the table of every point (results.jsonl, results.csv: the
// options, the accuracy before and after, the resource estimate and Yosys where synthesis
// ran, the wall time). docs/sweep.md describes the folder and the table's columns.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/report/report.hpp"
#include "hwprune/sweep/spec.hpp"

namespace hwprune::sweep {

struct PointFiles {
  std::string result;        // points/<id>.json: the prune JSON; written last, so it marks "done"
  std::string model;         // points/<id>.hwp
  std::string error;         // points/<id>.error: the one-line error of a failed point
  std::string log;           // points/<id>.log: what the point printed (attempts appended)
  std::string lock;          // points/<id>.lock: held by the process running the point
  std::string synth_result;  // points/<id>.synth-<hash of the synth options>.json
  std::string synth_dir;     // points/<id>.synth/: Verilog, Yosys logs
};
PointFiles point_files(const Spec& spec, const Point& point);

enum class State { Missing, Done, Failed };
inline constexpr NameTable<State, 3> kStateNames{
    "state",
    {{{"missing", State::Missing, "not run yet, or interrupted"},
      {"done", State::Done, "result written"},
      {"failed", State::Failed, "ended with an error (points/<id>.error)"}}}};

struct PointStatus {
  State state = State::Missing;
  std::string error;  // failed: the error line
};
// Done when the result (and, with synth, the synthesis result) exists; failed when the error
// file does; else missing.
PointStatus point_status(const Spec& spec, const Point& point);

// One row per point: {id, label, state, error, options, and when done: metric, val_before,
// val_after, test_metric (accuracy or mse), test_before, test_after, final_sparsity,
// dsp/bram18/lut_multipliers/latency _before/_after (the estimate),
// yosys_dsp/yosys_bram18/yosys_lut/yosys_ff/ yosys_lut_multipliers/cosim_mismatches (with synth),
// wall_seconds, result (path)}.
nlohmann::json result_row(const Spec& spec, const Point& point);
std::vector<nlohmann::json> result_rows(const Spec& spec);

// What the report shows of the sweep: its axes, the rows and each done point's prune JSON.
report::Sweep report_input(const Spec& spec, const std::vector<nlohmann::json>& rows);

// The rows as CSV: the axes first, then the figures (header line + one line per row).
std::string results_csv(const Spec& spec, const std::vector<nlohmann::json>& rows);

// Writes <dir>/results.jsonl and <dir>/results.csv atomically.
void write_results(const Spec& spec, const std::vector<nlohmann::json>& rows);

}  // namespace hwprune::sweep
