// The JSON of a pruning run: step rows and search rows (also what a checkpoint stores), and
// the result (docs/json.md, "prune").
#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "run.hpp"

namespace hwprune::prune {

using nlohmann::json;

namespace {

json by_dimension(const std::vector<double>& values, const std::vector<std::string>& dims) {
  json j = json::object();
  for (size_t k = 0; k < dims.size() && k < values.size(); ++k) j[dims[k]] = values[k];
  return j;
}

json layers_json(const hw::ModelEstimate& e) {
  json out = json::array();
  for (const auto& l : e.layers) out.push_back(hw::to_json(l));
  return out;
}

}  // namespace

json to_json(const StepRow& r, const std::vector<std::string>& dims) {
  return {{"step", r.step},
          {"target_sparsity", r.target},
          {"resources", by_dimension(r.resources, dims)},
          {"val_metric", r.metric},
          {"val_metric_se", r.metric_se},
          {"delta_se", r.delta_se},
          {"epochs", r.epochs},
          {"worst_class", r.worst_class},
          {"accepted", r.accepted},
          {"clearly", r.clearly},
          {"action", r.action},
          {"knapsack_gap", r.knapsack_gap},
          {"seconds", r.seconds}};
}

StepRow step_row_from(const json& j, const std::vector<std::string>& dims,
                      const std::string& where) {
  try {
    StepRow r;
    r.step = j.at("step");
    r.target = j.at("target_sparsity");
    for (const auto& d : dims) r.resources.push_back(j.at("resources").at(d).get<double>());
    r.metric = j.at("val_metric");
    r.metric_se = j.at("val_metric_se");
    r.delta_se = j.at("delta_se");
    r.epochs = j.at("epochs");
    r.worst_class = j.at("worst_class");
    r.accepted = j.at("accepted");
    r.clearly = j.at("clearly");
    r.action = j.at("action");
    r.knapsack_gap = j.value("knapsack_gap", 0.0);
    r.seconds = j.at("seconds");
    return r;
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed step row ({})", where, e.what()));
  }
}

json to_json(const SearchRow& r) {
  return {{"alpha", r.alpha},
          {"val_metric", r.metric},
          {"acceptable", r.acceptable},
          {"mass_dropped", r.lost_mass}};
}

SearchRow search_row_from(const json& j, const std::string& where) {
  try {
    return {j.at("alpha").get<double>(), j.at("val_metric").get<double>(),
            j.at("acceptable").get<bool>(), j.at("mass_dropped").get<double>()};
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed search row ({})", where, e.what()));
  }
}

json to_json(const PipelineResult& r, const PipelineConfig& config) {
  json steps = json::array(), search = json::array(), removed = json::array();
  for (const auto& s : r.rows) steps.push_back(to_json(s, r.dimensions));
  for (const auto& s : r.search) search.push_back(to_json(s));
  for (const auto& c : r.reduction.changes)
    removed.push_back({{"layer", c.layer},
                       {"consumer", c.consumer},
                       {"before", c.before},
                       {"after", c.after},
                       {"removed", c.removed}});
  json j{
      {"config", to_json(config)},
      {"model", config.out},
      {"objective", config.prune.objective},
      {"dimensions", r.dimensions},
      {"metric", r.metric_name},
      {"baseline_resources", by_dimension(r.baseline_resources, r.dimensions)},
      {"final_resources", by_dimension(r.final_resources, r.dimensions)},
      {"baseline_val", r.baseline_metric},
      {"final_val", r.final_metric},
      {"final_sparsity", r.final_sparsity},
      {"any_accepted", r.any_accepted},
      {"alpha", r.alpha},
      {"resumed", r.resumed},
      {"search", search},
      {"steps", steps},
      {"layers",
       {{"baseline", layers_json(r.estimate_baseline)}, {"final", layers_json(r.estimate_final)}}},
      {"total",
       {{"baseline", hw::to_json(r.estimate_baseline.total)},
        {"final", hw::to_json(r.estimate_final.total)}}},
      {"removed", removed},
      {"refused_removals", r.reduction.refused},
      {"threads", r.threads},
      {"wall_seconds", r.seconds}};
  if (r.test_baseline && r.test_final)
    j["test"] = {{"origin", r.test_origin},
                 {"baseline", data::to_json(*r.test_baseline, r.baseline)},
                 {"pruned", data::to_json(*r.test_final, r.model)}};
  return j;
}

}  // namespace hwprune::prune
