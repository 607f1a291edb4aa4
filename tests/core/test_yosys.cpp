// Yosys synthesis (rtl/synth.hpp) of small hand-written designs: the DSP threshold split of
// synth_xilinx, BRAM18 counting of block ROMs, per-module and total statistics, the UltraScale
// families, and the errors. Each Yosys run takes ~3 s; the designs are grouped to keep the
// file under ~30 s.
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/hw/hardware.hpp"
#include "hwprune/rtl/synth.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using rtl::SynthReport;
using rtl::SynthResources;
using test::error_of;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

// Registered signed multiplies: data a is 16 bits; the weight operand w is 16 or 8 bits.
// mul10x10_lut carries the explicit LUT mark (its width alone would take a DSP at threshold 9).
const char* kMultipliers = R"(
module mul16x16(input clk, input signed [15:0] a, input signed [15:0] w,
                output reg signed [31:0] y);
  always @(posedge clk) y <= a * w;
endmodule
module mul16x8(input clk, input signed [15:0] a, input signed [7:0] w,
               output reg signed [23:0] y);
  always @(posedge clk) y <= a * w;
endmodule
module mul10x10_lut(input clk, input signed [9:0] a, input signed [9:0] w,
                    output reg signed [19:0] y);
  always @(posedge clk) y <= a * (* hwprune_lut *) w;
endmodule
module muls(input clk, input signed [15:0] a, input signed [15:0] w16, input signed [7:0] w8,
            output signed [31:0] y16, output signed [23:0] y8, output signed [19:0] yl);
  mul16x16 u16(.clk(clk), .a(a), .w(w16), .y(y16));
  mul16x8 u8(.clk(clk), .a(a), .w(w8), .y(y8));
  mul10x10_lut ul(.clk(clk), .a(a[9:0]), .w(w16[9:0]), .y(yl));
endmodule
)";

// A registered ROM of depth 4 with rom_style "block" and pseudo-random contents (no constant
// bit column, so Yosys cannot trim its width).
std::string rom_module(const std::string& name, int width, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string init;
  for (int r = 0; r < 4; ++r) {
    std::string bits;
    for (int b = 0; b < width; ++b)
      bits += (r == 0 ? b % 2 : r == 1 ? 1 - b % 2 : rng() % 2) ? '1' : '0';
    init += fmt::format("    mem[{}] = {}'b{};\n", r, width, bits);
  }
  return fmt::format(R"(
module {0}(input clk, input [1:0] addr, output reg [{1}:0] q);
  (* rom_style = "block" *) reg [{1}:0] mem [0:3];
  initial begin
{2}  end
  always @(posedge clk) q <= mem[addr];
endmodule
)",
                     name, width - 1, init);
}

// rom72 once (one RAMB36: 2 BRAM18) and rom36 twice (one RAMB18 each).
std::string roms_design() {
  return rom_module("rom72", 72, 1) + rom_module("rom36", 36, 2) + R"(
module roms(input clk, input [1:0] a0, input [1:0] a1, input [1:0] a2,
            output [71:0] q0, output [35:0] q1, output [35:0] q2);
  rom72 r0(.clk(clk), .addr(a0), .q(q0));
  rom36 r1(.clk(clk), .addr(a1), .q(q1));
  rom36 r2(.clk(clk), .addr(a2), .q(q2));
endmodule
)";
}

bool have_yosys() {
  return std::system("yosys -V > /dev/null 2>&1") == 0;
}

#define REQUIRE_YOSYS() \
  if (!have_yosys()) GTEST_SKIP() << "yosys not installed (apt-get install yosys)"

hw::Device device(const std::string& family, int dsp_min_weight_bits = 9) {
  hw::Device d = hw::device_for_family(family);
  d.dsp_min_weight_bits = dsp_min_weight_bits;
  return d;
}

const SynthResources& module_of(const SynthReport& r, const std::string& name) {
  for (const auto& [n, res] : r.modules)
    if (n == name) return res;
  ADD_FAILURE() << "no module " << name;
  static const SynthResources none;
  return none;
}

// The per-module entries sum to the total, field by field and cell type by cell type.
void expect_sums_to_total(const SynthReport& r) {
  SynthResources sum;
  for (const auto& [name, res] : r.modules) {
    sum.dsp += res.dsp;
    sum.bram18 += res.bram18;
    sum.lut += res.lut;
    sum.ff += res.ff;
    sum.lut_memory += res.lut_memory;
    for (const auto& [type, n] : res.cells) sum.cells[type] += n;
  }
  EXPECT_EQ(sum.dsp, r.total.dsp);
  EXPECT_EQ(sum.bram18, r.total.bram18);
  EXPECT_EQ(sum.lut, r.total.lut);
  EXPECT_EQ(sum.ff, r.total.ff);
  EXPECT_EQ(sum.lut_memory, r.total.lut_memory);
  EXPECT_EQ(sum.cells, r.total.cells);
}

