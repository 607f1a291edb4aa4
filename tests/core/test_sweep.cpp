// Sweep files: expansion of base, grid and list into points with stable ids and labels, the
// command-line words of a point, one-line errors naming the file and key, the batch script,
// the results CSV; and the report's Pareto front.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/report/report.hpp"
#include "hwprune/sweep/results.hpp"
#include "hwprune/sweep/run.hpp"
#include "hwprune/sweep/spec.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

sweep::Spec spec_of(const test::ScratchDir& dir, const std::string& yaml) {
  return sweep::load_spec(dir.write("s.yml", yaml));
}

std::string spec_error(const std::string& yaml) {
  test::ScratchDir dir;
  const std::string path = dir.write("bad.yml", yaml);
  const std::string msg = test::error_of([&] { sweep::load_spec(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  return msg;
}

TEST(SweepSpec, GridExpandsLastAxisFastestOverTheBaseThenListedPoints) {
  test::ScratchDir dir;
  const sweep::Spec s = spec_of(dir,
                                "base: {model: m.hwp, data: letter, seed: 1, local: false}\n"
                                "grid:\n  rf: [1, 2]\n  final-sparsity: [0.5, 0.8]\n"
                                "points:\n  - {rf: 4, objective: dsp-bram}\n");
  ASSERT_EQ(s.points.size(), 5u);
  EXPECT_EQ(s.points[0].options, json({{"model", "m.hwp"},
                                       {"data", "letter"},
                                       {"seed", 1},
                                       {"rf", 1},
                                       {"final-sparsity", 0.5}}));
  EXPECT_EQ(s.points[1].options["final-sparsity"], 0.8);
  EXPECT_EQ(s.points[2].options["rf"], 2);
  EXPECT_EQ(s.points[4].options["objective"], "dsp-bram");
  EXPECT_FALSE(s.points[4].options.contains("final-sparsity"));
  EXPECT_THAT(s.axes, ElementsAre("rf", "final-sparsity", "objective"));
  EXPECT_EQ(s.points[0].label, "rf=1 final-sparsity=0.5 objective=-");
  EXPECT_EQ(s.points[4].label, "rf=4 final-sparsity=- objective=dsp-bram");
  EXPECT_EQ(s.dir, dir.file("s.sweep"));
  EXPECT_EQ(s.base_dir, std::filesystem::path(dir.file("s.yml")).parent_path().string());
  // Ids: stable for the same options, different for different ones.
  const sweep::Spec again = spec_of(dir,
                                    "grid: {final-sparsity: [0.5], rf: [1]}\n"
                                    "base: {seed: 1, data: letter, model: m.hwp}\n");
  EXPECT_EQ(again.points[0].id, s.points[0].id);
  for (size_t i = 0; i < s.points.size(); ++i)
    for (size_t j = i + 1; j < s.points.size(); ++j) EXPECT_NE(s.points[i].id, s.points[j].id);
  EXPECT_EQ(s.points[0].id.size(), 12u);
}

TEST(SweepSpec, OptionWordsFollowTheCommandLine) {
  const json o = {{"rf", 2},
                  {"local", true},
                  {"rtol", 0.985},
                  {"data", "csv:a b.csv,label=y"},
                  {"alpha-candidates", {1e-5, 0.001}}};
  EXPECT_THAT(sweep::option_words(o),
              ElementsAre("--alpha-candidates", "1e-05", "0.001", "--data", "csv:a b.csv,label=y",
                          "--local", "--rf", "2", "--rtol", "0.985"));
  test::ScratchDir dir;
  const sweep::Spec s = spec_of(dir, "base: {model: m, rf: \"2\", threads: 2}\n");
  EXPECT_EQ(s.points[0].options["rf"], "2");  // quoted: text, as typed
  EXPECT_EQ(sweep::point_threads(s.points[0]), 2);
}

TEST(SweepSpec, ErrorsNameTheFileAndTheKey) {
  EXPECT_THAT(spec_error("base: {model: m}\nexecuter: local\n"),
              HasSubstr("unknown key 'executer' (known: dir, executor"));
  EXPECT_THAT(spec_error("base: {model: m, out: x.hwp}\n"),
              HasSubstr("base: option 'out' is set by the sweep"));
  EXPECT_THAT(spec_error("base: {model: m}\ngrid: {rf: []}\n"), HasSubstr("grid.rf: no values"));
  EXPECT_THAT(spec_error("grid: {rf: [1, 1]}\n"), HasSubstr("point 1: same options as point 0"));
  EXPECT_THAT(spec_error("base: {model: m}\nexecutor: pbs\n"),
              HasSubstr("unknown executor \"pbs\" (known: local, slurm)"));
  EXPECT_THAT(spec_error("base: [1, 2\n"), HasSubstr("not valid YAML (line"));
  EXPECT_THAT(spec_error("dir: x\n"), HasSubstr("no points"));
  EXPECT_THAT(spec_error("base: {model: m}\nslurm: {throttle: -1}\n"),
              HasSubstr("slurm.throttle: expected a whole number >= 0"));
  EXPECT_THAT(spec_error("base: {model: m}\nslurm: {partition: \"a b\"}\n"),
              HasSubstr("slurm.partition: \"a b\": no spaces or quotes"));
  EXPECT_THAT(spec_error("base: {\"rf x\": 1}\n"), HasSubstr("\"rf x\" is not an option name"));
}

TEST(SweepSpec, BatchScriptRunsOnePointPerArrayTask) {
  test::ScratchDir dir;
  const sweep::Spec s = spec_of(dir,
                                "base: {model: m.hwp, data: letter, threads: 2}\n"
                                "grid: {rf: [1, 2, 4]}\n"
                                "slurm: {partition: gpu, account: proj, time: \"01:00:00\", "
                                "throttle: 2, sbatch: [\"--mem=4G\"]}\n");
  const std::string script =
      sweep::batch_script(s, s.points, {"/bin/hwprune", "sweep", s.path, "--point"});
  EXPECT_THAT(script, HasSubstr("#SBATCH --array=0-2%2\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --partition=gpu\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --account=proj\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --time=01:00:00\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --mem=4G\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --cpus-per-task=2\n"));  // the points' threads
  EXPECT_THAT(script, HasSubstr("#SBATCH --chdir=" + s.base_dir + "\n"));
  EXPECT_THAT(script, HasSubstr("ids=(" + s.points[0].id + " " + s.points[1].id + " " +
                                s.points[2].id + ")"));
  EXPECT_THAT(script, HasSubstr("'--point' \"$id\" >> '" + s.dir + "/points'/\"$id\".log 2>&1"));
}

TEST(SweepResults, StatesComeFromThePointsFilesAndTheCsvQuotes) {
  test::ScratchDir dir;
  const sweep::Spec s = spec_of(dir, "base: {model: m.hwp}\ngrid: {rf: [1, 2, 4]}\n");
  std::filesystem::create_directories(s.dir + "/points");
  const auto f0 = sweep::point_files(s, s.points[0]), f1 = sweep::point_files(s, s.points[1]);
  write_file_atomic(f0.result, json({{"metric", "accuracy"},
                                     {"baseline_val", 0.9},
                                     {"final_val", 0.89},
                                     {"final_sparsity", 0.5},
                                     {"total",
                                      {{"baseline", {{"dsp", 100}, {"bram18", 2}}},
                                       {"final", {{"dsp", 40}, {"bram18", 1}}}}},
                                     {"wall_seconds", 3.5}})
                                   .dump());
  write_file_atomic(f1.error, "point x: bad \"thing\", really\n");
  EXPECT_EQ(sweep::point_status(s, s.points[0]).state, sweep::State::Done);
  EXPECT_EQ(sweep::point_status(s, s.points[1]).state, sweep::State::Failed);
  EXPECT_EQ(sweep::point_status(s, s.points[1]).error, "point x: bad \"thing\", really");
  EXPECT_EQ(sweep::point_status(s, s.points[2]).state, sweep::State::Missing);
  EXPECT_EQ(sweep::unfinished(s, false).size(), 1u);
  EXPECT_EQ(sweep::unfinished(s, true).size(), 2u);
  const auto rows = sweep::result_rows(s);
  EXPECT_EQ(rows[0]["dsp_after"], 40);
  EXPECT_EQ(rows[0]["val_after"], 0.89);
  const std::string csv = sweep::results_csv(s, rows);
  EXPECT_THAT(csv, HasSubstr("id,state,rf,metric,val_before,val_after"));
  EXPECT_THAT(csv, HasSubstr(s.points[0].id + ",done,1,accuracy,0.9,0.89,"));
  EXPECT_THAT(csv, HasSubstr(",\"point x: bad \"\"thing\"\", really\"\n"));
}

TEST(Report, ParetoFrontKeepsThePointsNothingBeats) {
  // cost, accuracy: (5, .9) (3, .8) (3, .85) (4, .85) (1, .5) (6, .9)
  const std::vector<double> cost{5, 3, 3, 4, 1, 6}, acc{.9, .8, .85, .85, .5, .9};
  EXPECT_THAT(report::pareto_front(cost, acc, true), ElementsAre(4, 2, 0));
  // Lower is better (a loss): (1, .5) is best at every cost.
  EXPECT_THAT(report::pareto_front(cost, acc, false), ElementsAre(4));
  EXPECT_TRUE(report::pareto_front({}, {}, true).empty());
}

TEST(Report, APageInlinesTheLibrariesAndNeverEndsAScriptEarly) {
  report::Inputs in;
  in.version = "9.9";
  json prune = {{"metric", "accuracy"},
                {"dimensions", {"DSP"}},
                {"baseline_resources", {{"DSP", 100}}},
                {"baseline_val", 0.9},
                {"final_val", 0.88},
                {"objective", "dsp"},
                {"config", {{"rf", 2}, {"data", "</script><b>x"}}},
                {"steps", json::array({{{"step", 0},
                                        {"target_sparsity", 0},
                                        {"resources", {{"DSP", 100}}},
                                        {"val_metric", 0.9},
                                        {"accepted", true},
                                        {"action", "baseline"}},
                                       {{"step", 1},
                                        {"target_sparsity", 0.5},
                                        {"resources", {{"DSP", 50}}},
                                        {"val_metric", 0.88},
                                        {"accepted", true},
                                        {"action", "accepted"}}})},
                {"layers",
                 {{"baseline", json::array({{{"name", "fc1"}, {"dsp", 100}}})},
                  {"final", json::array({{{"name", "fc1"}, {"dsp", 50}}})}}}};
  in.runs.push_back({"r</script>.json", prune, nullptr});
  const auto charts = report::charts(in);
  std::vector<std::string> ids;
  for (const auto& c : charts) ids.push_back(c.id);
  EXPECT_THAT(ids, ElementsAre("run-0-steps", "run-0-front-0", "run-0-layers"));
  const std::string page = report::html(in);
  EXPECT_THAT(page, HasSubstr("vegaEmbed"));
  EXPECT_THAT(page, HasSubstr(report::library_versions()["vega-lite"].get<std::string>()));
  // Only the page's own script elements end: one per inlined library, the chart data, the
  // renderer.
  size_t ends = 0;
  for (size_t at = page.find("</script"); at != std::string::npos;
       at = page.find("</script", at + 1))
    ++ends;
  EXPECT_EQ(ends, 5u);
  EXPECT_THAT(page, HasSubstr("&lt;b&gt;x"));  // names from results are escaped
  EXPECT_THROW(report::charts(report::Inputs{}), Error);
}

}  // namespace
}  // namespace hwprune
