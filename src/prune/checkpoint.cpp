// Checkpoints and the saved result. One mechanism for both snapshots a run keeps: the
// baseline (<checkpoint>.baseline, after baseline training) and the loop (<checkpoint>: the
// last accepted model and the loop's state, after every row). Each holds the run's
// fingerprint: the full configuration (to_json), the input model mapped to hardware, and
// digests of the data and the input model; resuming refuses any difference, naming it.
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "hwprune/io/model_file.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "run.hpp"

namespace hwprune::prune {

using nlohmann::json;

namespace {

constexpr const char* kStateKey = "prune.checkpoint";

// FNV-1a, 64 bit: a content digest (not a security hash).
struct Digest {
  uint64_t h = 1469598103934665603ULL;
  void bytes(const void* p, size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ULL;
  }
  void text(const std::string& s) {
    bytes(s.data(), s.size());
    bytes("\0", 1);
  }
  void tensor(const Tensor& t) {
    for (int64_t d : t.shape) bytes(&d, sizeof d);
    bytes(t.data.data(), t.data.size() * sizeof(float));
  }
  std::string hex() const { return fmt::format("{:016x}", h); }
};

std::string digest(const data::Dataset* d) {
  if (!d) return "none";
  Digest g;
  g.tensor(d->x);
  g.bytes(d->labels.data(), d->labels.size() * sizeof(int32_t));
  g.tensor(d->targets);
  for (const auto& c : d->class_names) g.text(c);
  return g.hex();
}

std::string digest(const Model& m) {
  Digest g;
  g.text(precision_str(m.input_precision));
  for (const auto& l : m.layers) {
    g.text(l.name);
    g.text(std::string(to_string(l.kind)));
    for (const Precision* p :
         {&l.precision.weight, &l.precision.bias, &l.precision.accum, &l.precision.result})
      g.text(precision_str(*p));
    for (const auto& [key, t] : l.weights) {
      g.text(key);
      g.tensor(t);
    }
    g.tensor(l.mask);
  }
  for (float v : m.standardisation.mean) g.bytes(&v, sizeof v);
  for (float v : m.standardisation.scale) g.bytes(&v, sizeof v);
  for (const auto& c : m.class_names) g.text(c);
  return g.hex();
}

json hardware_json(const hw::HardwareModel& hwm) {
  json j = json::object();
  for (const auto& h : hwm.layers)
    j[h.name] = {
        {"reuse_factor", h.reuse_factor},  {"strategy", to_string(h.strategy)},
        {"io_type", to_string(h.io_type)}, {"parallelization_factor", h.parallelization_factor},
        {"weight", h.weight.str()},        {"bias", h.bias.str()},
        {"accum", h.accum.str()},          {"result", h.result.str()},
        {"input", h.input.str()}};
  return j;
}

json fingerprint(const Run& run) {
  json config = to_json(run.config);
  config["threads"] = run.loop.train.threads;  // as resolved
  const auto& in = run.inputs;
  return {{"config", config},
          {"hardware", hardware_json(run.input_hardware)},
          {"data",
           {{"train", digest(&in.train)},
            {"val", digest(in.val ? &*in.val : nullptr)},
            {"test", digest(in.test ? &*in.test : nullptr)}}},
          {"model", digest(in.file.model)}};
}

// What differs between a checkpoint's fingerprint and this run's, in the user's terms
// (settings first); empty if nothing.
std::string difference(const json& saved, const json& now) {
  for (const auto& [key, value] : now.at("config").items()) {
    const json old = saved.at("config").contains(key) ? saved.at("config").at(key) : json();
    if (old != value) return fmt::format("{} was {}, now {}", key, old.dump(), value.dump());
  }
  const json& hs = saved.at("hardware");
  for (const auto& [layer, attrs] : now.at("hardware").items()) {
    if (!hs.contains(layer)) return fmt::format("layer '{}' is new", layer);
    for (const auto& [key, value] : attrs.items())
      if (hs.at(layer).value(key, json()) != value)
        return fmt::format("layer '{}': {} was {}, now {}", layer, key,
                           hs.at(layer).value(key, json()).dump(), value.dump());
  }
  if (hs.size() != now.at("hardware").size()) return "the layers differ";
  for (const char* part : {"train", "val", "test"})
    if (saved.at("data").at(part) != now.at("data").at(part))
      return fmt::format("the data's {} rows differ", part);
  if (saved.at("model") != now.at("model")) return "the input model's weights or layers differ";
  return {};
}

// Saves `model` with `state` (and the run's fingerprint) as a checkpoint, atomically.
void save_checkpoint(const std::string& path, Model model, json state, const Run& run) {
  state["fingerprint"] = run.fingerprint;
  model.metadata[kStateKey] = state.dump();
  io::save_model(path, model);
}

// Loads a checkpoint written by this very configuration; its state in `state`.
Model load_checkpoint(const std::string& path, const Run& run, json& state) {
  Model m = io::load_model(path);
  auto it = m.metadata.find(kStateKey);
  if (it == m.metadata.end())
    throw Error(fmt::format("{}: not a pruning checkpoint (no {} entry)", path, kStateKey));
  try {
    state = json::parse(it->second);
    const std::string diff = difference(state.at("fingerprint"), run.fingerprint);
    if (!diff.empty())
      throw Error(fmt::format("{}: checkpoint of a different run ({}); delete it or drop --resume",
                              path, diff));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed pruning checkpoint ({})", path, e.what()));
  }
  m.metadata.erase(kStateKey);
  return m;
}

std::string baseline_path(const Run& run) {
  return run.checkpoint + ".baseline";
}

void load_loop_state(Run& run, const json& j) {
  const std::string where = run.checkpoint;
  try {
    LoopState& st = run.state;
    run.scheduler_state = j.at("scheduler").get<std::string>();
    st.next_target = j.at("next_target").is_null()
                         ? std::nullopt
                         : std::optional<double>(j.at("next_target").get<double>());
    st.trial = j.at("trial");
    st.bad_trials = j.at("bad_trials");
    st.any_accepted = j.at("any_accepted");
    st.finished = j.at("finished");
    st.best_metric = j.at("best_metric");
    st.final_sparsity = j.at("final_sparsity");
    st.alpha = j.at("alpha");
    st.baseline_metric = j.at("baseline_metric");
    const auto dims = run.objective->dimensions();
    for (const auto& s : j.at("search")) st.search.push_back(search_row_from(s, where));
    for (const auto& r : j.at("rows")) st.rows.push_back(step_row_from(r, dims, where));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed pruning checkpoint ({})", where, e.what()));
  }
}

}  // namespace

void save_baseline_checkpoint(const Run& run) {
  save_checkpoint(baseline_path(run), run.baseline, json{{"stage", "baseline"}}, run);
}

void save_loop_checkpoint(const Run& run) {
  const LoopState& st = run.state;
  const auto dims = run.objective->dimensions();
  json search = json::array(), rows = json::array();
  for (const auto& s : st.search) search.push_back(to_json(s));
  for (const auto& r : st.rows) rows.push_back(to_json(r, dims));
  save_checkpoint(run.checkpoint, run.current,
                  json{{"stage", "loop"},
                       {"scheduler", run.scheduler->save()},
                       {"next_target", st.next_target ? json(*st.next_target) : json()},
                       {"trial", st.trial},
                       {"bad_trials", st.bad_trials},
                       {"any_accepted", st.any_accepted},
                       {"finished", st.finished},
                       {"best_metric", st.best_metric},
                       {"final_sparsity", st.final_sparsity},
                       {"alpha", st.alpha},
                       {"baseline_metric", st.baseline_metric},
                       {"search", search},
                       {"rows", rows}},
                  run);
}

void open_checkpoint(Run& run) {
  run.fingerprint = fingerprint(run);
  if (run.checkpoint.empty() || !run.config.resume) return;
  namespace fs = std::filesystem;
  const bool have_loop = fs::exists(run.checkpoint);
  const bool have_baseline = run.baseline_epochs > 0 && fs::exists(baseline_path(run));
  json state;
  if (have_baseline) {
    run.baseline = load_checkpoint(baseline_path(run), run, state);
    run.resumed_baseline = true;
    run.message(fmt::format("baseline: {} (from an interrupted run)", baseline_path(run)));
  }
  if (have_loop) {
    if (run.baseline_epochs > 0 && !have_baseline)
      throw Error(
          fmt::format("{}: its baseline {} is missing; delete the checkpoint or drop "
                      "--resume",
                      run.checkpoint, baseline_path(run)));
    run.current = load_checkpoint(run.checkpoint, run, state);
    load_loop_state(run, state);
    run.resumed_loop = true;
    run.message(fmt::format("resumed from {} after step {}", run.checkpoint, run.state.trial));
  }
  if (!have_loop && !have_baseline)
    run.message(
        fmt::format("--resume: no checkpoint at {}; starting from the beginning", run.checkpoint));
}

void save_result(Run& run) {
  const PipelineConfig& c = run.config;
  if (!c.save_baseline.empty()) io::save_model(c.save_baseline, run.result.baseline);
  if (!c.out.empty()) io::save_model(c.out, run.result.model);
  if (!run.checkpoint.empty()) {
    remove_after_outputs(run.checkpoint);  // once the outputs are in place
    remove_after_outputs(baseline_path(run));
    remove_stale_temps(run.checkpoint);  // what a killed run was writing
    remove_stale_temps(baseline_path(run));
  }
  run.result.seconds = std::chrono::duration<double>(Clock::now() - run.started).count();
}

}  // namespace hwprune::prune
