// The Slurm executor: one job array through sbatch, watched through the results folder and
// squeue.
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "hwprune/sweep/run.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "hwprune/util/process.hpp"

namespace hwprune::sweep {

namespace fs = std::filesystem;

namespace {

// A word for bash, single-quoted.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string job_file(const Spec& spec) {
  return (fs::path(spec.dir) / "slurm-job").string();
}

// Runs a Slurm client command and returns its exit status and output.
std::pair<int, std::string> slurm_command(const Spec& spec, const std::vector<std::string>& argv) {
  const auto exe = find_executable(argv[0]);
  if (!exe)
    throw Error(
        fmt::format("{}: not found on PATH (is this a Slurm submit host? The sweep's "
                    "slurm executor needs sbatch and squeue)",
                    argv[0]));
  std::vector<std::string> args = argv;
  args[0] = *exe;
  const std::string out =
      (fs::path(spec.dir) / fmt::format(".{}.out-{}", argv[0], ::getpid())).string();
  const int status = run_process({.argv = args, .dir = spec.dir, .output = out});
  std::string text;
  try {
    text = read_file(out);
  } catch (const Error&) {
  }
  std::error_code ec;
  fs::remove(out, ec);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return {status, text};
}

}  // namespace

std::string batch_script(const Spec& spec, const std::vector<Point>& todo,
                         const std::vector<std::string>& command) {
  if (todo.empty()) throw Error("batch_script: no points");
  SlurmOptions o = spec.slurm;
  if (o.cpus_per_task <= 0)
    for (const auto& p : todo) o.cpus_per_task = std::max(o.cpus_per_task, point_threads(p));
  const fs::path points = fs::path(spec.dir) / "points";
  std::string s = "#!/bin/bash\n";
  s += fmt::format("#SBATCH --job-name=hwprune-sweep\n");
  s += fmt::format("#SBATCH --array=0-{}{}\n", todo.size() - 1,
                   o.throttle > 0 ? fmt::format("%{}", o.throttle) : "");
  s += fmt::format("#SBATCH --chdir={}\n", spec.base_dir);
  s += fmt::format("#SBATCH --output={}\n", (points / "slurm-%A_%a.out").string());
  s += fmt::format("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  s += "#SBATCH --ntasks=1\n";
  if (!o.partition.empty()) s += fmt::format("#SBATCH --partition={}\n", o.partition);
  if (!o.account.empty()) s += fmt::format("#SBATCH --account={}\n", o.account);
  if (!o.qos.empty()) s += fmt::format("#SBATCH --qos={}\n", o.qos);
  if (!o.time.empty()) s += fmt::format("#SBATCH --time={}\n", o.time);
  if (!o.mem.empty()) s += fmt::format("#SBATCH --mem={}\n", o.mem);
  for (const auto& extra : o.sbatch) s += fmt::format("#SBATCH {}\n", extra);
  s += fmt::format(
      "# hwprune sweep {}: the {} of its {} points not finished when this was "
      "written; one array task each.\n",
      spec.path, todo.size(), spec.points.size());
  s += "set -eu\nids=(";
  for (size_t k = 0; k < todo.size(); ++k) s += (k ? " " : "") + todo[k].id;
  s += ")\nid=${ids[$SLURM_ARRAY_TASK_ID]}\n";
  s += fmt::format("export OMP_NUM_THREADS={} OMP_WAIT_POLICY=PASSIVE\n", o.cpus_per_task);
  s += "exec";
  for (const auto& w : command) {
    s += ' ';
    s += quoted(w);
  }
  s += fmt::format(" \"$id\" >> {}/\"$id\".log 2>&1\n", quoted(points.string()));
  return s;
}

std::string submit_slurm(const Spec& spec, const std::string& script) {
  std::error_code ec;
  fs::create_directories(fs::path(spec.dir) / "points", ec);
  if (ec)
    throw Error(fmt::format("{}: cannot create the results folder ({})", spec.dir, ec.message()));
  const std::string path = (fs::path(spec.dir) / "sweep.sbatch").string();
  write_file_atomic(path, script);
  const auto [status, out] = slurm_command(spec, {"sbatch", "--parsable", path});
  if (status != 0)
    throw Error(fmt::format("sbatch refused {} (exit status {}): {}", path, status,
                            out.empty() ? "no message" : out));
  // --parsable prints "<job id>[;<cluster>]" (after any warnings, on the last line).
  std::string job =
      out.substr(out.find_last_of('\n') == std::string::npos ? 0 : out.find_last_of('\n') + 1);
  job = job.substr(0, job.find(';'));
  if (job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw Error(fmt::format("sbatch printed no job id for {}: {}", path, out));
  write_file_atomic(job_file(spec), job + "\n");
  return job;
}

std::string live_slurm_job(const Spec& spec) {
  std::error_code ec;
  if (!fs::exists(job_file(spec), ec)) return "";
  std::string job = read_file(job_file(spec));
  while (!job.empty() && (job.back() == '\n' || job.back() == ' ')) job.pop_back();
  if (job.empty() || !find_executable("squeue")) return "";
  const auto [status, out] =
      slurm_command(spec, {"squeue", "-h", "-j", job, "-t",
                           "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED", "-o", "%i"});
  return status == 0 && !out.empty() ? job : "";
}

void wait_slurm(const Spec& spec, const std::string& job, const std::vector<Point>& todo,
                double poll_seconds, SweepObserver* observer) {
  SweepObserver none;
  SweepObserver& obs = observer ? *observer : none;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const int done_before = count(spec).done;
  for (;;) {
    const auto [status, out] =
        slurm_command(spec, {"squeue", "-h", "-j", job, "-t",
                             "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED", "-o", "%t"});
    Progress p = count(spec);
    int listed = 0;
    std::istringstream lines(status == 0 ? out : "");
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      ++listed;
      p.running += line == "R" || line == "CG" || line == "CF";
    }
    // A pending array may be listed as one line; what is neither done, failed nor running
    // is pending.
    p.pending = std::max(0, p.total - p.done - p.failed - p.running);
    const int finished_now = p.done - done_before;
    if (finished_now > 0) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      p.eta_seconds = elapsed / finished_now * (p.pending + p.running);
    }
    obs.progress(p);
    if (listed == 0) break;  // the job has left the queue (or squeue no longer knows it)
    std::this_thread::sleep_for(std::chrono::duration<double>(poll_seconds));
  }
  // A task killed by Slurm (time limit, memory, scancel) leaves its point missing, to be
  // run again by the next sweep; say which.
  for (size_t k = 0; k < todo.size(); ++k) {
    if (point_status(spec, todo[k]).state != State::Missing) continue;
    obs.message(fmt::format(
        "point {} ({}): Slurm task {}_{} ended without a result (see {}); it runs again with "
        "the next sweep",
        todo[k].id, todo[k].label, job, k,
        (fs::path(spec.dir) / "points" / fmt::format("slurm-{}_{}.out", job, k)).string()));
  }
}

}  // namespace hwprune::sweep
