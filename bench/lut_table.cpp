// Measures the LUT multiplier table of hw/lut_costs.hpp with Yosys and writes it as C++
// (src/hw/lut_table.inc): every variable-weight product of 1..12 x 1..24 signed bits and every
// odd constant of 1..8 signed bits times 1..24-bit inputs, each synthesised as its own module
// (rtl/lut_products.hpp), one Yosys run per input width and kind, `--jobs` at a time. About
// 40 min of Yosys on one core. The variable-weight modules are synthesised out of context
// (rtl/synth.hpp), each in a Yosys run of its own, as every design synthesises them.
// --keep-constants measures only the variable-weight products and copies the constants' rows
// from the table compiled in (about 18 min on one core).
//
//   build/bench/lut_table --out src/hw/lut_table.inc [--family xc7] [--jobs 2]
//                         [--work /tmp/hwprune-lut-table] [--keep-constants]
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "hwprune/hw/lut_costs.hpp"
#include "hwprune/rtl/lut_products.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

using namespace hwprune;

namespace {

std::string yosys_version() {
  std::string out;
  if (FILE* p = popen("yosys -V 2>/dev/null", "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

// One Yosys run: the shapes of one kind at one input width.
struct Job {
  std::vector<rtl::ProductShape> shapes;
  std::vector<int64_t> luts;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measure hwprune's LUT multiplier table with Yosys"};
  std::string out, family = "xc7", work = "/tmp/hwprune-lut-table";
  int jobs = 2;
  bool keep_constants = false;
  app.add_option("--out", out, "the C++ table to write (src/hw/lut_table.inc)")->required();
  app.add_option("--family", family, "FPGA family the table is measured on");
  app.add_option("--jobs", jobs, "Yosys runs at a time")->check(CLI::Range(1, 64));
  app.add_option("--work", work, "folder for the Yosys runs");
  app.add_flag("--keep-constants", keep_constants,
               "measure the variable-weight products only; constants from the compiled table");
  CLI11_PARSE(app, argc, argv);
  try {
    const hw::Device device = hw::device_for_family(family);
    std::vector<Job> all;
    const int64_t half = int64_t{1} << (hw::kLutConstantBits - 1);
    for (int x = 1; x <= hw::kLutInputBits; ++x) {
      Job v, c;
      for (int w = 1; w <= hw::kLutWeightBits; ++w) v.shapes.push_back(rtl::variable_product(w, x));
      for (int64_t k = -half + 1; k < half; k += 2) c.shapes.push_back(rtl::constant_product(k, x));
      all.push_back(std::move(v));
      if (keep_constants)
        for (const rtl::ProductShape& k : c.shapes)
          c.luts.push_back(hw::lut_constant_multiplier(k.value, x));
      all.push_back(std::move(c));
    }
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::string failure;
    auto worker = [&] {
      for (size_t j; (j = next++) < all.size();) {
        if (!all[j].luts.empty()) continue;  // kept from the compiled table
        try {
          all[j].luts =
              rtl::measure_product_luts(all[j].shapes, device, fmt::format("{}/run{}", work, j));
          std::lock_guard lock(mu);
          fmt::print(stderr, "run {}/{} done\n", j + 1, all.size());
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          failure = e.what();
          next = all.size();
        }
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < jobs; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    if (!failure.empty()) throw Error(failure);

    std::string text = fmt::format(
        "// LUTs of hwprune's LUT multiplier modules (rtl/lut_products.hpp), measured with\n"
        "// Yosys ({}) synth_xilinx -family {} by bench/lut_table.cpp. Do not edit: rerun\n"
        "//   build/bench/lut_table --out src/hw/lut_table.inc --family {}\n",
        yosys_version(), family, family);
    auto table = [&](const char* name, size_t rows, bool constant) {
      text +=
          fmt::format("inline constexpr int32_t {}[{}][{}] = {{\n", name, rows, hw::kLutInputBits);
      for (size_t r = 0; r < rows; ++r) {
        text += "    {";
        for (int x = 1; x <= hw::kLutInputBits; ++x) {
          const Job& j = all[static_cast<size_t>(2 * (x - 1) + (constant ? 1 : 0))];
          text += fmt::format("{}{}", x > 1 ? ", " : "", j.luts[r]);
        }
        text += r + 1 < rows ? "},\n" : "}};\n";
      }
    };
    text += "// kVariableLuts[weight bits - 1][input bits - 1]\n";
    table("kVariableLuts", static_cast<size_t>(hw::kLutWeightBits), false);
    text += "// kConstantLuts[(odd constant + 2^7 - 1) / 2][input bits - 1]\n";
    table("kConstantLuts", static_cast<size_t>(half), true);
    write_file_atomic(out, text);
    fmt::print("wrote {}\n", out);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "lut_table: {}\n", e.what());
    return 1;
  }
}
