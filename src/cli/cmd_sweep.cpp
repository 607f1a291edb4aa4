// hwprune sweep: run every point of a sweep file (sweep::load_spec) that is not finished —
// locally or as a Slurm job array — with progress, then the results table and the report.
// `--point ID` runs one point in this process (what each worker or array task runs): the
// prune command (and synth) through the command line's own parser.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "app.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "hwprune/report/report.hpp"
#include "hwprune/sweep/results.hpp"
#include "hwprune/sweep/run.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct SweepArgs {
  std::string spec, dir, executor, point;
  std::optional<int> workers;
  double poll = 30;
  bool dry_run = false, retry_failed = false, no_wait = false;
};

// The words of a point's prune run.
std::vector<std::string> prune_words(const sweep::Spec& spec, const sweep::Point& p) {
  const sweep::PointFiles f = sweep::point_files(spec, p);
  std::vector<std::string> w{"prune"};
  for (auto& x : sweep::option_words(p.options)) w.push_back(x);
  for (const char* x : {"--out"}) w.push_back(x);
  w.push_back(f.model);
  w.insert(w.end(), {"--json", f.result, "--resume", "--quiet"});
  if (!p.options.contains("threads")) w.insert(w.end(), {"--threads", "1"});
  return w;
}

// The words of a point's synth run: the spec's synth options, the point's data unless given.
std::vector<std::string> synth_words(const sweep::Spec& spec, const sweep::Point& p) {
  const sweep::PointFiles f = sweep::point_files(spec, p);
  json o = spec.synth;
  for (const char* k : {"data", "test-data"})
    if (!o.contains(k) && p.options.contains(k)) o[k] = p.options[k];
  std::vector<std::string> w{"synth",     "--model", f.model,       "--out",
                             f.synth_dir, "--json",  f.synth_result};
  for (auto& x : sweep::option_words(o)) w.push_back(x);
  return w;
}

std::string quoted_words(const std::vector<std::string>& words) {
  std::string out = "hwprune";
  for (const auto& w : words)
    out += " " + (w.find_first_of(" '\"$\\") == std::string::npos ? w : "'" + w + "'");
  return out;
}

std::string duration(double s) {
  if (s < 0) return "?";
  if (s < 90) return fmt::format("{:.0f}s", s);
  if (s < 5400) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}

class Printer : public sweep::SweepObserver {
 public:
  void started(const sweep::Point& p) override {
    fmt::print("  start  {}  {}\n", p.id, p.label);
    std::fflush(stdout);
  }
  void finished(const sweep::Point& p, const sweep::PointStatus& s, double seconds) override {
    if (s.state == sweep::State::Done)
      fmt::print("  done   {}  {} ({:.1f} s)\n", p.id, p.label, seconds);
    else
      fmt::print("  {:<6} {}  {}: {}\n", sweep::kStateNames.name(s.state), p.id, p.label, s.error);
    std::fflush(stdout);
  }
  void progress(const sweep::Progress& p) override {
    const std::string line =
        fmt::format("  [{}/{} done, {} running, {} pending, {} failed, ETA {}]", p.done, p.total,
                    p.running, p.pending, p.failed, duration(p.eta_seconds));
    if (line == last_) return;
    last_ = line;
    fmt::print("{}\n", line);
    std::fflush(stdout);
  }
  void message(const std::string& text) override {
    fmt::print("  {}\n", text);
    std::fflush(stdout);
  }

 private:
  std::string last_;
};

sweep::Spec load(const SweepArgs& a) {
  sweep::Spec spec = sweep::load_spec(a.spec);
  if (!a.dir.empty()) {
    std::error_code ec;
    spec.dir = fs::absolute(a.dir, ec).lexically_normal().string();
  }
  if (!a.executor.empty()) spec.executor = sweep::kExecutorNames.parse(a.executor);
  if (a.workers) spec.workers = *a.workers;
  return spec;
}

