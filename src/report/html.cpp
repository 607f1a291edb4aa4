// The report page: tables in HTML, the charts as Vega-Lite specs rendered by the inlined
// vega-embed, all in one file.
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "assets.hpp"
#include "hwprune/report/report.hpp"
#include "hwprune/util/fs.hpp"
#include "json_get.hpp"

namespace hwprune::report {

using nlohmann::json;

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string cell(const json& v, bool share = false) {
  if (v.is_null()) return "";
  if (v.is_string()) return escape(v.get<std::string>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return share ? fmt::format("{:.2f}%", 100 * d) : fmt::format("{:.6g}", d);
  }
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + cell(e);
    return out;
  }
  return escape(v.dump());
}

std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table><thead><tr>";
  for (const auto& h : head) out += "<th>" + escape(h) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const auto& c : r) out += "<td>" + c + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

// JSON inside a <script> element: "</" never appears (it would end the element).
std::string script_json(const json& j) {
  std::string s = j.dump();
  std::string out;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '<' && k + 1 < s.size() && s[k + 1] == '/')
      out += "<\\";
    else
      out += s[k];
  }
  return out;
}

std::string chart_divs(const std::vector<Chart>& charts, const std::string& prefix) {
  std::string out = "<div class=\"charts\">\n";
  for (const auto& c : charts)
    if (c.id.rfind(prefix, 0) == 0)
      out += fmt::format("<div class=\"chart\" id=\"{}\"></div>\n", escape(c.id));
  return out + "</div>\n";
}

std::string sweep_section(const Sweep& s, size_t k, const std::vector<Chart>& charts) {
  std::string out = fmt::format("<section><h2>Sweep: {}</h2>\n", escape(s.name));
  int done = 0, failed = 0, missing = 0;
  for (const auto& r : s.rows) {
    const std::string st = text_of(r, "state", "");
    done += st == "done";
    failed += st == "failed";
    missing += st == "missing";
  }
  out += fmt::format("<p>{} points: {} done, {} failed, {} missing. Axes: {}.</p>\n", s.rows.size(),
                     done, failed, missing, escape(s.axes.empty() ? std::string("none") : [&] {
                       std::string a;
                       for (const auto& x : s.axes) a += (a.empty() ? "" : ", ") + x;
                       return a;
                     }()));
  out += chart_divs(charts, fmt::format("sweep-{}-", k));
  std::vector<std::string> head{"point"};
  head.insert(head.end(), s.axes.begin(), s.axes.end());
  for (const char* h :
       {"state", "val before", "val after", "test before", "test after", "sparsity", "DSP",
        "BRAM18", "LUT (mult)", "Yosys DSP", "Yosys BRAM18", "Yosys LUT", "seconds", "error"})
    head.push_back(h);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : s.rows) {
    const bool share = share_metric(text_of(r, "metric", "accuracy"));
    const bool test_share = text_of(r, "test_metric", "accuracy") == "accuracy";
    std::vector<std::string> row{"<code>" + cell(member(r, "id", json())) + "</code>"};
    for (const auto& a : s.axes)
      row.push_back(cell(member(member(r, "options", json::object()), a)));
    row.push_back(cell(member(r, "state", json())));
    row.push_back(cell(member(r, "val_before", json()), share));
    row.push_back(cell(member(r, "val_after", json()), share));
    row.push_back(cell(member(r, "test_before", json()), test_share));
    row.push_back(cell(member(r, "test_after", json()), test_share));
    row.push_back(cell(member(r, "final_sparsity", json())));
    for (const char* key : {"dsp", "bram18", "lut_multipliers"}) {
      const json b = member(r, std::string(key) + "_before"),
                 a = member(r, std::string(key) + "_after");
      row.push_back(a.is_null() ? "" : cell(b) + " &rarr; " + cell(a));
    }
    for (const char* key : {"yosys_dsp", "yosys_bram18", "yosys_lut"})
      row.push_back(cell(member(r, key)));
    row.push_back(member(r, "wall_seconds", json()).is_number()
                      ? fmt::format("{:.1f}", r["wall_seconds"].get<double>())
                      : "");
    row.push_back(cell(member(r, "error", json())));
    rows.push_back(row);
  }
  out += "<h3>Points</h3>\n" + table(head, rows);
  // The options every point shares (the axes vary; see the table).
  std::vector<std::vector<std::string>> shared;
  if (!s.rows.empty()) {
    const json first = member(s.rows[0], "options", json::object());
    for (const auto& [key, v] : first.items()) {
      bool same = true;
      for (const auto& r : s.rows) same = same && member(member(r, "options"), key) == v;
      if (same) shared.push_back({escape(key), cell(v)});
    }
  }
  if (!shared.empty())
    out += "<details><summary>Configuration shared by every point</summary>\n" +
           table({"option", "value"}, shared) + "</details>\n";
  return out + "</section>\n";
}

