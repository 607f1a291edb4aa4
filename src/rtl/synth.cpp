#include "hwprune/rtl/synth.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "hwprune/util/process.hpp"

namespace hwprune::rtl {

namespace fs = std::filesystem;

namespace {

bool known_family(const std::string& family) {
  return family == "xc7" || family == "xcu" || family == "xcup";
}

void check_inputs(const std::string& top, const hw::Device& device) {
  if (!known_family(device.family))
    throw Error(fmt::format(
        "unknown FPGA family \"{}\" for Yosys synthesis (known: xc7, xcu, xcup)", device.family));
  bool ok = !top.empty() && (std::isalpha(static_cast<unsigned char>(top[0])) || top[0] == '_');
  for (char c : top)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$');
  if (!ok) throw Error(fmt::format("top module \"{}\" is not a plain Verilog identifier", top));
  if (device.dsp_min_weight_bits < 0 || device.dsp_min_weight_bits > 4096)
    throw Error(fmt::format("dsp_min_weight_bits {} is out of range (0..4096)",
                            device.dsp_min_weight_bits));
}

// A double-quoted argument for a Yosys script (Yosys has no escapes inside quotes).
std::string quoted(const std::string& s) {
  if (s.find_first_of("\"\n\r") != std::string::npos)
    throw Error(fmt::format("path \"{}\" cannot be passed to Yosys (quote or newline)", s));
  return "\"" + s + "\"";
}

std::string stat_name(const std::string& top) {
  return top + "_stat.json";
}

bool is_lut_memory(const std::string& type) {
  if (type.rfind("SRL", 0) == 0) return true;                      // SRL16E, SRLC32E
  return type.rfind("RAM", 0) == 0 && type.rfind("RAMB", 0) != 0;  // RAM32M, RAM64X1D
}

void add_cells(SynthResources& r, const std::string& type, int64_t n) {
  r.cells[type] += n;
  if (type == "DSP48E1" || type == "DSP48E2")
    r.dsp += n;
  else if (type == "RAMB18E1" || type == "RAMB18E2")
    r.bram18 += n;
  else if (type == "RAMB36E1" || type == "RAMB36E2")
    r.bram18 += 2 * n;
  else if (type.size() == 4 && type.rfind("LUT", 0) == 0 && type[3] >= '1' && type[3] <= '6')
    r.lut += n;
  else if (type == "FDRE" || type == "FDSE" || type == "FDCE" || type == "FDPE")
    r.ff += n;
  else if (is_lut_memory(type))
    r.lut_memory += n;
}

void add_resources(SynthResources& to, const SynthResources& from) {
  for (const auto& [type, n] : from.cells) add_cells(to, type, n);
}

std::string display_name(const std::string& yosys_name) {
  return !yosys_name.empty() && yosys_name[0] == '\\' ? yosys_name.substr(1) : yosys_name;
}

// The last `n` non-empty lines of `text`, joined with " | ".
std::string last_lines(const std::string& text, size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " | ") + lines[i];
  return out;
}

// The yosys executable: $HWPRUNE_YOSYS, else `yosys` found on PATH; empty if missing.
std::string find_yosys() {
  const char* env = std::getenv("HWPRUNE_YOSYS");
  return find_executable(env && *env ? env : "yosys").value_or("");
}

std::string temp_suffix() {
  std::random_device rd;
  return fmt::format(".tmp-{}-{:08x}", ::getpid(), rd());
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

void rename_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) {
    remove_quietly(from);
    throw Error(
        fmt::format("{}: cannot rename temporary file into place ({})", to.string(), ec.message()));
  }
}

