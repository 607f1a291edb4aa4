// Running a sweep's unfinished points: the local executor (worker processes on this machine)
// and the Slurm executor (one job array through sbatch, watched through the results folder
// and squeue). Both run the same command per point — `<command...> <point id>`, which runs the
// point and writes its files atomically (cli: `hwprune sweep SPEC --point ID`) — so a point's
// result does not depend on where it ran. Needs a loaded Spec.
#pragma once

#include <string>
#include <vector>

#include "hwprune/sweep/results.hpp"
#include "hwprune/sweep/spec.hpp"

namespace hwprune::sweep {

struct Progress {
  int total = 0;    // points of the spec
  int done = 0;     // results written (also those finished before this run)
  int running = 0;  // started and not ended (Slurm: tasks it reports running)
  int failed = 0;
  int pending = 0;          // not started yet
  double eta_seconds = -1;  // -1: unknown (nothing finished in this run yet)
};

// Receives what happens; every method is optional.
class SweepObserver {
 public:
  virtual ~SweepObserver() = default;
  virtual void started(const Point& /*point*/) {}
  virtual void finished(const Point& /*point*/, const PointStatus& /*status*/, double /*seconds*/) {
  }
  virtual void progress(const Progress& /*p*/) {}  // on every event and every poll interval
  virtual void message(const std::string& /*text*/) {}
};

// The points not done yet: missing ones, and failed ones when retry_failed.
std::vector<Point> unfinished(const Spec& spec, bool retry_failed);

// Counts of the spec's points by state (running and pending left 0).
Progress count(const Spec& spec);

struct LocalOptions {
  int workers = 1;           // points at once (each gets OMP_NUM_THREADS = point_threads)
  double poll_seconds = 30;  // progress at least this often
};

// Runs `command + {id}` for every point of `todo`, `workers` at once, output in the point's
// log. A point that exits non-zero without writing its error file gets one naming the exit
// status and the log. SIGINT/SIGTERM stop the workers (their points stay missing) and throw.
void run_local(const Spec& spec, const std::vector<Point>& todo,
               const std::vector<std::string>& command, const LocalOptions& options,
               SweepObserver* observer);

// The sbatch script of `todo`: one array task per point (the spec's `slurm:` options, the
// throttle, the results folder), each running `command + {id}` in the spec's folder.
std::string batch_script(const Spec& spec, const std::vector<Point>& todo,
                         const std::vector<std::string>& command);

// Submits the script (written to <dir>/sweep.sbatch) with sbatch and returns the job id
// (also saved in <dir>/slurm-job). Error when sbatch is missing or refuses the script.
std::string submit_slurm(const Spec& spec, const std::string& script);

// The job of an earlier submission that Slurm still lists as pending or running, or "".
std::string live_slurm_job(const Spec& spec);

// Waits until the job has left the queue, reporting progress from the results folder every
// poll_seconds. Points of `todo` left without a result or error file (a task Slurm killed)
// stay missing, each named in a message with its Slurm output.
void wait_slurm(const Spec& spec, const std::string& job, const std::vector<Point>& todo,
                double poll_seconds, SweepObserver* observer);

}  // namespace hwprune::sweep
