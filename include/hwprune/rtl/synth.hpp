// Synthesis of generated Verilog with Yosys (synth_xilinx) and the resources it reports.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hwprune/hw/hardware.hpp"

namespace hwprune::rtl {

struct SynthResources {
  int64_t dsp = 0;         // DSP48E1 (xc7) / DSP48E2 (xcu, xcup) cells
  int64_t bram18 = 0;      // RAMB18E1/E2 + 2 * RAMB36E1/E2
  int64_t lut = 0;         // LUT1..LUT6 (logic LUTs only)
  int64_t ff = 0;          // FDRE/FDSE/FDCE/FDPE
  int64_t lut_memory = 0;  // LUTs used as memory: SRL16E/SRLC32E/... and RAM32M/RAM64X1D/...
  std::map<std::string, int64_t> cells;  // every cell type Yosys left, with its count
};

// One module of the synthesised hierarchy.
struct SynthModule {
  SynthResources own;  // the cells of one instance, its submodules excluded
  std::vector<std::pair<std::string, int64_t>> children;  // submodule, instances in one instance
  int64_t instances = 0;                                  // instances below (and including) top
};

struct SynthReport {
  // The whole hierarchy below `top` (every instance counted).
  SynthResources total;
  // One entry per module of the hierarchy (top first, then depth-first), named as Yosys names
  // it without the leading '\' (parametrised modules keep Yosys's "$paramod$<hash>\name").
  // Each entry holds the module's own cells (not its submodules') times the number of its
  // instances in the design, so the entries sum to `total`.
  std::vector<std::pair<std::string, SynthResources>> modules;
  // The same modules by name, with their submodule instances (subtree_resources).
  std::map<std::string, SynthModule> hierarchy;
  std::string script;     // the Yosys script that ran
  std::string log_path;   // full Yosys log (kept on failure too)
  std::string stat_path;  // Yosys's `stat -json -top` output
  double seconds = 0;     // wall time of the Yosys run
};

// The Yosys script for `top` in `verilog_path` on `device.family` (xc7, xcu or xcup). It runs
// synth_xilinx out of context (-noiopad -noclkbuf), hierarchy kept unless `hierarchy` says
// Flatten, split at map_dsp: between the two halves every $mul whose narrower operand has fewer
// than device.dsp_min_weight_bits bits is retyped to $__soft_mul, which mul2dsp leaves alone and
// synth_xilinx builds from LUTs. The generator gives weight operands the weight type's width
// and data operands the data width, so with data at least as wide as the weights this is the
// estimator's rule "a weight narrower than dsp_min_weight_bits uses no DSP" (8-bit weights x
// 16-bit data: LUTs at threshold 9; 16-bit weights: DSP). The widths are those Yosys sees
// after `wreduce`: a constant operand counts with its minimal two's-complement width.
// Explicit marks override the width rule: `a * (* hwprune_lut *) w` always uses LUTs and
// `a * (* hwprune_dsp *) w` is never retyped (mul2dsp still leaves products under 9 output
// bits to LUTs). synth_xilinx's map_memory step is run by the script itself, with the same
// commands, except that the block RAM cells lose their contents (INIT) before they are mapped:
// that changes no count and saves ~0.3 s per block RAM (the script counts resources; its
// netlist is not a bitstream's). The script ends with
// `tee -q -o <top>_stat.json stat -json -top <top>`, relative to the folder Yosys runs in.
// See ../shared/notes/toolchain.md.
// Error for an unknown family or a `top` that is not a plain Verilog identifier.
// How far synth_xilinx runs: the whole flow, or only until DSPs and block RAMs are mapped
// (stops after map_memory, before map_ffram: no LUT or FF counts; about half the time of
// the whole flow on the test matrix, for checks of DSP/BRAM18 counts).
enum class SynthDepth { Full, DspAndBram };
// Keep: every module is synthesised once and counted per instance (what the generator's
// shared lane and sum modules are for). Flatten: synth_xilinx -flatten, which inlines every
// module not marked (* keep_hierarchy *) (to check what module boundaries change).
enum class SynthHierarchy { Keep, Flatten };

// `mapped`: netlists Yosys wrote of modules synthesised out of context (see synthesize), read
// after the source with `read_verilog -overwrite` so they replace those modules' source.
std::string yosys_script(const std::string& verilog_path, const std::string& top,
                         const hw::Device& device, SynthDepth depth = SynthDepth::Full,
                         SynthHierarchy hierarchy = SynthHierarchy::Keep,
                         const std::vector<std::string>& mapped = {});

// A module of the source marked `(* hwprune_ooc *)` right before its `module` keyword: its
// name and its text from the mark to its `endmodule`.
struct OutOfContextModule {
  std::string name;
  std::string text;
};
// The marked modules of a Verilog text, in order. Error naming the line if a mark does not
// stand before a module or the module has no `endmodule`.
std::vector<OutOfContextModule> out_of_context_modules(const std::string& verilog);

// Parses the output of `stat -json -top <top>` (Yosys 0.23) into total and per-module
// resources (see SynthReport; script/log/stat paths are left empty). Error if the JSON is
// malformed or has no module `top`.
SynthReport parse_stat_json(const std::string& json_text, const std::string& top);

// The resources of one instance of `module` with everything below it: its own cells plus
// every submodule's, times its instances in `module` (a layer module with its lane and sum
// modules).
// `module` is a name of `report.hierarchy`, or the plain name of exactly one parametrised
// module ("$paramod$<hash>\name"). Error if it names none, or several.
// With `within`, only the cells of the subtree's modules whose name contains it (and of their
// submodules) count: "lutmul_" gives a layer's LUT multipliers.
SynthResources subtree_resources(const SynthReport& report, const std::string& module,
                                 std::string_view within = {});

// Writes the script to `work_dir` (created if missing) as synth_<top>.ys and runs
// `yosys -q -l synth_<top>.log -s synth_<top>.ys` there; the statistics land in
// <top>_stat.json. The script is written atomically, the log under a temporary name renamed
// when Yosys exits, and the statistics (written by Yosys's last command) are removed first and
// again if Yosys fails, so no half-written or stale file is left behind. Two concurrent runs
// must not share `work_dir` and `top`. The program is $HWPRUNE_YOSYS if set, else `yosys` on
// PATH. Error if yosys is missing ("apt-get install yosys"), if the Verilog file does not
// exist, for an unknown family, or if Yosys fails (with the log's last lines).
// With SynthDepth::Full, every module marked (* hwprune_ooc *) is first synthesised out of
// context: alone, in a Yosys run of its own (the same script, the module as top, in
// `work_dir` as ooc_<name>.v), and its mapped netlist (ooc_<name>_mapped.v) replaces its
// source in the design's run. Such a module then costs the same cells in every design, and
// what the LUT table measured (rtl/lut_products.hpp marks the variable-weight LUT multipliers):
// in context ABC maps identical module text to up to 20% more or fewer LUTs, depending on the
// rest of the design. `seconds` includes these runs.
SynthReport synthesize(const std::string& verilog_path, const std::string& top,
                       const hw::Device& device, const std::string& work_dir,
                       SynthDepth depth = SynthDepth::Full,
                       SynthHierarchy hierarchy = SynthHierarchy::Keep);

}  // namespace hwprune::rtl