// synth_xilinx's map_memory step (Yosys 0.23, techlibs/xilinx/synth_xilinx.cc) with one
// change: the block RAM cells lose their contents (INIT) before they are mapped to
// RAMB18/RAMB36. The contents change no count (the constant bit columns are already gone),
// but every distinct INIT costs techmap a template of its own, ~0.3 s per block RAM.
std::string map_memory(const std::string& family) {
  const bool ultrascale = family == "xcu" || family == "xcup";
  std::string s =
      "# synth_xilinx's map_memory, block RAM contents dropped (they change no count;\n"
      "# mapping each distinct one costs ~0.3 s). This script counts, it writes no "
      "netlist.\n";
  s += ultrascale ? "memory_libmap -logic-cost-rom 0.015625 -lib +/xilinx/lutrams_xcu.txt -lib "
                    "+/xilinx/brams_xc4v.txt -D HAS_SIZE_36 -D HAS_MIXWIDTH_SDP -D HAS_ADDRCE"
                  : "memory_libmap -logic-cost-rom 0.015625 -lib +/xilinx/lutrams_xc5v.txt -lib "
                    "+/xilinx/brams_xc4v.txt -D HAS_SIZE_36 -D HAS_CASCADE -D HAS_CONFLICT_BUG -D "
                    "HAS_MIXWIDTH_SDP";
  s += family == "xcup" ? " -lib +/xilinx/urams.txt\n" : "\n";
  s += "techmap -map +/xilinx/lutrams_xc5v_map.v\n";
  s += "setparam -set INIT 0 t:$__XILINX_BLOCKRAM_*\n";
  s += fmt::format("techmap -map +/xilinx/brams_{}_map.v\n", ultrascale ? "xcu" : "xc6v");
  if (family == "xcup") s += "techmap -map +/xilinx/urams_map.v\n";
  return s;
}

}  // namespace

std::string yosys_script(const std::string& verilog_path, const std::string& top,
                         const hw::Device& device, SynthDepth depth, SynthHierarchy hierarchy,
                         const std::vector<std::string>& mapped) {
  check_inputs(top, device);
  const bool flat = hierarchy == SynthHierarchy::Flatten;
  const std::string source = fs::absolute(verilog_path).lexically_normal().string();
  const std::string synth = fmt::format("synth_xilinx -family {} -top {} -noiopad -noclkbuf{}",
                                        device.family, top, flat ? " -flatten" : "");
  const int t = device.dsp_min_weight_bits;
  std::string s;
  s +=
      fmt::format("# hwprune: Yosys synthesis, hierarchy {}. synth_xilinx is split at map_dsp so\n",
                  flat ? "flattened" : "kept");
  s += fmt::format("# that products whose narrower operand has < {} bits become LUT multipliers.\n",
                   t);
  s += fmt::format("read_verilog {}\n", quoted(source));
  for (const std::string& m : mapped)
    s += fmt::format("read_verilog -overwrite {}\n",
                     quoted(fs::absolute(m).lexically_normal().string()));
  s += synth + " -run begin:map_dsp\n";
  s += fmt::format("chtype -set $__soft_mul t:$mul r:A_WIDTH<{} %i a:hwprune_dsp %d\n", t);
  s += fmt::format("chtype -set $__soft_mul t:$mul r:B_WIDTH<{} %i a:hwprune_dsp %d\n", t);
  s += "chtype -set $__soft_mul t:$mul a:hwprune_lut %i\n";
  s += synth + " -run map_dsp:map_memory\n";
  s += map_memory(device.family);
  if (depth == SynthDepth::Full) s += synth + " -run map_ffram:\n";
  // `tee -o` takes its file name verbatim (quotes would become part of it): a plain identifier.
  s += fmt::format("tee -q -o {} stat -json -top {}\n", stat_name(top), top);
  return s;
}