// One point, in this process. Its error, one line, also goes to points/<id>.error.
void run_point(const SweepArgs& a) {
  const sweep::Spec spec = load(a);
  const sweep::Point* point = nullptr;
  for (const auto& p : spec.points)
    if (p.id == a.point) point = &p;
  if (!point)
    throw Error(fmt::format("{}: no point {} (the file changed since the sweep started?)",
                            spec.path, a.point));
  const sweep::PointFiles f = sweep::point_files(spec, *point);
  std::error_code ec;
  fs::create_directories(fs::path(f.result).parent_path(), ec);
  // One process per point at a time (a sweep killed without its workers, a duplicate task):
  // the lock goes with the process that holds it.
  const std::string& lock_path = f.lock;
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0)
    throw Error(
        fmt::format("{}: cannot create the point's lock ({})", lock_path, std::strerror(errno)));
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    fmt::print("point {} ({}) is being run by another process (lock {}); left to it\n", point->id,
               point->label, lock_path);
    ::close(lock);
    return;
  }
  try {
    fmt::print("point {} ({}) of {}\n", point->id, point->label, spec.path);
    if (!fs::exists(f.result, ec)) {
      const auto words = prune_words(spec, *point);
      fmt::print("{}\n", quoted_words(words));
      std::fflush(stdout);
      run_words(words);
    }
    if (!f.synth_result.empty() && !fs::exists(f.synth_result, ec)) {
      const auto words = synth_words(spec, *point);
      fmt::print("{}\n", quoted_words(words));
      std::fflush(stdout);
      run_words(words);
    }
  } catch (const std::exception& e) {
    const std::string line =
        one_line(fmt::format("point {} ({}): {}", point->id, point->label, e.what()));
    write_file_atomic(f.error, line + "\n");
    throw Error(line);
  }
  fs::remove(f.error, ec);
}

void run_sweep(const SweepArgs& a) {
  if (!a.point.empty()) return run_point(a);
  const sweep::Spec spec = load(a);
  // Every point's options go through the commands' own parser before anything runs.
  for (const auto& p : spec.points) {
    try {
      run_words(prune_words(spec, p), true);
      if (!spec.synth.is_null()) run_words(synth_words(spec, p), true);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: point {} ({}): {}", spec.path, p.id, p.label, e.what()));
    }
  }
  const sweep::Progress before = sweep::count(spec);
  fmt::print("sweep {}: {} points ({} done, {} failed, {} to run) -> {}\n", spec.path, before.total,
             before.done, before.failed,
             before.total - before.done - (a.retry_failed ? 0 : before.failed), spec.dir);
  if (!a.retry_failed)
    for (const auto& p : spec.points)
      if (const auto st = sweep::point_status(spec, p); st.state == sweep::State::Failed)
        fmt::print("  failed earlier (--retry-failed runs it again): {}\n", st.error);
  const std::vector<sweep::Point> todo = sweep::unfinished(spec, a.retry_failed);
  const std::vector<std::string> command{self_executable(), "sweep", spec.path, "--dir", spec.dir};
  // Local workers: the file's, else as many as the cores hold points of the most threads.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int threads = 1;
  for (const auto& p : todo) threads = std::max(threads, sweep::point_threads(p));
  const int workers =
      std::max(1, std::min(static_cast<int>(todo.size()),
                           spec.workers > 0 ? spec.workers : std::max(1, cores / threads)));
  std::vector<std::string> point_command = command;
  point_command.push_back("--point");

  if (a.dry_run) {
    for (const auto& p : todo) {
      fmt::print("{}  {}\n  {}\n", p.id, p.label, quoted_words(prune_words(spec, p)));
      if (!spec.synth.is_null()) fmt::print("  {}\n", quoted_words(synth_words(spec, p)));
    }
    if (spec.executor == sweep::Executor::Slurm && !todo.empty())
      fmt::print("--- {}/sweep.sbatch ---\n{}", spec.dir,
                 sweep::batch_script(spec, todo, point_command));
    return;
  }
  Printer printer;
  std::error_code ec;
  fs::create_directories(fs::path(spec.dir) / "points", ec);
  if (ec)
    throw Error(fmt::format("{}: cannot create the results folder ({})", spec.dir, ec.message()));
  if (spec.executor == sweep::Executor::Local) {
    if (!todo.empty()) {
      fmt::print("running {} points, {} at once ({} cores, up to {} thread{} a point)\n",
                 todo.size(), workers, cores, threads, threads == 1 ? "" : "s");
      std::fflush(stdout);
      sweep::run_local(spec, todo, point_command, {workers, a.poll}, &printer);
    }
  } else {
    std::string job = sweep::live_slurm_job(spec);
    if (!job.empty()) {
      fmt::print(
          "Slurm job {} of an earlier run is still queued or running: waiting for it "
          "(scancel {} to stop it)\n",
          job, job);
    } else if (!todo.empty()) {
      job = sweep::submit_slurm(spec, sweep::batch_script(spec, todo, point_command));
      fmt::print("submitted Slurm job array {} ({} tasks{}); script {}/sweep.sbatch\n", job,
                 todo.size(),
                 spec.slurm.throttle > 0 ? fmt::format(", {} at once", spec.slurm.throttle) : "",
                 spec.dir);
    }
    std::fflush(stdout);
    if (!job.empty()) {
      if (a.no_wait) {
        fmt::print("not waiting (--no-wait): run the sweep again to collect the results\n");
        return;
      }
      sweep::wait_slurm(spec, job, todo, a.poll, &printer);
    }
  }
  const std::vector<json> rows = sweep::result_rows(spec);
  sweep::write_results(spec, rows);
  const sweep::Progress after = sweep::count(spec);
  std::vector<std::vector<std::string>> table{
      {"point", "id", "state", "val", "test", "DSP", "BRAM18", "LUT (mult)", "seconds"}};
  auto num = [](const json& v, bool share) {
    if (!v.is_number()) return std::string("");
    return share ? fmt::format("{:.2f}%", 100 * v.get<double>())
                 : fmt::format("{:g}", v.get<double>());
  };
  auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : std::string(); };
  for (const auto& r : rows) {
    const std::string metric = text(r["metric"]);
    const bool share = metric == "accuracy" || metric == "balanced-accuracy";
    table.push_back({text(r["label"]), text(r["id"]), text(r["state"]), num(r["val_after"], share),
                     num(r["test_after"], text(r.value("test_metric", json())) == "accuracy"),
                     num(r["dsp_after"], false), num(r["bram18_after"], false),
                     num(r["lut_multipliers_after"], false), num(r["wall_seconds"], false)});
  }
  fmt::print("\n{}", format_table(table));
  fmt::print("wrote {}/results.jsonl, results.csv\n", spec.dir);
  if (after.done > 0)
    write_report(stdout, (fs::path(spec.dir) / "report.html").string(),
                 "hwprune sweep: " + fs::path(spec.path).filename().string(), {},
                 {sweep::report_input(spec, rows)});
  const int missing = after.total - after.done - after.failed;
  if (after.failed > 0 || missing > 0)
    throw Error(fmt::format(
        "{} of {} points failed{} (listed above; their logs are in {}/points)", after.failed,
        after.total, missing > 0 ? fmt::format(", {} have no result", missing) : "", spec.dir));
}

}  // namespace

