#include "hwprune/sweep/results.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::sweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The figures of a done point, in table order (CSV columns after the axes).
constexpr std::string_view kFigures[] = {"metric",
                                         "val_before",
                                         "val_after",
                                         "test_before",
                                         "test_after",
                                         "final_sparsity",
                                         "dsp_before",
                                         "dsp_after",
                                         "bram18_before",
                                         "bram18_after",
                                         "lut_multipliers_before",
                                         "lut_multipliers_after",
                                         "latency_before",
                                         "latency_after",
                                         "yosys_dsp",
                                         "yosys_bram18",
                                         "yosys_lut",
                                         "yosys_ff",
                                         "yosys_lut_multipliers",
                                         "cosim_mismatches",
                                         "synth_estimate_dsp",
                                         "synth_estimate_bram18",
                                         "synth_estimate_lut_multipliers",
                                         "wall_seconds"};

json read_json(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", path, e.what()));
  }
}

// The test metric of a prune JSON's test section: accuracy, else mse.
json test_figure(const json& metrics) {
  if (!metrics.is_object()) return nullptr;
  if (metrics.contains("accuracy")) return metrics["accuracy"];
  return metrics.value("mse", json());
}

json figure(const json& estimate, const char* key) {
  return estimate.is_object() && estimate.contains(key) ? estimate[key] : json();
}

std::string csv_field(const json& v) {
  std::string s;
  if (v.is_string()) {
    s = v.get<std::string>();
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (!s.empty()) s += ' ';
      s += e.is_string() ? e.get<std::string>() : e.dump();
    }
  } else if (!v.is_null()) {
    s = v.dump();
  }
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

PointFiles point_files(const Spec& spec, const Point& point) {
  const fs::path d = fs::path(spec.dir) / "points";
  const std::string stem = (d / point.id).string();
  PointFiles f{stem + ".json", stem + ".hwp", stem + ".error", stem + ".log", stem + ".lock", "",
               stem + ".synth"};
  if (!spec.synth.is_null()) f.synth_result = stem + ".synth-" + hash_id(spec.synth) + ".json";
  return f;
}

PointStatus point_status(const Spec& spec, const Point& point) {
  const PointFiles f = point_files(spec, point);
  std::error_code ec;
  if (fs::exists(f.result, ec) && (f.synth_result.empty() || fs::exists(f.synth_result, ec)))
    return {State::Done, ""};
  if (fs::exists(f.error, ec)) {
    std::string line;
    try {
      line = read_file(f.error);
    } catch (const Error&) {
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return {State::Failed, line.empty() ? "failed (no message)" : line};
  }
  return {State::Missing, ""};
}

json result_row(const Spec& spec, const Point& point) {
  const PointStatus st = point_status(spec, point);
  json row = {{"id", point.id},
              {"label", point.label},
              {"state", kStateNames.name(st.state)},
              {"error", st.error.empty() ? json() : json(st.error)},
              {"options", point.options}};
  for (auto f : kFigures) row[std::string(f)] = nullptr;
  if (st.state != State::Done) return row;
  const PointFiles files = point_files(spec, point);
  const json r = read_json(files.result);
  row["result"] = fs::relative(files.result, spec.dir).string();
  row["metric"] = r.value("metric", json());
  row["val_before"] = r.value("baseline_val", json());
  row["val_after"] = r.value("final_val", json());
  if (r.contains("test") && r["test"].is_object()) {
    const json b = r["test"].value("baseline", json());
    row["test_metric"] = b.is_object() && b.contains("accuracy") ? "accuracy" : "mse";
    row["test_before"] = test_figure(b);
    row["test_after"] = test_figure(r["test"].value("pruned", json()));
  }
  row["final_sparsity"] = r.value("final_sparsity", json());
  const json total = r.value("total", json::object());
  const json before = total.value("baseline", json()), after = total.value("final", json());
  for (const char* k : {"dsp", "bram18", "lut_multipliers"}) {
    row[std::string(k) + "_before"] = figure(before, k);
    row[std::string(k) + "_after"] = figure(after, k);
  }
  row["latency_before"] = figure(before, "latency_cycles");
  row["latency_after"] = figure(after, "latency_cycles");
  row["wall_seconds"] = r.value("wall_seconds", json());
  if (!files.synth_result.empty()) {
    const json s = read_json(files.synth_result);
    const json y = s.value("yosys_total", json()), e = s.value("estimate_total", json());
    // The estimate synth compares with Yosys (its BRAM model is Yosys's: trimmed).
    row["synth_estimate_dsp"] = figure(e, "dsp");
    row["synth_estimate_bram18"] = figure(e, "bram18");
    row["synth_estimate_lut_multipliers"] = figure(e, "lut_multipliers");
    row["yosys_dsp"] = figure(y, "dsp");
    row["yosys_bram18"] = figure(y, "bram18");
    row["yosys_lut"] = figure(y, "lut");
    row["yosys_ff"] = figure(y, "ff");
    row["yosys_lut_multipliers"] = figure(y, "lut_multipliers");
    if (s.contains("cosim") && s["cosim"].is_object())
      row["cosim_mismatches"] = s["cosim"].value("mismatches", json());
    row["synth_result"] = fs::relative(files.synth_result, spec.dir).string();
    if (row["wall_seconds"].is_number() && s.value("wall_seconds", json()).is_number())
      row["wall_seconds"] = row["wall_seconds"].get<double>() + s["wall_seconds"].get<double>();
  }
  return row;
}

report::Sweep report_input(const Spec& spec, const std::vector<json>& rows) {
  report::Sweep s;
  s.name = fs::path(spec.path).filename().string();
  s.axes = spec.axes;
  s.rows = rows;
  for (size_t k = 0; k < rows.size() && k < spec.points.size(); ++k)
    s.runs.push_back(rows[k].value("state", "") == "done"
                         ? read_json(point_files(spec, spec.points[k]).result)
                         : json());
  return s;
}

std::vector<json> result_rows(const Spec& spec) {
  std::vector<json> rows;
  for (const auto& p : spec.points) rows.push_back(result_row(spec, p));
  return rows;
}

std::string results_csv(const Spec& spec, const std::vector<json>& rows) {
  std::vector<std::string> head{"id", "state"};
  head.insert(head.end(), spec.axes.begin(), spec.axes.end());
  for (auto f : kFigures) head.emplace_back(f);
  head.push_back("error");
  std::string out;
  auto add = [&out](const json& v, bool first) {
    if (!first) out += ',';
    out += csv_field(v);
  };
  for (size_t k = 0; k < head.size(); ++k) add(head[k], k == 0);
  out += '\n';
  for (const auto& row : rows) {
    add(row["id"], true);
    add(row["state"], false);
    for (const auto& a : spec.axes) add(row["options"].value(a, json()), false);
    for (auto f : kFigures) add(row.value(std::string(f), json()), false);
    add(row["error"], false);
    out += '\n';
  }
  return out;
}

void write_results(const Spec& spec, const std::vector<json>& rows) {
  std::string lines;
  for (const auto& row : rows) lines += row.dump() + "\n";
  write_file_atomic((fs::path(spec.dir) / "results.jsonl").string(), lines);
  write_file_atomic((fs::path(spec.dir) / "results.csv").string(), results_csv(spec, rows));
}

}  // namespace hwprune::sweep