SynthReport parse_stat_json(const std::string& json_text, const std::string& top) {
  // Yosys 0.23's `stat -json -top` also prints its text hierarchy lines ("  name   count")
  // into the JSON when a module is instantiated from more than one parent: drop every line
  // that is not JSON (no quote, brace or bracket first).
  std::string cleaned;
  cleaned.reserve(json_text.size());
  for (size_t pos = 0; pos < json_text.size();) {
    size_t end = json_text.find('\n', pos);
    if (end == std::string::npos) end = json_text.size();
    const std::string_view line(json_text.data() + pos, end - pos);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos ||
        std::string_view("\"{}[],").find(line[first]) != std::string_view::npos)
      cleaned.append(line).push_back('\n');
    pos = end + 1;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(cleaned);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("Yosys statistics: malformed JSON ({})", e.what()));
  }
  if (!j.is_object() || !j.contains("modules") || !j["modules"].is_object())
    throw Error("Yosys statistics: no \"modules\" object");
  const nlohmann::json& mods = j["modules"];

  // Per module: own primitive cells and submodule instance counts.
  struct Module {
    SynthResources own;
    std::vector<std::pair<std::string, int64_t>> children;
  };
  // Module keys are RTLIL names ("\\name", "$paramod$<hash>\\name") while a cell type that is
  // a module appears without the leading '\\' ("name"): accept either spelling.
  auto module_key = [&](const std::string& type) -> std::string {
    if (mods.contains(type)) return type;
    if (mods.contains("\\" + type)) return "\\" + type;
    return {};
  };
  std::map<std::string, Module> modules;
  try {
    for (const auto& [name, m] : mods.items()) {
      Module& mod = modules[name];
      if (!m.contains("num_cells_by_type")) continue;
      for (const auto& [type, n] : m.at("num_cells_by_type").items()) {
        const int64_t count = n.get<int64_t>();
        const std::string child = module_key(type);
        if (!child.empty())
          mod.children.emplace_back(child, count);
        else
          add_cells(mod.own, type, count);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("Yosys statistics: unexpected content ({})", e.what()));
  }
  const std::string top_key = module_key(top);
  if (top_key.empty()) throw Error(fmt::format("Yosys statistics: no module \"{}\"", top));

  // Depth-first pre-order (display order) and post-order (to propagate instance counts).
  std::vector<std::string> pre, post;
  std::set<std::string> seen, on_stack;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (on_stack.count(name))
      throw Error(
          fmt::format("Yosys statistics: module \"{}\" instantiates itself", display_name(name)));
    if (!seen.insert(name).second) return;
    on_stack.insert(name);
    pre.push_back(name);
    for (const auto& child : modules[name].children) visit(child.first);
    on_stack.erase(name);
    post.push_back(name);
  };
  visit(top_key);
  std::map<std::string, int64_t> instances{{top_key, 1}};
  for (auto it = post.rbegin(); it != post.rend(); ++it)  // reverse post-order: parents first
    for (const auto& [child, n] : modules[*it].children) instances[child] += instances[*it] * n;

  SynthReport report;
  for (const std::string& name : pre) {
    SynthResources r;
    const int64_t k = instances[name];
    for (const auto& [type, n] : modules[name].own.cells) add_cells(r, type, n * k);
    add_resources(report.total, r);
    report.modules.emplace_back(display_name(name), std::move(r));
    SynthModule& h = report.hierarchy[display_name(name)];
    h.own = modules[name].own;
    h.instances = k;
    for (const auto& [child, n] : modules[name].children)
      h.children.emplace_back(display_name(child), n);
  }
  return report;
}

SynthResources subtree_resources(const SynthReport& report, const std::string& module,
                                 std::string_view within) {
  auto it = report.hierarchy.find(module);
  if (it == report.hierarchy.end()) {
    for (auto m = report.hierarchy.begin(); m != report.hierarchy.end(); ++m)
      if (m->first.rfind("$paramod", 0) == 0 && m->first.ends_with("\\" + module)) {
        if (it != report.hierarchy.end())
          throw Error(
              fmt::format("Yosys statistics: \"{}\" names several parametrised modules", module));
        it = m;
      }
    if (it == report.hierarchy.end())
      throw Error(fmt::format("Yosys statistics: no module \"{}\"", module));
  }
  const bool counted = within.empty() || it->first.find(within) != std::string::npos;
  SynthResources r;
  if (counted) add_resources(r, it->second.own);
  for (const auto& [child, n] : it->second.children) {
    const SynthResources c = subtree_resources(report, child, counted ? "" : within);
    for (const auto& [type, k] : c.cells) add_cells(r, type, k * n);
  }
  return r;
}

std::vector<OutOfContextModule> out_of_context_modules(const std::string& verilog) {
  static const std::string mark = "(* hwprune_ooc *)";
  std::vector<OutOfContextModule> out;
  for (size_t at = verilog.find(mark); at != std::string::npos;
       at = verilog.find(mark, at + mark.size())) {
    size_t k = at + mark.size();
    while (k < verilog.size() && std::isspace(static_cast<unsigned char>(verilog[k]))) ++k;
    const size_t line =
        static_cast<size_t>(std::count(verilog.begin(), verilog.begin() + at, '\n')) + 1;
    if (verilog.compare(k, 7, "module ") != 0)
      throw Error(fmt::format("line {}: (* hwprune_ooc *) must stand right before `module`", line));
    size_t n = k + 7;
    while (n < verilog.size() && verilog[n] == ' ') ++n;
    size_t e = n;
    while (e < verilog.size() && (std::isalnum(static_cast<unsigned char>(verilog[e])) ||
                                  verilog[e] == '_' || verilog[e] == '$'))
      ++e;
    const size_t end = verilog.find("endmodule", e);
    if (e == n || end == std::string::npos)
      throw Error(
          fmt::format("line {}: no module name or no `endmodule` after (* hwprune_ooc *)", line));
    out.push_back({verilog.substr(n, e - n), verilog.substr(at, end + 9 - at) + "\n"});
  }
  return out;
}