std::function<void()> add_sweep_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run many prune configurations (a grid and/or list in a YAML file) locally or as a "
      "Slurm job array; finished points are kept, so a rerun runs only the missing ones");
  cmd->add_option("spec", a->spec, "The sweep file (docs/sweep.md)")->required();
  cmd->add_option("--dir", a->dir, "Results folder (default: the file's dir:)");
  cmd->add_option("--executor", a->executor,
                  fmt::format("Where points run (default: the file's executor:):\n{}",
                              sweep::kExecutorNames.help_lines("    ")));
  cmd->add_option("--workers", a->workers,
                  "Local: points at once (default: the file's workers:, else cores / the "
                  "points' threads; a point's threads: its threads option, default 1)");
  cmd->add_flag("--retry-failed", a->retry_failed, "Run failed points again");
  cmd->add_flag("--dry-run", a->dry_run,
                "Print what would run (each point's command; Slurm: the batch script) and stop");
  cmd->add_flag("--no-wait", a->no_wait, "Slurm: submit and return without waiting");
  cmd->add_option("--poll", a->poll, "Seconds between progress lines")->capture_default_str();
  cmd->add_option("--point", a->point,
                  "Run only this point (an id), in this process: what workers and array tasks "
                  "run");
  cmd->footer(
      "Examples:\n"
      "  hwprune sweep letter.yml\n"
      "  hwprune sweep letter.yml --executor slurm --dry-run\n"
      "  hwprune sweep letter.yml --executor slurm --no-wait\n"
      "Writes <dir>/points/<id>.{json,hwp,log}, results.jsonl, results.csv and report.html.");
  return [a] { run_sweep(*a); };
}

}  // namespace hwprune::cli
