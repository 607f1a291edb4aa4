// A sweep: many `hwprune prune` runs described by one YAML file (docs/sweep.md) — a base
// configuration, a grid of axes and/or a list of points, keyed by the prune command's option
// names — expanded into points, each with a stable id (a hash of its options) that names its
// files in the results folder. Needs nothing but the file; the option names are checked by the
// command's own parser (cli), not here.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprune/util/names.hpp"

namespace hwprune::sweep {

enum class Executor { Local, Slurm };
inline constexpr NameTable<Executor, 2> kExecutorNames{
    "executor",
    {{{"local", Executor::Local, "worker processes on this machine (--workers at once)"},
      {"slurm", Executor::Slurm, "one Slurm job array through sbatch, one task per point"}}}};

// What the batch script asks Slurm for (the spec's `slurm:` section).
struct SlurmOptions {
  std::string partition, account, qos, time, mem;  // "" = the cluster's default
  int cpus_per_task = 0;            // 0: the most threads a point uses (point_threads)
  int throttle = 0;                 // array tasks at once (%N); 0 = no limit
  std::vector<std::string> sbatch;  // further sbatch options, verbatim
};

struct Point {
  std::string id;          // 12 hex digits of the options' hash: the point's file names
  nlohmann::json options;  // {option name: value}, base merged with the point's own
  std::string label;       // the axes' values, e.g. "rf=2 final-sparsity=0.5"
};

struct Spec {
  std::string path;      // the spec file, absolute
  std::string base_dir;  // its folder: points run there, relative paths resolve there
  std::string dir;       // the results folder, absolute (spec `dir:`, default <spec stem>.sweep)
  Executor executor = Executor::Local;
  int workers = 0;       // local: points at once (0: one per core)
  nlohmann::json synth;  // null: no synthesis; an object: `hwprune synth` options per point
  SlurmOptions slurm;
  std::vector<std::string> axes;  // the options whose values differ between points
  std::vector<Point> points;      // grid points first (last axis fastest), then listed points
};

// Options the sweep sets itself for every point; a spec may not set them.
inline constexpr std::string_view kReservedOptions[] = {
    "out", "json", "checkpoint", "resume", "save-baseline", "report", "quiet"};

// A point's torch threads: its `threads` option, else 1 (so that where and beside what it
// runs never changes its result).
int point_threads(const Point& point);

// Reads and expands the spec. Error "<file>: <where>: <what>" on a malformed file, an unknown
// top-level key, a reserved option, an empty grid axis, two points with the same options, or
// no point at all.
Spec load_spec(const std::string& path);

// The command-line words of a point's options: `--name value`, `--flag` for true (false
// flags are dropped when the spec is read), `--name v1 v2` for a list.
std::vector<std::string> option_words(const nlohmann::json& options);

// 12 hex digits of a 64-bit FNV-1a hash of the canonical JSON text.
std::string hash_id(const nlohmann::json& value);

}  // namespace hwprune::sweep