// No temporary file is left in the work folder.
void expect_no_temporaries(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_THAT(e.path().filename().string(), Not(HasSubstr(".tmp-")));
}

TEST(YosysScript, SplitsSynthXilinxAtMapDspAndKeepsHierarchy) {
  const std::string s = rtl::yosys_script("/x/net.v", "top", device("xcu", 9));
  EXPECT_THAT(s, HasSubstr("read_verilog \"/x/net.v\""));
  EXPECT_THAT(s,
              HasSubstr("synth_xilinx -family xcu -top top -noiopad -noclkbuf -run begin:map_dsp"));
  EXPECT_THAT(s, HasSubstr("chtype -set $__soft_mul t:$mul r:A_WIDTH<9 %i a:hwprune_dsp %d"));
  EXPECT_THAT(s, HasSubstr("chtype -set $__soft_mul t:$mul r:B_WIDTH<9 %i a:hwprune_dsp %d"));
  EXPECT_THAT(s, HasSubstr("-run map_dsp:map_memory"));
  // map_memory's own steps, the block RAMs' contents dropped before their techmap.
  EXPECT_THAT(s, HasSubstr("memory_libmap -logic-cost-rom 0.015625 -lib +/xilinx/lutrams_xcu.txt"));
  EXPECT_THAT(s, HasSubstr("setparam -set INIT 0 t:$__XILINX_BLOCKRAM_*\ntechmap -map "
                           "+/xilinx/brams_xcu_map.v"));
  EXPECT_THAT(s, HasSubstr("-run map_ffram:"));
  EXPECT_THAT(rtl::yosys_script("/x/net.v", "top", device("xc7", 9), rtl::SynthDepth::DspAndBram),
              Not(HasSubstr("map_ffram")));
  EXPECT_THAT(s, HasSubstr("stat -json -top top"));
  EXPECT_THAT(s, Not(HasSubstr("flatten")));
  const std::string flat = rtl::yosys_script("/x/net.v", "top", device("xc7", 9),
                                             rtl::SynthDepth::Full, rtl::SynthHierarchy::Flatten);
  EXPECT_THAT(flat, HasSubstr("-noclkbuf -flatten -run begin:map_dsp"));
  EXPECT_THAT(flat, HasSubstr("-noclkbuf -flatten -run map_ffram:\n"));
  EXPECT_THAT(rtl::yosys_script("a.v", "top", device("xc7", 12)), HasSubstr("r:B_WIDTH<12 %i"));
}

