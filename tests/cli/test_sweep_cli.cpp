// hwprune sweep and report end to end on a small CSV: a local grid with its table and report,
// a killed sweep that a rerun finishes (only the missing points run), a failing point listed
// with its error and skipped until --retry-failed, options checked before anything runs, the
// Slurm dry run, and the HTML reports of prune and of the report command.
#include <signal.h>

#include <filesystem>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hwprune/util/fs.hpp"
#include "support/synthetic.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::expect_error;
using test::run_cli;
using test::ScratchDir;
using ::testing::HasSubstr;
using ::testing::Not;

// A trained model and a sweep file over it (rf x final sparsity) in `dir`.
std::string make_sweep(const ScratchDir& dir, const std::string& extra = "",
                       const std::string& grid = "  rf: [1, 2]\n  final-sparsity: [0.5, 0.8]\n") {
  const std::string csv = test::write_blob_csv(dir, "jets.csv");
  if (!fs::exists(dir.file("base.hwp"))) {
    const auto r = run_cli(fmt::format(
        "train --model jet-mlp --data 'csv:{},label=kind' --epochs 4 --lr 0.003 --threads 1 "
        "--quiet --out '{}'",
        csv, dir.file("base.hwp")));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  return dir.write("sweep.yml",
                   fmt::format("base:\n  model: base.hwp\n  data: csv:jets.csv,label=kind\n"
                               "  steps: 2\n  epochs-per-step: 1\n  rtol: 0.9\n"
                               "grid:\n{}{}",
                               grid, extra));
}

std::vector<json> rows_of(const std::string& dir) {
  std::vector<json> rows;
  std::istringstream in(read_file(dir + "/results.jsonl"));
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SweepCli, RunsAGridLocallyAndWritesTheTableAndTheReport) {
  ScratchDir dir;
  const std::string spec = make_sweep(dir);
  const auto r = run_cli(fmt::format("sweep '{}' --workers 2", spec));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("4 points (0 done, 0 failed, 4 to run)"));
  EXPECT_THAT(r.output, HasSubstr("4/4 done"));
  const std::string out = dir.file("sweep.sweep");
  const auto rows = rows_of(out);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    EXPECT_EQ(row["state"], "done") << row.dump();
    const json j = json::parse(read_file(out + "/" + row["result"].get<std::string>()));
    EXPECT_EQ(j["config"]["rf"], row["options"]["rf"]);
    EXPECT_EQ(j["config"]["final_sparsity"], row["options"]["final-sparsity"]);
    EXPECT_EQ(j["config"]["threads"], 1);
    EXPECT_EQ(row["dsp_after"], j["total"]["final"]["dsp"]);
    EXPECT_TRUE(row["test_after"].is_number());
  }
  const std::string csv = read_file(out + "/results.csv");
  EXPECT_THAT(csv, HasSubstr("id,state,rf,final-sparsity,metric,"));
  EXPECT_EQ(count(csv, ",done,"), 4u);
  const std::string html = read_file(out + "/report.html");
  EXPECT_THAT(html, HasSubstr("sweep-0-dsp"));
  EXPECT_THAT(html, HasSubstr("vegaEmbed"));
  // Everything done: a rerun runs nothing.
  const auto again = run_cli(fmt::format("sweep '{}'", spec));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("4 points (4 done, 0 failed, 0 to run)"));
  EXPECT_THAT(again.output, Not(HasSubstr("start ")));
}

