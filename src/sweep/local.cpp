// The local executor: worker processes on this machine.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "hwprune/sweep/run.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "hwprune/util/process.hpp"

namespace hwprune::sweep {

namespace fs = std::filesystem;

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

// Installs the stop handlers for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

using Clock = std::chrono::steady_clock;

}  // namespace

std::vector<Point> unfinished(const Spec& spec, bool retry_failed) {
  std::vector<Point> out;
  for (const auto& p : spec.points) {
    const State s = point_status(spec, p).state;
    if (s == State::Missing || (s == State::Failed && retry_failed)) out.push_back(p);
  }
  return out;
}

Progress count(const Spec& spec) {
  Progress p;
  p.total = static_cast<int>(spec.points.size());
  for (const auto& point : spec.points) {
    const State s = point_status(spec, point).state;
    p.done += s == State::Done;
    p.failed += s == State::Failed;
  }
  return p;
}

void run_local(const Spec& spec, const std::vector<Point>& todo,
               const std::vector<std::string>& command, const LocalOptions& options,
               SweepObserver* observer) {
  SweepObserver none;
  SweepObserver& obs = observer ? *observer : none;
  std::error_code ec;
  fs::create_directories(fs::path(spec.dir) / "points", ec);
  if (ec)
    throw Error(fmt::format("{}: cannot create the results folder ({})", spec.dir, ec.message()));
  const int workers = std::max(1, options.workers);
  std::deque<const Point*> pending;
  for (const auto& p : todo) pending.push_back(&p);
  struct Running {
    const Point* point;
    Clock::time_point start;
  };
  std::map<pid_t, Running> running;
  std::vector<double> durations;
  auto report = [&] {
    Progress p = count(spec);
    p.running = static_cast<int>(running.size());
    for (const auto& [pid, r] : running)  // wrote its result and is about to exit
      if (point_status(spec, *r.point).state == State::Done) --p.done;
    p.pending = static_cast<int>(pending.size());
    // Points that failed or finished earlier were counted by state; the running ones may
    // have left an old error file behind, which start() removed.
    if (!durations.empty()) {
      double mean = 0;
      for (double d : durations) mean += d;
      mean /= static_cast<double>(durations.size());
      p.eta_seconds = mean * static_cast<double>(p.pending + p.running) / workers;
    }
    obs.progress(p);
  };
  StopSignals signals;
  auto last_report = Clock::now();
  while (!pending.empty() || !running.empty()) {
    if (g_stop_signal) {
      for (const auto& [pid, r] : running) ::kill(pid, SIGTERM);
      for (const auto& [pid, r] : running) wait_process(pid);
      throw Error(fmt::format(
          "sweep {} stopped by signal {}: {} points were running, {} not started; run it "
          "again to finish them",
          spec.path, static_cast<int>(g_stop_signal), running.size(), pending.size()));
    }
    bool event = false;
    while (!pending.empty() && static_cast<int>(running.size()) < workers) {
      const Point* p = pending.front();
      pending.pop_front();
      const PointFiles f = point_files(spec, *p);
      fs::remove(f.error, ec);  // a retried point starts clean
      std::vector<std::string> argv = command;
      argv.push_back(p->id);
      const pid_t pid = start_process(
          {.argv = argv,
           .dir = spec.base_dir,
           .output = f.log,
           .env = {fmt::format("OMP_NUM_THREADS={}", point_threads(*p)), "OMP_WAIT_POLICY=PASSIVE"},
           .append = true});
      running[pid] = {p, Clock::now()};
      obs.started(*p);
      event = true;
    }
    int wstatus = 0;
    const pid_t pid = ::waitpid(-1, &wstatus, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      const Running r = running[pid];
      running.erase(pid);
      const int status = exit_status(wstatus);
      const double seconds = std::chrono::duration<double>(Clock::now() - r.start).count();
      const PointFiles f = point_files(spec, *r.point);
      PointStatus st = point_status(spec, *r.point);
      if (status == 0 && st.state == State::Missing)  // another process holds the point
        obs.message(fmt::format("point {} ({}) is being run by another process; see {}",
                                r.point->id, r.point->label, f.log));
      else if (st.state != State::Done && !fs::exists(f.error, ec)) {
        const std::string why = status > 128 ? fmt::format("killed by signal {}", status - 128)
                                             : fmt::format("exited with status {}", status);
        write_file_atomic(f.error, fmt::format("point {} {} without an error message (see {})\n",
                                               r.point->id, why, f.log));
        st = point_status(spec, *r.point);
      }
      if (st.state == State::Done) durations.push_back(seconds);
      obs.finished(*r.point, st, seconds);
      event = true;
    } else if (pid == 0 || (pid < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } else if (pid < 0) {
      throw Error(
          fmt::format("sweep {}: lost its worker processes ({})", spec.path, std::strerror(errno)));
    }
    if (event || Clock::now() - last_report > std::chrono::duration<double>(options.poll_seconds)) {
      report();
      last_report = Clock::now();
    }
  }
}

}  // namespace hwprune::sweep
