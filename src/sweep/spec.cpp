#include "hwprune/sweep/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "hwprune/util/utf8.hpp"

namespace hwprune::sweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The spec's top-level keys, one list for the parser and its error.
constexpr std::string_view kTopKeys[] = {"dir",  "executor", "workers", "base",
                                         "grid", "points",   "synth",   "slurm"};
constexpr std::string_view kSlurmKeys[] = {"partition", "account",       "qos",      "time",
                                           "mem",       "cpus-per-task", "throttle", "sbatch"};

// More points than any sweep runs: a grid beyond it is refused before it is expanded.
constexpr size_t kMaxPoints = 10000;

template <size_t N>
std::string joined(const std::string_view (&names)[N]) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

template <size_t N>
bool listed(const std::string_view (&names)[N], const std::string& key) {
  return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

struct Reader {
  std::string file;

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw Error(fmt::format("{}: {}: {}", file, where, what));
  }

  // A YAML scalar as JSON: true/false, an integer, a number, else the text.
  json scalar(const YAML::Node& n, const std::string& where) const {
    if (!n.IsScalar()) fail(where, "expected a single value");
    const std::string s = n.Scalar();
    if (!is_utf8(s)) fail(where, "the value is not valid UTF-8 text");  // points are JSON
    if (n.Tag() == "!") return s;                                       // quoted: always text
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
    int64_t i = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
    double d = 0;
    auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec2 == std::errc() && q == s.data() + s.size() && !s.empty()) return d;
    return s;
  }

  // An option's value: a scalar or a list of scalars (a list option such as alpha-candidates).
  json value(const YAML::Node& n, const std::string& where) const {
    if (n.IsSequence()) {
      json a = json::array();
      for (size_t k = 0; k < n.size(); ++k)
        a.push_back(scalar(n[k], fmt::format("{}[{}]", where, k)));
      return a;
    }
    return scalar(n, where);
  }

  std::string key(const YAML::Node& k, const std::string& where) const {
    if (!k.IsScalar() || k.Scalar().empty()) fail(where, "expected an option name as key");
    std::string s = k.Scalar();
    if (s.rfind("--", 0) == 0) s = s.substr(2);
    for (char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
        fail(where, fmt::format("\"{}\" is not an option name", k.Scalar()));
    if (listed(kReservedOptions, s))
      fail(where, fmt::format("option '{}' is set by the sweep for every point", s));
    return s;
  }

  // A mapping of options: {name: value}, false flags dropped.
  json options(const YAML::Node& n, const std::string& where) const {
    json out = json::object();
    if (!n || n.IsNull()) return out;
    if (!n.IsMap()) fail(where, "expected option: value pairs");
    for (const auto& kv : n) {
      const std::string k = key(kv.first, where);
      json v = value(kv.second, where + "." + k);
      if (out.contains(k)) fail(where, fmt::format("option '{}' given twice", k));
      out[k] = v;
    }
    return out;
  }
};

json without_false(json options) {
  for (auto it = options.begin(); it != options.end();)
    if (it->is_boolean() && !it->get<bool>())
      it = options.erase(it);
    else
      ++it;
  return options;
}

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ",") + value_text(e);
    return out;
  }
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();
}

SlurmOptions slurm_options(const Reader& r, const YAML::Node& n) {
  SlurmOptions s;
  if (!n || n.IsNull()) return s;
  if (!n.IsMap()) r.fail("slurm", "expected key: value pairs");
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string where = "slurm." + k;
    if (!listed(kSlurmKeys, k))
      r.fail("slurm", fmt::format("unknown key '{}' (known: {})", k, joined(kSlurmKeys)));
    if (k == "sbatch") {
      const json v = r.value(kv.second, where);
      for (const auto& e : v.is_array() ? v : json::array({v})) s.sbatch.push_back(value_text(e));
      continue;
    }
    const json v = r.scalar(kv.second, where);
    if (k == "cpus-per-task" || k == "throttle") {
      if (!v.is_number_integer() || v.get<int64_t>() < (k == "throttle" ? 0 : 1) ||
          v.get<int64_t>() > 4096)
        r.fail(where, fmt::format("expected a whole number {}, got {}",
                                  k == "throttle" ? ">= 0" : ">= 1", value_text(v)));
      (k == "throttle" ? s.throttle : s.cpus_per_task) = static_cast<int>(v.get<int64_t>());
      continue;
    }
    const std::string text = value_text(v);
    for (char c : text)
      if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"')
        r.fail(where, fmt::format("\"{}\": no spaces or quotes", text));
    (k == "partition" ? s.partition
     : k == "account" ? s.account
     : k == "qos"     ? s.qos
     : k == "time"    ? s.time
                      : s.mem) = text;
  }
  return s;
}

// The grid's axes in file order, each a list of values.
std::vector<std::pair<std::string, std::vector<json>>> grid_axes(const Reader& r,
                                                                 const YAML::Node& n) {
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  if (!n || n.IsNull()) return axes;
  if (!n.IsMap()) r.fail("grid", "expected option: [values] pairs");
  for (const auto& kv : n) {
    const std::string k = r.key(kv.first, "grid");
    for (const auto& a : axes)
      if (a.first == k) r.fail("grid", fmt::format("axis '{}' given twice", k));
    std::vector<json> values;
    if (kv.second.IsSequence()) {
      for (size_t i = 0; i < kv.second.size(); ++i)
        values.push_back(r.value(kv.second[i], fmt::format("grid.{}[{}]", k, i)));
    } else {
      values.push_back(r.scalar(kv.second, "grid." + k));
    }
    if (values.empty()) r.fail("grid." + k, "no values");
    axes.emplace_back(k, std::move(values));
  }
  size_t points = 1;
  for (const auto& a : axes) {
    points = a.second.size() > kMaxPoints / points ? kMaxPoints + 1 : points * a.second.size();
    if (points > kMaxPoints)
      r.fail("grid",
             fmt::format("more than {} points (a sweep file is not meant for that)", kMaxPoints));
  }
  return axes;
}

}  // namespace