TEST(SweepCli, AKilledSweepRunAgainFinishesOnlyTheMissingPoints) {
  ScratchDir dir;
  const std::string spec = make_sweep(dir, "", "  rf: [1, 2, 4]\n  final-sparsity: [0.5]\n");
  const std::string out = dir.file("sweep.sweep");
  // One worker in a process group of its own, killed (SIGKILL, the whole group) once the
  // first point is done.
  const std::string pid_file = dir.file("pid");
  ASSERT_EQ(std::system(fmt::format("setsid sh -c 'echo $$ > \"{}\"; exec \"{}\" sweep \"{}\" "
                                    "--workers 1 > \"{}\" 2>&1' &",
                                    pid_file, HWPRUNE_CLI_PATH, spec, dir.file("first.log"))
                            .c_str()),
            0);
  bool first_done = false;
  for (int i = 0; i < 600 && !first_done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::error_code ec;
    if (fs::is_directory(out + "/points", ec))
      for (const auto& e : fs::directory_iterator(out + "/points", ec))
        first_done = first_done || e.path().extension() == ".json";
  }
  ASSERT_TRUE(first_done) << read_file(dir.file("first.log"));
  const std::string pgid = read_file(pid_file);
  ASSERT_EQ(::kill(-std::stoi(pgid), SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<std::pair<std::string, fs::file_time_type>> done;
  for (const auto& e : fs::directory_iterator(out + "/points"))
    if (e.path().extension() == ".json") done.emplace_back(e.path().string(), e.last_write_time());
  ASSERT_GE(done.size(), 1u);
  ASSERT_LT(done.size(), 3u) << "the sweep finished before it was killed";

  const auto r = run_cli(fmt::format("sweep '{}' --workers 2", spec));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(fmt::format("3 points ({} done, 0 failed, {} to run)",
                                              done.size(), 3 - done.size())));
  EXPECT_EQ(count(r.output, "  start "), 3 - done.size()) << r.output;
  for (const auto& [path, time] : done) EXPECT_EQ(fs::last_write_time(path), time) << path;
  for (const auto& row : rows_of(out)) EXPECT_EQ(row["state"], "done");
}

TEST(SweepCli, AFailedPointIsListedWithItsErrorAndRunsAgainOnlyWhenAsked) {
  ScratchDir dir;
  const std::string spec = make_sweep(dir, "", "  rf: [2]\n  objective: [dsp, dsp-nonsense]\n");
  const auto r = run_cli(fmt::format("sweep '{}'", spec));
  expect_error(r, "1 of 2 points failed (listed above");
  EXPECT_THAT(r.output, HasSubstr("unknown objective"));
  const auto rows = rows_of(dir.file("sweep.sweep"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["state"], "done");
  EXPECT_EQ(rows[1]["state"], "failed");
  EXPECT_THAT(rows[1]["error"].get<std::string>(), HasSubstr("objective=dsp-nonsense"));
  EXPECT_THAT(read_file(dir.file("sweep.sweep/results.csv")), HasSubstr(",failed,"));

  const auto again = run_cli(fmt::format("sweep '{}'", spec));
  expect_error(again, "1 of 2 points failed");
  EXPECT_THAT(again.output, HasSubstr("failed earlier (--retry-failed runs it again)"));
  EXPECT_THAT(again.output, Not(HasSubstr("  start ")));
  const auto retried = run_cli(fmt::format("sweep '{}' --retry-failed", spec));
  expect_error(retried, "1 of 2 points failed");
  EXPECT_EQ(count(retried.output, "  start "), 1u) << retried.output;
}

TEST(SweepCli, OptionsAreCheckedByThePruneParserBeforeAnythingRuns) {
  ScratchDir dir;
  const std::string spec = make_sweep(dir, "points:\n  - {rf: 2, final-sparsty: 0.5}\n");
  const auto r = run_cli(fmt::format("sweep '{}'", spec));
  expect_error(r, "final-sparsty");
  EXPECT_THAT(r.output, HasSubstr("point "));
  EXPECT_FALSE(fs::exists(dir.file("sweep.sweep"))) << "nothing may run or be written";
  expect_error(run_cli(fmt::format("sweep '{}'", dir.file("missing.yml"))), "missing.yml");
}

TEST(SweepCli, SlurmDryRunPrintsTheBatchScriptAndWritesNothing) {
  ScratchDir dir;
  const std::string spec = make_sweep(
      dir, "slurm: {partition: batch, account: trig, time: \"00:20:00\", throttle: 3}\n");
  const auto r = run_cli(fmt::format("sweep '{}' --executor slurm --dry-run", spec));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("#SBATCH --array=0-3%3"));
  EXPECT_THAT(r.output, HasSubstr("#SBATCH --partition=batch"));
  EXPECT_THAT(r.output, HasSubstr("#SBATCH --account=trig"));
  EXPECT_THAT(r.output, HasSubstr("#SBATCH --time=00:20:00"));
  EXPECT_THAT(r.output, HasSubstr("hwprune prune --data csv:jets.csv,label=kind"));
  EXPECT_THAT(r.output, HasSubstr("'--point' \"$id\""));
  EXPECT_FALSE(fs::exists(dir.file("sweep.sweep")));
}

TEST(ReportCli, PruneWritesAReportAndTheReportCommandJoinsResults) {
  ScratchDir dir;
  const std::string csv = test::write_blob_csv(dir, "jets.csv");
  const auto r = run_cli(fmt::format(
      "prune --model jet-mlp --data 'csv:{},label=kind' --rf 2 --baseline-epochs 3 --steps 2 "
      "--epochs-per-step 1 --rtol 0.9 --threads 1 --quiet --out '{}' --json '{}' --report '{}'",
      csv, dir.file("p.hwp"), dir.file("p.json"), dir.file("p.html")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string page = read_file(dir.file("p.html"));
  for (const char* id : {"run-0-steps", "run-0-front-0", "run-0-layers"})
    EXPECT_THAT(page, HasSubstr(id));
  const auto joined = run_cli(fmt::format("report '{}' --out '{}' --title 'two runs'",
                                          dir.file("p.json"), dir.file("r.html")));
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  EXPECT_THAT(read_file(dir.file("r.html")), HasSubstr("<title>two runs</title>"));
  // Bad inputs: one line naming the file; an existing report is left alone.
  dir.write("x.json", "{\"a\": 1}");
  expect_error(
      run_cli(fmt::format("report '{}' --out '{}'", dir.file("x.json"), dir.file("r.html"))),
      "x.json: neither a prune nor a synth result");
  dir.write("y.json", "{");
  expect_error(
      run_cli(fmt::format("report '{}' --out '{}'", dir.file("y.json"), dir.file("r.html"))),
      "y.json: not valid JSON");
  EXPECT_THAT(read_file(dir.file("r.html")), HasSubstr("<title>two runs</title>"));
  expect_error(
      run_cli(fmt::format("report '{}' --out '{}'", dir.file("p.json"), dir.file("nodir/r.html"))),
      "does not exist");
}

}  // namespace
}  // namespace hwprune