// The statistics parser on a hand-written `stat -json` with nesting and repeated instances.
// As in Yosys 0.23, module keys carry RTLIL's leading '\\' and cell types naming a module do
// not (the parser also accepts the '\\' there).
TEST(YosysStat, CountsEveryInstanceAndSumsToTheTotal) {
  const std::string json = R"({
    "creator": "Yosys 0.23",
    "modules": {
      "\\leaf": {"num_cells": 4, "num_cells_by_type": {"DSP48E1": 1, "LUT6": 2, "FDRE": 3}},
      "\\mid": {"num_cells": 3, "num_cells_by_type": {"leaf": 2, "RAMB36E1": 1, "SRLC32E": 5}},
      "\\top": {"num_cells": 4, "num_cells_by_type": {"mid": 3, "\\leaf": 1, "RAMB18E1": 1,
                                                      "LUT1": 1, "CARRY4": 2}}
    },
    "design": {"num_cells": 0}
  })";
  const SynthReport r = rtl::parse_stat_json(json, "top");
  ASSERT_EQ(r.modules.size(), 3u);
  EXPECT_EQ(r.modules[0].first, "top");
  // leaf: 3 * 2 + 1 = 7 instances; mid: 3.
  const SynthResources& leaf = module_of(r, "leaf");
  EXPECT_EQ(leaf.dsp, 7);
  EXPECT_EQ(leaf.lut, 14);
  EXPECT_EQ(leaf.ff, 21);
  const SynthResources& mid = module_of(r, "mid");
  EXPECT_EQ(mid.bram18, 6);
  EXPECT_EQ(mid.lut_memory, 15);
  EXPECT_EQ(module_of(r, "top").bram18, 1);
  EXPECT_EQ(module_of(r, "top").cells.at("CARRY4"), 2);
  EXPECT_EQ(r.total.dsp, 7);
  EXPECT_EQ(r.total.bram18, 7);
  EXPECT_EQ(r.total.lut, 15);
  EXPECT_EQ(r.total.ff, 21);
  expect_sums_to_total(r);
  // Subtrees, per instance: mid holds 2 leaves; top is the whole design.
  const SynthResources mid_tree = rtl::subtree_resources(r, "mid");
  EXPECT_EQ(mid_tree.dsp, 2);
  EXPECT_EQ(mid_tree.lut, 4);
  EXPECT_EQ(mid_tree.ff, 6);
  EXPECT_EQ(mid_tree.bram18, 2);
  EXPECT_EQ(mid_tree.lut_memory, 5);
  EXPECT_EQ(rtl::subtree_resources(r, "leaf").cells,
            (std::map<std::string, int64_t>{{"DSP48E1", 1}, {"LUT6", 2}, {"FDRE", 3}}));
  EXPECT_EQ(rtl::subtree_resources(r, "top").cells, r.total.cells);
  // Within modules named "lea": top's own leaf and mid's two per mid instance, nothing else.
  EXPECT_EQ(rtl::subtree_resources(r, "top", "lea").cells,
            (std::map<std::string, int64_t>{{"DSP48E1", 7}, {"LUT6", 14}, {"FDRE", 21}}));
  EXPECT_EQ(rtl::subtree_resources(r, "mid", "mid").cells, mid_tree.cells);  // all below a match
  EXPECT_TRUE(rtl::subtree_resources(r, "leaf", "mid").cells.empty());
  EXPECT_EQ(r.hierarchy.at("mid").instances, 3);
  EXPECT_THAT(error_of([&] { rtl::subtree_resources(r, "nosuch"); }),
              HasSubstr("no module \"nosuch\""));
  // Parametrised modules are found by their plain name when it is unique.
  const SynthReport p = rtl::parse_stat_json(R"({"modules": {
      "$paramod$1\\lane": {"num_cells_by_type": {"LUT2": 1}},
      "$paramod$2\\lane": {"num_cells_by_type": {"LUT3": 1}},
      "$paramod$3\\solo": {"num_cells_by_type": {"FDRE": 4}},
      "\\t": {"num_cells_by_type": {"$paramod$1\\lane": 2, "$paramod$2\\lane": 1,
                                     "$paramod$3\\solo": 1}}}})",
                                             "t");
  EXPECT_EQ(rtl::subtree_resources(p, "solo").ff, 4);
  EXPECT_EQ(rtl::subtree_resources(p, "t").lut, 3);
  EXPECT_THAT(error_of([&] { rtl::subtree_resources(p, "lane"); }),
              HasSubstr("several parametrised modules"));

  EXPECT_THAT(error_of([&] { rtl::parse_stat_json(json, "nosuch"); }), HasSubstr("nosuch"));
  EXPECT_THAT(error_of([&] { rtl::parse_stat_json("{\"modules\": ", "top"); }),
              HasSubstr("malformed"));
}

// Threshold 9: the 16x16 product takes one DSP48E1, the 8-bit weight product and the marked
// 10x10 product are LUTs; threshold 8: the 8-bit weight product takes a DSP too.
TEST(Yosys, NarrowWeightsUseLutsBelowTheThreshold) {
  REQUIRE_YOSYS();
  test::ScratchDir dir;
  const std::string v = dir.write("muls.v", kMultipliers);
  const fs::path work = dir.path() / "work dir";  // a space: the script quotes its paths

  const SynthReport r9 = rtl::synthesize(v, "muls", device("xc7", 9), work.string());
  EXPECT_EQ(r9.total.dsp, 1);
  EXPECT_EQ(r9.total.cells.at("DSP48E1"), 1);
  EXPECT_EQ(module_of(r9, "mul16x16").dsp, 1);
  EXPECT_EQ(module_of(r9, "mul16x8").dsp, 0);
  EXPECT_GT(module_of(r9, "mul16x8").lut, 50);
  EXPECT_EQ(module_of(r9, "mul16x8").ff, 24);  // the output register
  EXPECT_EQ(module_of(r9, "mul10x10_lut").dsp, 0);
  EXPECT_GT(module_of(r9, "mul10x10_lut").lut, 20);
  EXPECT_EQ(module_of(r9, "mul10x10_lut").ff, 20);
  ASSERT_EQ(r9.modules.size(), 4u);
  EXPECT_EQ(r9.modules[0].first, "muls");
  EXPECT_EQ(r9.modules[0].second.lut + r9.modules[0].second.dsp, 0);  // only instances
  expect_sums_to_total(r9);
  EXPECT_TRUE(fs::exists(r9.log_path));
  EXPECT_TRUE(fs::exists(r9.stat_path));
  EXPECT_TRUE(fs::exists(work / "synth_muls.ys"));
  EXPECT_THAT(r9.script, HasSubstr("r:B_WIDTH<9"));
  EXPECT_GT(r9.seconds, 0);
  expect_no_temporaries(work);

  const SynthReport r8 = rtl::synthesize(v, "muls", device("xc7", 8), work.string());
  EXPECT_EQ(r8.total.dsp, 2);
  EXPECT_EQ(module_of(r8, "mul16x8").dsp, 1);
  EXPECT_EQ(module_of(r8, "mul10x10_lut").dsp, 0);  // the mark wins over any threshold
  EXPECT_LT(r8.total.lut, r9.total.lut);
  expect_sums_to_total(r8);
}