std::string hash_id(const json& value) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : value.dump()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:012x}", h & 0xffffffffffffull);
}

int point_threads(const Point& point) {
  const json t = point.options.value("threads", json(1));
  return t.is_number_integer() && t.get<int64_t>() > 0 ? static_cast<int>(t.get<int64_t>()) : 1;
}

std::vector<std::string> option_words(const json& options) {
  std::vector<std::string> out;
  for (const auto& [k, v] : options.items()) {
    if (v.is_boolean()) {
      if (v.get<bool>()) out.push_back("--" + k);
      continue;
    }
    out.push_back("--" + k);
    if (v.is_array())
      for (const auto& e : v) out.push_back(value_text(e));
    else
      out.push_back(value_text(v));
  }
  return out;
}

Spec load_spec(const std::string& path) {
  const std::string text = read_file(path);
  Reader r{path};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("{}: not valid YAML (line {}: {})", path, e.mark.line + 1, e.msg));
  }
  if (!root.IsMap()) throw Error(fmt::format("{}: expected a mapping of sweep keys", path));
  for (const auto& kv : root)
    if (!kv.first.IsScalar() || !listed(kTopKeys, kv.first.Scalar()))
      r.fail("top level",
             fmt::format("unknown key '{}' (known: {})",
                         kv.first.IsScalar() ? kv.first.Scalar() : "?", joined(kTopKeys)));
  Spec s;
  std::error_code ec;
  s.path = fs::absolute(path, ec).lexically_normal().string();
  s.base_dir = fs::path(s.path).parent_path().string();
  const std::string dir = root["dir"] ? value_text(r.scalar(root["dir"], "dir"))
                                      : fs::path(s.path).stem().string() + ".sweep";
  s.dir = (fs::path(s.base_dir) / dir).lexically_normal().string();
  if (root["executor"]) {
    try {
      s.executor = kExecutorNames.parse(value_text(r.scalar(root["executor"], "executor")));
    } catch (const Error& e) {
      r.fail("executor", e.what());
    }
  }
  if (root["workers"]) {
    const json w = r.scalar(root["workers"], "workers");
    if (!w.is_number_integer() || w.get<int64_t>() < 0 || w.get<int64_t>() > 1024)
      r.fail("workers", fmt::format("expected a whole number >= 0, got {}", value_text(w)));
    s.workers = static_cast<int>(w.get<int64_t>());
  }
  if (root["synth"]) {
    const YAML::Node n = root["synth"];
    if (n.IsScalar()) {
      const json v = r.scalar(n, "synth");
      if (!v.is_boolean()) r.fail("synth", "expected true, false or synth options");
      if (v.get<bool>()) s.synth = json::object();
    } else {
      s.synth = without_false(r.options(n, "synth"));
    }
  }
  s.slurm = slurm_options(r, root["slurm"]);

  const json base = r.options(root["base"], "base");
  std::vector<json> raw;
  const auto axes = grid_axes(r, root["grid"]);
  if (!axes.empty()) {
    std::vector<size_t> at(axes.size(), 0);
    for (bool more = true; more;) {
      json p = base;
      for (size_t a = 0; a < axes.size(); ++a) p[axes[a].first] = axes[a].second[at[a]];
      raw.push_back(std::move(p));
      more = false;
      for (size_t a = axes.size(); a-- > 0;) {
        if (++at[a] < axes[a].second.size()) {
          more = true;
          break;
        }
        at[a] = 0;
      }
    }
  }
  if (const YAML::Node pts = root["points"]) {
    if (!pts.IsSequence()) r.fail("points", "expected a list of option mappings");
    for (size_t k = 0; k < pts.size(); ++k) {
      json p = base;
      const json own = r.options(pts[k], fmt::format("points[{}]", k));
      for (const auto& [name, v] : own.items()) p[name] = v;
      raw.push_back(std::move(p));
    }
  }
  if (raw.empty() && !base.empty()) raw.push_back(base);  // no grid nor list: the base alone
  if (raw.empty()) r.fail("top level", "no points (give base, grid or points)");

  // Axes: options whose value is not the same in every point (absent counts as a value).
  std::set<std::string> names;
  for (const auto& p : raw)
    for (const auto& [k, v] : p.items()) names.insert(k);
  for (const auto& [k, values] : axes) s.axes.push_back(k);  // grid axes in file order
  for (const auto& k : names) {
    if (std::find(s.axes.begin(), s.axes.end(), k) != s.axes.end()) continue;
    for (const auto& p : raw)
      if (p.value(k, json()) != raw[0].value(k, json())) {
        s.axes.push_back(k);
        break;
      }
  }
  std::map<std::string, size_t> seen;
  for (size_t k = 0; k < raw.size(); ++k) {
    Point p;
    p.options = without_false(raw[k]);
    p.id = hash_id(p.options);
    for (const auto& a : s.axes)
      p.label += fmt::format("{}{}={}", p.label.empty() ? "" : " ", a,
                             p.options.contains(a) ? value_text(p.options[a]) : "-");
    if (p.label.empty()) p.label = "point";
    if (auto [it, fresh] = seen.emplace(p.id, k); !fresh)
      r.fail(fmt::format("point {}", k),
             fmt::format("same options as point {} ({})", it->second, p.label));
    s.points.push_back(std::move(p));
  }
  return s;
}

}  // namespace hwprune::sweep
