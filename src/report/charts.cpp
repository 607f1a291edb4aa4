// The report's charts: Vega-Lite specs built from result JSON.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "hwprune/report/report.hpp"
#include "hwprune/util/error.hpp"
#include "json_get.hpp"

namespace hwprune::report {

using nlohmann::json;

namespace {

constexpr int kWidth = 440, kHeight = 280;

bool is_number(const json& v) {
  return v.is_number() && std::isfinite(v.get<double>());
}

json quantitative(const std::string& field, const std::string& title, bool zero = true) {
  return {
      {"field", field}, {"type", "quantitative"}, {"title", title}, {"scale", {{"zero", zero}}}};
}

// A value axis showing shares as percentages.
json value_axis(const std::string& field, const std::string& title, bool share) {
  json a = quantitative(field, title, false);
  if (share) a["axis"] = {{"format", ".1%"}};
  return a;
}

json base_spec(const std::string& title) {
  return {{"title", title},
          {"width", kWidth},
          {"height", kHeight},
          {"config", {{"view", {{"stroke", "#ccc"}}}, {"font", "sans-serif"}}}};
}

// The accuracy-resource chart: points (colour and shape from up to two fields), the Pareto
// front as a step line, and the unpruned design(s) as black diamonds.
json front_chart(const std::string& title, const std::vector<json>& points,
                 const std::vector<json>& baselines, const std::string& x_title,
                 const std::string& y_title, bool higher_is_better, bool share,
                 const std::string& color, const std::string& shape,
                 const std::vector<json>& tooltip) {
  std::vector<double> cost, value;
  for (const auto& p : points) {
    cost.push_back(p["x"].get<double>());
    value.push_back(p["y"].get<double>());
  }
  json values = json::array();
  for (const auto& p : points) {
    json q = p;
    q["kind"] = "point";
    values.push_back(q);
  }
  for (size_t k : pareto_front(cost, value, higher_is_better)) {
    json q = points[k];
    q["kind"] = "front";
    values.push_back(q);
  }
  for (const auto& b : baselines) {
    json q = b;
    q["kind"] = "unpruned";
    values.push_back(q);
  }
  json spec = base_spec(title);
  spec["data"] = {{"values", values}};
  const json x = quantitative("x", x_title), y = value_axis("y", y_title, share);
  json point_enc = {{"x", x}, {"y", y}, {"tooltip", tooltip}};
  if (!color.empty())
    point_enc["color"] = {{"field", color}, {"type", "nominal"}, {"title", color}};
  if (!shape.empty())
    point_enc["shape"] = {{"field", shape}, {"type", "nominal"}, {"title", shape}};
  spec["layer"] = json::array(
      {{{"transform", {{{"filter", "datum.kind == 'front'"}}}},
        {"mark",
         {{"type", "line"},
          {"interpolate", higher_is_better ? "step-after" : "step-after"},
          {"color", "#888"},
          {"strokeDash", {4, 3}}}},
        {"encoding", {{"x", x}, {"y", y}, {"order", {{"field", "x"}}}}}},
       {{"transform", {{{"filter", "datum.kind == 'point'"}}}},
        {"mark", {{"type", "point"}, {"filled", true}, {"size", 70}, {"opacity", 0.85}}},
        {"encoding", point_enc}},
       {{"transform", {{{"filter", "datum.kind == 'unpruned'"}}}},
        {"mark",
         {{"type", "point"},
          {"shape", "diamond"},
          {"filled", true},
          {"size", 160},
          {"color", "black"}}},
        {"encoding",
         {{"x", x},
          {"y", y},
          {"tooltip",
           json::array(
               {{{"field", "label"}},
                {{"field", "x"}, {"title", x_title}},
                {{"field", "y"}, {"title", y_title}, {"format", share ? ".2%" : ".4g"}}})}}}}});
  return spec;
}

// Grouped bars: x = layer (in order), offset = series, one column per resource, each with
// its own y scale. rows: {layer, order, resource, series, value (, point)}.
json grouped_bars(const std::string& title, const json& all_rows, const std::string& series_title,
                  const std::vector<std::string>& series, const json& params = json(),
                  const json& filter = json()) {
  std::set<std::string> used;
  for (const auto& r : all_rows)
    if (r["value"].get<double>() > 0) used.insert(r["resource"].get<std::string>());
  json rows = json::array();
  for (const auto& r : all_rows)
    if (used.count(r["resource"].get<std::string>())) rows.push_back(r);
  json spec = {{"title", title}, {"data", {{"values", rows}}}};
  if (!params.is_null()) spec["params"] = params;
  if (!filter.is_null()) spec["transform"] = json::array({{{"filter", filter}}});
  spec["facet"] = {{"column",
                    {{"field", "resource"},
                     {"type", "nominal"},
                     {"title", nullptr},
                     {"sort", {"DSP", "BRAM18", "LUT (mult)"}}}}};
  spec["resolve"] = {{"scale", {{"y", "independent"}}}};
  spec["spec"] = {{"width", 220},
                  {"height", 200},
                  {"mark", {{"type", "bar"}, {"tooltip", true}}},
                  {"encoding",
                   {{"x",
                     {{"field", "layer"},
                      {"type", "nominal"},
                      {"sort", {{"field", "order"}}},
                      {"title", nullptr}}},
                    {"xOffset", {{"field", "series"}, {"type", "nominal"}}},
                    {"y",
                     {{"field", "value"},
                      {"type", "quantitative"},
                      {"title", nullptr},
                      {"axis", {{"format", ",d"}, {"tickMinStep", 1}}}}},
                    {"color",
                     {{"field", "series"},
                      {"type", "nominal"},
                      {"title", series_title},
                      {"scale", {{"domain", series}}}}}}}};
  spec["config"] = {{"font", "sans-serif"}};
  return spec;
}

// The per-layer bars of one estimate pair (before/after or estimate/Yosys).
void layer_rows(json& rows, const json& layers, const std::string& series, const json& extra,
                const char* dsp_key = "dsp", const char* bram_key = "bram18",
                const char* lut_key = "lut_multipliers") {
  if (!layers.is_array()) return;
  int order = 0;
  for (const auto& l : layers) {
    const std::string name = text_of(l, "name", "?");
    const std::pair<const char*, const char*> kinds[] = {
        {"DSP", dsp_key}, {"BRAM18", bram_key}, {"LUT (mult)", lut_key}};
    for (const auto& [resource, key] : kinds) {
      const json v = member(l, key);
      if (!is_number(v) || v.get<double>() < 0) continue;
      json r = {{"layer", name},
                {"order", order},
                {"resource", resource},
                {"series", series},
                {"value", v}};
      for (const auto& [k, e] : extra.items()) r[k] = e;
      rows.push_back(r);
    }
    ++order;
  }
}

bool higher_better(const std::string& metric) {
  return share_metric(metric);
}

// The objective's dimensions, e.g. ["DSP"] or ["DSP", "BRAM18"].
std::vector<std::string> dimensions(const json& prune) {
  std::vector<std::string> out;
  for (const auto& d : member(prune, "dimensions", json::array()))
    if (d.is_string()) out.push_back(d.get<std::string>());
  return out;
}

void run_charts(std::vector<Chart>& out, const Run& run, size_t k) {
  const std::string prefix = fmt::format("run-{}", k);
  if (run.prune.is_object()) {
    const json& p = run.prune;
    const std::string metric = text_of(p, "metric", "accuracy");
    const bool share = share_metric(metric);
    // The step curve: validation metric (left) and target sparsity (right) per step.
    json values = json::array();
    for (const auto& s : member(p, "steps", json::array())) {
      const std::string action = text_of(s, "action", "");
      const std::string result = number_of(s, "step", 0) == 0                 ? "start"
                                 : flag_of(s, "accepted", false)              ? "accepted"
                                 : action.find("repair") != std::string::npos ? "rejected: repair"
                                                                              : "rejected";
      values.push_back({{"step", number_of(s, "step", 0)},
                        {"target", number_of(s, "target_sparsity", 0.0)},
                        {"metric", number_of(s, "val_metric", 0.0)},
                        {"result", result},
                        {"action", action}});
    }
    json steps =
        base_spec(fmt::format("{}: steps (validation {} and target sparsity)", run.name, metric));
    steps["data"] = {{"values", values}};
    const json x = {{"field", "step"},
                    {"type", "quantitative"},
                    {"title", "step"},
                    {"axis", {{"tickMinStep", 1}}}};
    steps["layer"] = json::array(
        {{{"layer",
           json::array({{{"mark", {{"type", "line"}, {"color", "#4c78a8"}}},
                         {"encoding",
                          {{"x", x}, {"y", value_axis("metric", "validation " + metric, share)}}}},
                        {{"mark", {{"type", "point"}, {"filled", true}, {"size", 80}}},
                         {"encoding",
                          {{"x", x},
                           {"y", value_axis("metric", "validation " + metric, share)},
                           {"color",
                            {{"field", "result"},
                             {"type", "nominal"},
                             {"title", "step result"},
                             {"scale",
                              {{"domain", {"start", "accepted", "rejected", "rejected: repair"}},
                               {"range", {"#4c78a8", "#54a24b", "#e45756", "#f58518"}}}}}},
                           {"tooltip",
                            json::array({{{"field", "step"}},
                                         {{"field", "target"}, {"format", ".4f"}},
                                         {{"field", "metric"}, {"format", share ? ".2%" : ".4g"}},
                                         {{"field", "action"}}})}}}}})}},
         {{"mark",
           {{"type", "line"},
            {"color", "#999"},
            {"strokeDash", {2, 2}},
            {"interpolate", "step-after"}}},
          {"encoding",
           {{"x", x},
            {"y",
             {{"field", "target"},
              {"type", "quantitative"},
              {"title", "target sparsity"},
              {"axis", {{"format", ".0%"}}}}}}}}});
    steps["resolve"] = {{"scale", {{"y", "independent"}}}};
    out.push_back({prefix + "-steps", "Steps", steps});
    // Accuracy against each objective dimension across the steps.
    const std::vector<std::string> dims = dimensions(p);
    for (size_t d = 0; d < dims.size() && d < 3; ++d) {
      std::vector<json> points;
      for (const auto& s : member(p, "steps", json::array())) {
        const json r = member(member(s, "resources", json::object()), dims[d]);
        if (!is_number(r)) continue;
        points.push_back(
            {{"x", r},
             {"y", number_of(s, "val_metric", 0.0)},
             {"label", fmt::format("step {}", number_of(s, "step", 0))},
             {"result", flag_of(s, "accepted", false) || number_of(s, "step", 0) == 0 ? "accepted"
                                                                                      : "rejected"},
             {"target", number_of(s, "target_sparsity", 0.0)}});
      }
      std::vector<json> base;
      const json br = member(member(p, "baseline_resources", json::object()), dims[d]);
      if (is_number(br) && is_number(member(p, "baseline_val", json())))
        base.push_back({{"x", br}, {"y", p["baseline_val"]}, {"label", "unpruned"}});
      bool any = false;
      for (const auto& q : points) any = any || q["x"].get<double>() > 0;
      if (points.empty() || !any) continue;
      out.push_back(
          {fmt::format("{}-front-{}", prefix, d), dims[d],
           front_chart(
               fmt::format("{}: validation {} vs {} across steps", run.name, metric, dims[d]),
               points, base, dims[d] + " (estimate)", "validation " + metric, higher_better(metric),
               share, "result", "",
               json::array(
                   {{{"field", "label"}},
                    {{"field", "target"}, {"format", ".4f"}},
                    {{"field", "x"}, {"title", dims[d]}},
                    {{"field", "y"}, {"title", metric}, {"format", share ? ".2%" : ".4g"}}}))});
    }
    // Per-layer resources before and after.
    json rows = json::array();
    const json layers = member(p, "layers", json::object());
    layer_rows(rows, member(layers, "baseline", json()), "unpruned", json::object());
    layer_rows(rows, member(layers, "final", json()), "pruned", json::object());
    if (!rows.empty())
      out.push_back(
          {prefix + "-layers", "Layers",
           grouped_bars(run.name + ": per-layer resources (estimate), unpruned and pruned", rows,
                        "design", {"unpruned", "pruned"})});
  }
  if (run.synth.is_object()) {
    json rows = json::array();
    int order = 0;
    for (const auto& l : member(run.synth, "layers", json::array())) {
      const std::string name = text_of(l, "name", "?");
      for (const auto& [series, key] :
           {std::pair{"estimate", "estimate"}, std::pair{"Yosys", "yosys"}}) {
        const json e = member(l, key);
        if (!e.is_object()) continue;
        const std::pair<const char*, const char*> kinds[] = {
            {"DSP", "dsp"}, {"BRAM18", "bram18"}, {"LUT (mult)", "lut_multipliers"}};
        for (const auto& [resource, k2] : kinds) {
          const json v = member(e, k2);
          if (!is_number(v) || v.get<double>() < 0) continue;
          rows.push_back({{"layer", name},
                          {"order", order},
                          {"resource", resource},
                          {"series", series},
                          {"value", v}});
        }
      }
      ++order;
    }
    if (!rows.empty())
      out.push_back({prefix + "-synth", "Estimate vs Yosys",
                     grouped_bars(run.name + ": per-layer estimate and Yosys synthesis", rows,
                                  "source", {"estimate", "Yosys"})});
  }
}

std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.dump();
}

void sweep_charts(std::vector<Chart>& out, const Sweep& sweep, size_t k) {
  const std::string prefix = fmt::format("sweep-{}", k);
  // The figure of each done point: test metric when every done point has one, else the
  // validation metric.
  std::vector<const json*> done;
  for (const auto& r : sweep.rows)
    if (text_of(r, "state", "") == "done") done.push_back(&r);
  if (done.empty()) return;
  bool test = true;
  for (const json* r : done) test = test && is_number(member(*r, "test_after", json()));
  const std::string metric =
      test ? text_of(*done[0], "test_metric", "accuracy") : text_of(*done[0], "metric", "accuracy");
  const bool share = share_metric(metric);
  const std::string y_title = (test ? "test " : "validation ") + metric;
  const std::string after = test ? "test_after" : "val_after",
                    before = test ? "test_before" : "val_before";
  const std::string color = sweep.axes.size() > 0 ? sweep.axes[0] : "";
  const std::string shape = sweep.axes.size() > 1 ? sweep.axes[1] : "";
  const std::pair<const char*, const char*> resources[] = {
      {"dsp", "DSP"}, {"bram18", "BRAM18"}, {"lut_multipliers", "LUT (mult)"}};
  for (const auto& [key, name] : resources) {
    std::vector<json> points, base;
    std::set<std::pair<double, double>> seen;
    for (const json* r : done) {
      const json x = member(*r, std::string(key) + "_after"), y = member(*r, after);
      if (!is_number(x) || !is_number(y) || x.get<double>() < 0) continue;
      json p = {
          {"x", x}, {"y", y}, {"label", text_of(*r, "label", "")}, {"id", text_of(*r, "id", "")}};
      for (const auto& a : sweep.axes)
        p[a] = text(member(member(*r, "options", json::object()), a));
      if (member(*r, "yosys_" + std::string(key)).is_number())
        p["yosys"] = (*r)["yosys_" + std::string(key)];
      points.push_back(p);
      const json bx = member(*r, std::string(key) + "_before"), by = member(*r, before);
      if (is_number(bx) && is_number(by) &&
          seen.insert({bx.get<double>(), by.get<double>()}).second)
        base.push_back({{"x", bx}, {"y", by}, {"label", "unpruned"}});
    }
    bool any = false;
    for (const auto& p : points) any = any || p["x"].get<double>() > 0;
    for (const auto& b : base) any = any || b["x"].get<double>() > 0;
    if (points.empty() || !any) continue;  // nothing of this resource anywhere
    json tooltip =
        json::array({{{"field", "label"}},
                     {{"field", "id"}},
                     {{"field", "x"}, {"title", std::string(name)}},
                     {{"field", "y"}, {"title", y_title}, {"format", share ? ".2%" : ".4g"}}});
    if (points[0].contains("yosys"))
      tooltip.push_back({{"field", "yosys"}, {"title", std::string(name) + " (Yosys)"}});
    out.push_back({fmt::format("{}-{}", prefix, key), name,
                   front_chart(fmt::format("{}: {} vs {} (estimate), Pareto front dashed",
                                           sweep.name, y_title, name),
                               points, base, std::string(name) + " (estimate)", y_title,
                               higher_better(metric), share, color, shape, tooltip)});
  }
  // Estimate against Yosys where synthesis ran.
  json yosys = json::array();
  for (const json* r : done)
    for (const auto& [key, name] : resources) {
      const json e = member(*r, "synth_estimate_" + std::string(key)),
                 y = member(*r, "yosys_" + std::string(key));
      if (is_number(e) && is_number(y) && e.get<double>() >= 0)
        yosys.push_back({{"label", text_of(*r, "label", "")},
                         {"resource", name},
                         {"estimate", e},
                         {"yosys", y}});
    }
  if (!yosys.empty()) {
    json spec = {
        {"title", sweep.name + ": estimate vs Yosys per point (diagonal: equal)"},
        {"data", {{"values", yosys}}},
        {"facet", {{"column", {{"field", "resource"}, {"type", "nominal"}, {"title", nullptr}}}}},
        {"resolve", {{"scale", {{"x", "independent"}, {"y", "independent"}}}}},
        {"spec",
         {{"width", 200},
          {"height", 200},
          {"layer",
           json::array(
               {{{"mark", {{"type", "rule"}, {"color", "#bbb"}}},
                 {"encoding",
                  {{"x", {{"aggregate", "min"}, {"field", "estimate"}, {"type", "quantitative"}}},
                   {"y", {{"aggregate", "min"}, {"field", "estimate"}, {"type", "quantitative"}}},
                   {"x2", {{"aggregate", "max"}, {"field", "estimate"}}},
                   {"y2", {{"aggregate", "max"}, {"field", "estimate"}}}}}},
                {{"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                 {"encoding",
                  {{"x", {{"field", "estimate"}, {"type", "quantitative"}, {"title", "estimate"}}},
                   {"y", {{"field", "yosys"}, {"type", "quantitative"}, {"title", "Yosys"}}},
                   {"tooltip", json::array({{{"field", "label"}},
                                            {{"field", "estimate"}},
                                            {{"field", "yosys"}}})}}}}})}}},
        {"config", {{"font", "sans-serif"}}}};
    out.push_back({prefix + "-yosys", "Estimate vs Yosys", spec});
  }
  // The step curves of every point.
  json steps = json::array();
  for (size_t i = 0; i < sweep.runs.size() && i < sweep.rows.size(); ++i) {
    if (!sweep.runs[i].is_object()) continue;
    for (const auto& s : member(sweep.runs[i], "steps", json::array()))
      steps.push_back({{"point", text_of(sweep.rows[i], "label", "")},
                       {"step", number_of(s, "step", 0)},
                       {"target", number_of(s, "target_sparsity", 0.0)},
                       {"metric", number_of(s, "val_metric", 0.0)},
                       {"result", number_of(s, "step", 0) == 0    ? "start"
                                  : flag_of(s, "accepted", false) ? "accepted"
                                                                  : "rejected"}});
  }
  const std::string vmetric = text_of(*done[0], "metric", "accuracy");
  if (!steps.empty()) {
    json spec = base_spec(sweep.name + ": validation " + vmetric + " per step, every point");
    spec["data"] = {{"values", steps}};
    const json x = {{"field", "step"}, {"type", "quantitative"}, {"axis", {{"tickMinStep", 1}}}};
    const json y = value_axis("metric", "validation " + vmetric, share_metric(vmetric));
    const json c = {{"field", "point"}, {"type", "nominal"}, {"title", "point"}};
    spec["layer"] = json::array(
        {{{"mark", {{"type", "line"}, {"opacity", 0.6}}},
          {"encoding", {{"x", x}, {"y", y}, {"color", c}}}},
         {{"mark", {{"type", "point"}, {"filled", true}, {"size", 40}}},
          {"encoding",
           {{"x", x},
            {"y", y},
            {"color", c},
            {"shape", {{"field", "result"}, {"type", "nominal"}, {"title", "step result"}}},
            {"tooltip",
             json::array({{{"field", "point"}},
                          {{"field", "step"}},
                          {{"field", "target"}, {"format", ".4f"}},
                          {{"field", "metric"}, {"format", share_metric(vmetric) ? ".2%" : ".4g"}},
                          {{"field", "result"}}})}}}}});
    out.push_back({prefix + "-steps", "Steps", spec});
  }
  // Per-layer resources of one point at a time (a menu picks the point).
  json rows = json::array();
  std::vector<std::string> labels;
  for (size_t i = 0; i < sweep.runs.size() && i < sweep.rows.size(); ++i) {
    if (!sweep.runs[i].is_object()) continue;
    const std::string label = text_of(sweep.rows[i], "label", "");
    labels.push_back(label);
    const json layers = member(sweep.runs[i], "layers", json::object());
    layer_rows(rows, member(layers, "baseline", json()), "unpruned", {{"point", label}});
    layer_rows(rows, member(layers, "final", json()), "pruned", {{"point", label}});
  }
  if (!rows.empty()) {
    const json params =
        json::array({{{"name", "point"},
                      {"value", labels[0]},
                      {"bind", {{"input", "select"}, {"options", labels}, {"name", "point "}}}}});
    out.push_back({prefix + "-layers", "Layers",
                   grouped_bars(sweep.name + ": per-layer resources of the chosen point", rows,
                                "design", {"unpruned", "pruned"}, params, "datum.point == point")});
  }
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& value,
                                 bool higher_is_better) {
  std::vector<size_t> order(cost.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  auto better = [&](double a, double b) { return higher_is_better ? a > b : a < b; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (cost[a] != cost[b]) return cost[a] < cost[b];
    return better(value[a], value[b]);
  });
  std::vector<size_t> front;
  for (size_t k : order)
    if (front.empty() || better(value[k], value[front.back()])) front.push_back(k);
  return front;
}

std::vector<Chart> charts(const Inputs& inputs) {
  std::vector<Chart> out;
  for (size_t k = 0; k < inputs.sweeps.size(); ++k) sweep_charts(out, inputs.sweeps[k], k);
  for (size_t k = 0; k < inputs.runs.size(); ++k) run_charts(out, inputs.runs[k], k);
  if (out.empty()) throw Error("report: nothing to chart (no finished point, step or synthesis)");
  return out;
}

}  // namespace hwprune::report
