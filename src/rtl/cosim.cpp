// Verilator co-simulation of a generated design against expected (integer model) outputs.
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hwprune/rtl/verilog.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::rtl {

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) throw Error(fmt::format("cannot write {}", p.string()));
}

bool on_path(const std::string& exe) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::error_code ec;
    if (!dir.empty() && fs::exists(fs::path(dir) / exe, ec)) return true;
  }
  return false;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The first `n` non-empty lines of `text`, each cut to 300 characters, joined by " | ".
std::string first_lines(const std::string& text, int n) {
  std::string out;
  std::stringstream ss(text);
  std::string line;
  for (int k = 0; k < n && std::getline(ss, line);) {
    if (line.empty()) continue;
    if (line.size() > 300) line = line.substr(0, 300) + "...";
    out += (out.empty() ? "" : " | ") + line;
    ++k;
  }
  return out;
}

std::string harness(const VerilogDesign& d) {
  const std::string cls = "V" + d.top;
  const int64_t pv = d.pixel_values;
  const int64_t xw = pv * d.input_width, yw = d.n_out * d.output_width;
  std::string s = fmt::format(
      "// Generated Verilator harness (hwprune cosimulate).\n"
      "#include <cstdint>\n#include <cstdio>\n#include <cstdlib>\n#include <vector>\n"
      "#include \"verilated.h\"\n#include \"{0}.h\"\n"
      "static uint64_t mask(int w) {{ return w >= 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1; }}\n"
      "int main(int argc, char** argv) {{\n"
      "  if (argc < 3) return 2;\n"
      "  const int stall = argc > 3 ? std::atoi(argv[3]) : 0;\n"
      "  FILE* in = std::fopen(argv[1], \"r\");\n  FILE* out = std::fopen(argv[2], \"w\");\n"
      "  if (!in || !out) return 2;\n"
      "  long n = 0;\n  if (std::fscanf(in, \"%ld\", &n) != 1) return 3;\n"
      "  std::vector<long long> x(size_t(n) * {1});\n"
      "  for (auto& e : x) if (std::fscanf(in, \"%lld\", &e) != 1) return 3;\n"
      "  VerilatedContext ctx;\n  {0}* top = new {0}{{&ctx}};\n"
      "  top->clk = 0; top->rst = 1; top->start = 0; top->eval();\n"
      "  for (int k = 0; k < 3; ++k) {{ top->clk = 1; top->eval(); top->clk = 0; top->eval(); }}\n"
      "  top->rst = 0; top->eval();\n"
      "  long cycle = 0, next = 0, done = 0, pix = 0;\n"
      "  const long npix = {1} / {3};\n"
      "  uint32_t lcg = 12345u;\n"
      "  const long limit = ((n + 4) * {2} + 10000) * 4;\n"
      "  while (done < n && cycle < limit) {{\n"
      "    top->clk = 0;\n"
      "    lcg = lcg * 1103515245u + 12345u;\n"
      "    const bool offer = next < n && !(stall > 0 && int((lcg >> 16) % 100u) < stall);\n"
      "    if (offer && top->ready) {{\n"
      "      top->start = 1;\n",
      cls, d.n_in, d.latency + d.interval + 2, pv);
  s += fmt::format(
      "      for (int k = 0; k < {}; ++k) {{\n        const uint64_t v = uint64_t(x[size_t(next) * "
      "{} + size_t(pix) * {} + k]);\n",
      pv, d.n_in, pv);
  // Element k at bits [k*Wi, (k+1)*Wi).
  s += "        const int lo = k * " + std::to_string(d.input_width) + ";\n";
  if (xw <= 64)
    s += fmt::format(
        "        uint64_t cur = top->x; cur &= ~(mask({0}) << lo); cur |= (v & mask({0})) << lo; "
        "top->x = cur;\n",
        d.input_width);
  else
    s += fmt::format(
        "        for (int b = 0; b < {}; ++b) {{ const int p = lo + b; uint32_t& word = top->x[p / "
        "32]; word = (word & ~(1u << (p % 32))) | (uint32_t((v >> b) & 1u) << (p % 32)); }}\n",
        d.input_width);
  s += "      }\n"
       "      if (pix == 0) std::fprintf(out, \"S %ld\\n\", cycle);\n"
       "      if (++pix == npix) { pix = 0; ++next; }\n"
       "    } else {\n      top->start = 0;\n    }\n"
       "    top->eval();\n    top->clk = 1;\n    top->eval();\n    ++cycle;\n"
       "    if (top->done) {\n      std::fprintf(out, \"D %ld\", cycle);\n"
       "      uint64_t v = 0;\n";
  s += fmt::format("      for (int k = 0; k < {}; ++k) {{\n        const int lo = k * {};\n",
                   d.n_out, d.output_width);
  if (yw <= 64)
    s += fmt::format("        v = (uint64_t(top->y) >> lo) & mask({});\n", d.output_width);
  else
    s += fmt::format(
        "        v = 0; for (int b = 0; b < {}; ++b) {{ const int p = lo + b; v |= "
        "uint64_t((top->y[p / 32] >> (p % 32)) & 1u) << b; }}\n",
        d.output_width);
  if (d.output_signed)
    s += fmt::format("        if ((v >> {0}) & 1u) v |= ~mask({1});\n", d.output_width - 1,
                     d.output_width);
  s += "        std::fprintf(out, \" %lld\", (long long)v);\n      }\n"
       "      std::fprintf(out, \"\\n\");\n      ++done;\n    }\n  }\n"
       "  top->final();\n  delete top;\n  std::fclose(out);\n  std::fclose(in);\n"
       "  return done == n ? 0 : 4;\n}\n";
  return s;
}

}  // namespace