std::string run_section(const Run& run, size_t k, const std::vector<Chart>& charts) {
  std::string out = fmt::format("<section><h2>{}</h2>\n", escape(run.name));
  if (run.prune.is_object()) {
    const json& p = run.prune;
    const std::string metric = text_of(p, "metric", "accuracy");
    const bool share = share_metric(metric);
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"validation " + escape(metric), cell(member(p, "baseline_val", json()), share),
                    cell(member(p, "final_val", json()), share)});
    if (p.contains("test") && p["test"].is_object()) {
      for (const char* m : {"accuracy", "mse"}) {
        const json b = member(member(p["test"], "baseline"), m),
                   a = member(member(p["test"], "pruned"), m);
        if (!b.is_null())
          rows.push_back({std::string("test ") + m, cell(b, std::string(m) == "accuracy"),
                          cell(a, std::string(m) == "accuracy")});
      }
    }
    const json total = member(p, "total", json::object());
    for (const auto& [name, key] :
         {std::pair{"DSP", "dsp"}, std::pair{"BRAM18", "bram18"},
          std::pair{"LUT (mult)", "lut_multipliers"}, std::pair{"non-zero parameters", "nonzero"},
          std::pair{"latency (cycles)", "latency_cycles"}})
      rows.push_back({name, cell(member(member(total, "baseline", json::object()), key)),
                      cell(member(member(total, "final", json::object()), key))});
    out +=
        fmt::format("<p>Objective {}, accepted sparsity {}, {:.1f} s.</p>\n",
                    escape(text_of(p, "objective", "?")), cell(member(p, "final_sparsity", json())),
                    number_of(p, "wall_seconds", 0.0));
    out += table({"", "unpruned", "pruned"}, rows);
  }
  if (run.synth.is_object()) {
    const json& s = run.synth;
    std::vector<std::vector<std::string>> rows;
    const json e = member(s, "estimate_total", json::object()),
               y = member(s, "yosys_total", json::object());
    for (const auto& [name, key] : {std::pair{"DSP", "dsp"}, std::pair{"BRAM18", "bram18"},
                                    std::pair{"LUT (mult)", "lut_multipliers"},
                                    std::pair{"LUT", "lut"}, std::pair{"FF", "ff"}})
      rows.push_back({name, cell(member(e, key)), cell(member(y, key))});
    if (s.contains("cosim") && s["cosim"].is_object())
      rows.push_back({"co-simulation", cell(member(s["cosim"], "samples")) + " samples",
                      cell(member(s["cosim"], "mismatches")) + " mismatches"});
    out += "<h3>Hardware check</h3>\n" + table({"", "estimate", "Yosys"}, rows);
  }
  out += chart_divs(charts, fmt::format("run-{}-", k));
  if (run.prune.is_object() && run.prune.contains("config")) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, v] : run.prune["config"].items()) rows.push_back({escape(key), cell(v)});
    out += "<details><summary>Configuration</summary>\n" + table({"option", "value"}, rows) +
           "</details>\n";
  }
  return out + "</section>\n";
}

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
.chart { min-height: 100px; }
footer { color: #666; font-size: 0.8em; margin-top: 2em; }
)";

// Renders every chart; sets data-rendered on <body> to the number rendered, data-failed to
// the number that failed (each failure also goes to the console as an error).
constexpr const char* kRender = R"(
(function () {
  var charts = JSON.parse(document.getElementById('hwprune-charts').textContent);
  var done = 0, failed = 0;
  function settle() {
    if (done + failed === charts.length) {
      document.body.dataset.rendered = String(done);
      document.body.dataset.failed = String(failed);
    }
  }
  charts.forEach(function (c) {
    vegaEmbed('#' + c.id, c.spec, {renderer: 'svg', actions: false})
      .then(function () { done++; settle(); })
      .catch(function (e) { failed++; console.error('chart ' + c.id + ': ' + e); settle(); });
  });
})();
)";

}  // namespace

nlohmann::json library_versions() {
  return {{"vega", std::string(assets::kVegaVersion)},
          {"vega-lite", std::string(assets::kVegaLiteVersion)},
          {"vega-embed", std::string(assets::kVegaEmbedVersion)}};
}

std::string html(const Inputs& inputs) {
  const std::vector<Chart> all = charts(inputs);
  std::string body;
  for (size_t k = 0; k < inputs.sweeps.size(); ++k) body += sweep_section(inputs.sweeps[k], k, all);
  for (size_t k = 0; k < inputs.runs.size(); ++k) body += run_section(inputs.runs[k], k, all);
  json specs = json::array();
  for (const auto& c : all) specs.push_back({{"id", c.id}, {"title", c.title}, {"spec", c.spec}});
  const std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  const json v = library_versions();
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  page += "<title>" + escape(inputs.title) + "</title>\n<style>" + kStyle + "</style>\n";
  page += "<script>" + assets::script(assets::Library::Vega) + "</script>\n";
  page += "<script>" + assets::script(assets::Library::VegaLite) + "</script>\n";
  page += "<script>" + assets::script(assets::Library::VegaEmbed) + "</script>\n";
  page += "</head><body>\n<h1>" + escape(inputs.title) + "</h1>\n" + body;
  page += fmt::format(
      "<footer>Made by hwprune {} on {}; charts by vega {}, vega-lite {}, vega-embed {} "
      "(inlined: the file works offline).</footer>\n",
      escape(inputs.version.empty() ? "?" : inputs.version), when, v["vega"].get<std::string>(),
      v["vega-lite"].get<std::string>(), v["vega-embed"].get<std::string>());
  page += "<script type=\"application/json\" id=\"hwprune-charts\">" + script_json(specs) +
          "</script>\n<script>" + kRender + "</script>\n</body></html>\n";
  return page;
}

void write_html(const std::string& path, const Inputs& inputs) {
  write_file_atomic(path, html(inputs));
}

}  // namespace hwprune::report