// UltraScale and UltraScale+ map to DSP48E2, counted as DSP.
TEST(Yosys, UltraScaleFamiliesCountDsp48e2) {
  REQUIRE_YOSYS();
  test::ScratchDir dir;
  const std::string v = dir.write("muls.v", kMultipliers);
  for (const std::string family : {"xcu", "xcup"}) {
    SCOPED_TRACE(family);
    const SynthReport r = rtl::synthesize(v, "mul16x16", device(family, 9), dir.file(family));
    EXPECT_EQ(r.total.dsp, 1);
    EXPECT_EQ(r.total.cells.count("DSP48E2"), 1u);
    EXPECT_EQ(r.total.cells.count("DSP48E1"), 0u);
    ASSERT_EQ(r.modules.size(), 1u);
    EXPECT_EQ(r.modules[0].first, "mul16x16");
  }
}

// A 72-bit ROM is one RAMB36 (2 BRAM18), a 36-bit one a RAMB18; rom36 is instantiated twice.
TEST(Yosys, BlockRomsCountBram18) {
  REQUIRE_YOSYS();
  test::ScratchDir dir;
  const std::string v = dir.write("roms.v", roms_design());
  const SynthReport r = rtl::synthesize(v, "roms", device("xc7"), dir.file("work"));
  EXPECT_EQ(module_of(r, "rom72").bram18, 2);  // ceil(72 / 36)
  EXPECT_EQ(module_of(r, "rom72").cells.at("RAMB36E1"), 1);
  EXPECT_EQ(module_of(r, "rom36").bram18, 2);  // 2 instances x 1
  EXPECT_EQ(module_of(r, "rom36").cells.at("RAMB18E1"), 2);
  EXPECT_EQ(r.total.bram18, 4);
  EXPECT_EQ(r.total.bram18, r.total.cells.at("RAMB18E1") + 2 * r.total.cells.at("RAMB36E1"));
  EXPECT_EQ(r.total.dsp, 0);
  expect_sums_to_total(r);
}

TEST(Yosys, Errors) {
  REQUIRE_YOSYS();
  test::ScratchDir dir;
  const std::string good = dir.write("muls.v", kMultipliers);
  const std::string bad =
      dir.write("bad.v", "module bad(input a, output b);\n  assign b = a &;\nendmodule\n");
  const std::string work = dir.file("work");

  std::string msg = error_of([&] { rtl::synthesize(bad, "bad", device("xc7"), work); });
  EXPECT_THAT(msg, HasSubstr("yosys failed"));
  EXPECT_THAT(msg, HasSubstr("syntax error"));  // the log's last lines
  EXPECT_THAT(msg, HasSubstr("synth_bad.log"));
  EXPECT_FALSE(fs::exists(fs::path(work) / "bad_stat.json"));

  msg = error_of([&] { rtl::synthesize(good, "nosuch", device("xc7"), work); });
  EXPECT_THAT(msg, HasSubstr("Module `nosuch' not found"));
  expect_no_temporaries(work);

  hw::Device odd = device("xc7");
  odd.family = "xc9";
  msg = error_of([&] { rtl::synthesize(good, "muls", odd, work); });
  EXPECT_THAT(msg, HasSubstr("unknown FPGA family \"xc9\""));
  EXPECT_THAT(error_of([&] { rtl::yosys_script(good, "muls", odd); }), HasSubstr("xc9"));

  EXPECT_THAT(error_of([&] { rtl::synthesize(good, "a b", device("xc7"), work); }),
              HasSubstr("not a plain Verilog identifier"));
  EXPECT_THAT(error_of([&] { rtl::synthesize(dir.file("none.v"), "m", device("xc7"), work); }),
              HasSubstr("no such Verilog file"));
}

TEST(Yosys, MissingYosysNamesTheInstallCommand) {
  test::ScratchDir dir;
  const std::string v = dir.write("muls.v", kMultipliers);
  const char* old = std::getenv("HWPRUNE_YOSYS");
  const std::string saved = old ? old : "";
  ::setenv("HWPRUNE_YOSYS", "/nonexistent/yosys", 1);
  const std::string msg =
      error_of([&] { rtl::synthesize(v, "muls", device("xc7"), dir.file("work")); });
  if (old)
    ::setenv("HWPRUNE_YOSYS", saved.c_str(), 1);
  else
    ::unsetenv("HWPRUNE_YOSYS");
  EXPECT_THAT(msg, HasSubstr("apt-get install yosys"));
  EXPECT_THAT(msg, HasSubstr("/nonexistent/yosys"));
}

}  // namespace
}  // namespace hwprune