CosimResult cosimulate(const VerilogDesign& design, const std::vector<std::vector<int64_t>>& inputs,
                       const std::vector<std::vector<int64_t>>& expected,
                       const std::string& work_dir, int stall_percent) {
  if (stall_percent < 0 || stall_percent > 90)
    throw Error(fmt::format("cosimulate: stall percent must be in [0, 90], got {}", stall_percent));
  if (design.top.empty() || design.n_in <= 0 || design.pixel_values <= 0 ||
      design.n_in % design.pixel_values != 0)
    throw Error("cosimulate: the design carries no top module (use generate_verilog)");
  if (inputs.size() != expected.size())
    throw Error(fmt::format("cosimulate: {} input vectors but {} expected output vectors",
                            inputs.size(), expected.size()));
  for (size_t s = 0; s < inputs.size(); ++s) {
    if (static_cast<int64_t>(inputs[s].size()) != design.n_in)
      throw Error(fmt::format("cosimulate: input {} has {} values, the design takes {}", s,
                              inputs[s].size(), design.n_in));
    if (static_cast<int64_t>(expected[s].size()) != design.n_out)
      throw Error(fmt::format("cosimulate: expected output {} has {} values, the design gives {}",
                              s, expected[s].size(), design.n_out));
  }
  if (!on_path("verilator"))
    throw Error(
        "cosimulate: verilator is not installed (on Debian/Ubuntu: apt-get install verilator)");
  const fs::path dir = fs::absolute(work_dir);
  fs::create_directories(dir);
  const std::string tb = harness(design);
  const std::string vfile = design.top + ".v";
  const fs::path exe = dir / "obj_dir" / "sim";
  const std::string stamp = design.verilog + "\n//--harness--\n" + tb;
  CosimResult r;
  std::error_code ec;
  if (!(fs::exists(exe, ec) && fs::exists(dir / "build.stamp", ec) &&
        read_text(dir / "build.stamp") == stamp)) {
    fs::remove(dir / "build.stamp", ec);
    write_text(dir / vfile, design.verilog);
    write_text(dir / "tb.cpp", tb);
    // -Wall lint warnings do not stop the build; they are returned in CosimResult::warnings.
    const std::string cmd = fmt::format(
        "cd {} && verilator --cc --exe --build -j 2 -Wall -Wno-fatal -Wno-DECLFILENAME "
        "--max-num-width 16777216 "
        "--top-module {} -Mdir obj_dir -o sim {} tb.cpp > build.log 2>&1",
        shell_quote(dir.string()), design.top, vfile);
    const int rc = std::system(cmd.c_str());
    const std::string log = read_text(dir / "build.log");
    if (rc != 0 || !fs::exists(exe, ec))
      throw Error(fmt::format("cosimulate: the Verilator build in {} failed: {}", dir.string(),
                              first_lines(log, 6)));
    std::stringstream ss(log);
    std::string line;
    while (std::getline(ss, line))
      if (line.rfind("%Warning", 0) == 0) r.warnings += line + "\n";
    write_text(dir / "build.stamp", stamp);
    r.rebuilt = true;
  }
  {
    std::string in = fmt::format("{}\n", inputs.size());
    for (const auto& v : inputs) {
      for (size_t k = 0; k < v.size(); ++k) in += fmt::format("{}{}", k ? " " : "", v[k]);
      in += '\n';
    }
    write_text(dir / "inputs.txt", in);
    std::string ex;
    for (const auto& v : expected) {
      for (size_t k = 0; k < v.size(); ++k) ex += fmt::format("{}{}", k ? " " : "", v[k]);
      ex += '\n';
    }
    write_text(dir / "expected.txt", ex);
  }
  const std::string run =
      fmt::format("cd {} && obj_dir/sim inputs.txt outputs.txt {} > sim.log 2>&1",
                  shell_quote(dir.string()), stall_percent);
  const int rc = std::system(run.c_str());
  std::vector<int64_t> starts;
  std::vector<std::pair<int64_t, std::vector<int64_t>>> dones;
  {
    std::ifstream out(dir / "outputs.txt");
    std::string line;
    while (std::getline(out, line)) {
      std::stringstream ls(line);
      char tag = 0;
      int64_t cycle = 0;
      ls >> tag >> cycle;
      if (tag == 'S') {
        starts.push_back(cycle);
      } else if (tag == 'D') {
        std::vector<int64_t> y;
        int64_t v = 0;
        while (ls >> v) y.push_back(v);
        dones.emplace_back(cycle, std::move(y));
      }
    }
  }
  if (rc != 0 || dones.size() != inputs.size())
    throw Error(fmt::format(
        "cosimulate: the simulation in {} gave {} outputs for {} inputs (exit status {}): {}",
        dir.string(), dones.size(), inputs.size(), rc, first_lines(read_text(dir / "sim.log"), 4)));
  r.samples = static_cast<int64_t>(inputs.size());
  for (size_t s = 0; s < dones.size(); ++s) {
    const auto& y = dones[s].second;
    for (size_t o = 0; o < expected[s].size(); ++o) {
      const int64_t got = o < y.size() ? y[o] : 0;
      if (o >= y.size() || got != expected[s][o]) {
        ++r.mismatches;
        if (r.first_mismatch.empty())
          r.first_mismatch =
              fmt::format("sample {} output {}: rtl {}, model {}", s, o, got, expected[s][o]);
        break;
      }
    }
    const int64_t lat = dones[s].first - starts[s];
    r.latency = std::max(r.latency, lat);
    r.min_latency = s == 0 ? lat : std::min(r.min_latency, lat);
  }
  for (size_t s = 1; s < starts.size(); ++s) {
    const int64_t gap = starts[s] - starts[s - 1];
    r.interval = s == 1 ? gap : std::min(r.interval, gap);
  }
  return r;
}

}  // namespace hwprune::rtl