namespace {

// Runs `script` (whose statistics name `top`) with Yosys in `dir`; `what` names the source in
// errors.
SynthReport run_yosys(const std::string& script, const std::string& top, const fs::path& dir,
                      const std::string& what) {
  const std::string yosys = find_yosys();
  if (yosys.empty()) {
    const char* env = std::getenv("HWPRUNE_YOSYS");
    throw Error(fmt::format(
        "yosys not found ({}); install it with `apt-get install yosys`",
        env && *env ? fmt::format("HWPRUNE_YOSYS={}", env) : std::string("not on PATH")));
  }
  const fs::path script_path = dir / ("synth_" + top + ".ys");
  const fs::path log_path = dir / ("synth_" + top + ".log");
  const fs::path stat_path = dir / stat_name(top);
  write_file_atomic(script_path.string(), script);

  // Yosys writes the log under a temporary name; the statistics file is only written at the
  // very end, so a stale one is removed first and a failed run's one is discarded.
  const std::string suffix = temp_suffix();
  const fs::path log_tmp = dir / (log_path.filename().string() + suffix);
  const fs::path out_tmp = dir / ("synth_" + top + ".out" + suffix);
  remove_quietly(stat_path);
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  try {
    status = run_process({.argv = {yosys, "-q", "-l", log_tmp.string(), "-s", script_path.string()},
                          .dir = dir.string(),
                          .output = out_tmp.string()});
  } catch (...) {
    remove_quietly(log_tmp);
    remove_quietly(out_tmp);
    throw;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string output;
  try {
    output = read_file(out_tmp.string());
  } catch (const Error&) {
  }
  remove_quietly(out_tmp);
  std::error_code ec;
  bool have_log = fs::exists(log_tmp, ec);
  if (have_log) rename_into_place(log_tmp, log_path);

  if (status != 0) {
    remove_quietly(stat_path);
    std::string tail;
    if (have_log) {
      try {
        tail = last_lines(read_file(log_path.string()), 4);
      } catch (const Error&) {
      }
    }
    if (tail.empty()) tail = last_lines(output, 4);
    throw Error(fmt::format("yosys failed on {} (top {}, exit status {}): {}{}", what, top, status,
                            tail.empty() ? "no output" : tail,
                            have_log ? "; full log: " + log_path.string() : std::string()));
  }
  if (!fs::exists(stat_path, ec))
    throw Error(fmt::format("yosys wrote no statistics ({}); see {}", stat_path.string(),
                            log_path.string()));
  SynthReport report = parse_stat_json(read_file(stat_path.string()), top);
  report.script = script;
  report.log_path = have_log ? log_path.string() : std::string();
  report.stat_path = stat_path.string();
  report.seconds = seconds;
  return report;
}

}  // namespace

SynthReport synthesize(const std::string& verilog_path, const std::string& top,
                       const hw::Device& device, const std::string& work_dir, SynthDepth depth,
                       SynthHierarchy hierarchy) {
  check_inputs(top, device);
  std::error_code ec;
  if (!fs::is_regular_file(verilog_path, ec))
    throw Error(fmt::format("{}: no such Verilog file", verilog_path));
  fs::create_directories(work_dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create folder ({})", work_dir, ec.message()));
  const fs::path dir = fs::absolute(work_dir).lexically_normal();

  // The marked modules first, each alone (only LUT counts need them; DSPs and block RAMs
  // are mapped before ABC runs).
  std::vector<std::string> mapped;
  double ooc_seconds = 0;
  if (depth == SynthDepth::Full)
    for (const OutOfContextModule& m : out_of_context_modules(read_file(verilog_path))) {
      check_inputs(m.name, device);
      const fs::path source = dir / ("ooc_" + m.name + ".v");
      const fs::path netlist = dir / ("ooc_" + m.name + "_mapped.v");
      write_file_atomic(source.string(), m.text);
      const std::string script =
          yosys_script(source.string(), m.name, device, SynthDepth::Full, SynthHierarchy::Keep) +
          fmt::format("write_verilog -noattr {}\n", quoted(netlist.string()));
      ooc_seconds += run_yosys(script, m.name, dir, source.string()).seconds;
      mapped.push_back(netlist.string());
    }
  SynthReport report = run_yosys(yosys_script(verilog_path, top, device, depth, hierarchy, mapped),
                                 top, dir, verilog_path);
  report.seconds += ooc_seconds;
  return report;
}

}  // namespace hwprune::rtl
