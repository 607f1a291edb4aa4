// The --data spec, the named datasets (fashion-mnist, letter) and shared label helpers.
#include "hwprune/data/loaders.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "label_util.hpp"

namespace hwprune::data {

namespace detail {

std::vector<std::string> numbered_names(int64_t k) {
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) names.push_back(std::to_string(i));
  return names;
}

void assign_int_labels(Dataset& d, const std::vector<int64_t>& values,
                       const std::vector<std::string>& known, const std::string& what,
                       int64_t min_classes) {
  constexpr int64_t kMaxClasses = 100000;
  int64_t max_value = -1;
  size_t max_row = 0;
  for (size_t r = 0; r < values.size(); ++r) {
    if (values[r] < 0)
      throw Error(fmt::format("{}: negative label {} at row {}", what, values[r], r));
    if (values[r] > max_value) {
      max_value = values[r];
      max_row = r;
    }
  }
  if (!known.empty()) {
    if (max_value >= static_cast<int64_t>(known.size()))
      throw Error(fmt::format("{}: label {} at row {} is out of range for the {} known classes",
                              what, max_value, max_row, known.size()));
    d.class_names = known;
  } else {
    if (max_value >= kMaxClasses)
      throw Error(fmt::format(
          "{}: label {} at row {} is too large for a class index (at most {} classes; use "
          "task=regression for numeric targets)",
          what, max_value, max_row, kMaxClasses));
    d.class_names = numbered_names(std::max(max_value + 1, min_classes));
  }
  d.labels.resize(values.size());
  for (size_t r = 0; r < values.size(); ++r) d.labels[r] = static_cast<int32_t>(values[r]);
}

void labels_to_targets(Dataset& d) {
  const auto n = static_cast<int64_t>(d.labels.size());
  std::vector<float> t(d.labels.begin(), d.labels.end());
  d.targets = Tensor({n, 1}, std::move(t));
  d.labels.clear();
  d.class_names.clear();
  d.task = Task::Regression;
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

std::string home_dir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return ".";
}

struct Spec {
  std::string text;  // the whole spec, for messages
  DataSource source = DataSource::Csv;
  std::string source_name;  // for messages
  std::string path;
  std::map<std::string, std::string> keys;

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(fmt::format("data spec '{}': {}", text, problem));
  }
  // Rejects keys outside `allowed` and checks that `required` ones are present.
  void validate(const std::set<std::string>& allowed,
                const std::vector<std::string>& required = {}) const {
    for (const auto& [k, v] : keys) {
      if (!allowed.count(k)) {
        std::string valid;
        for (const std::string& a : allowed) valid += (valid.empty() ? "" : ", ") + a;
        fail(fmt::format("unknown key '{}' for {} (valid keys: {})", k, source_name, valid));
      }
    }
    for (const std::string& r : required)
      if (!keys.count(r)) fail(fmt::format("missing required key '{}=' for {}", r, source_name));
  }
  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = keys.find(key);
    return it == keys.end() ? fallback : it->second;
  }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

Spec parse_spec(const std::string& text) {
  Spec s;
  s.text = text;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const std::string& head = parts[0];
  if (head.empty()) s.fail("empty data source");
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) s.fail(fmt::format("expected key=value, got '{}'", p));
    std::string key = p.substr(0, eq), value = p.substr(eq + 1);
    if (value.empty()) s.fail(fmt::format("empty value for key '{}'", key));
    if (!s.keys.emplace(key, value).second) s.fail(fmt::format("key '{}' given twice", key));
  }
  // A named source ("letter"), a prefixed file ("csv:<file>"), or a file by its extension.
  bool found = false;
  for (const auto& e : kDataSources.entries) {
    const bool prefix = e.name.back() == ':';
    if (prefix ? head.compare(0, e.name.size(), e.name) != 0 : head != e.name) continue;
    s.source = e.value;
    s.source_name = prefix ? std::string(e.name.substr(0, e.name.size() - 1)) : head;
    if (prefix) {
      s.path = head.substr(e.name.size());
      if (s.path.empty()) s.fail(fmt::format("missing file name after '{}'", e.name));
    }
    found = true;
    break;
  }
  for (const auto& [ext, source] :
       {std::pair{".csv", DataSource::Csv}, std::pair{".npz", DataSource::Npz}})
    if (!found && ends_with(head, ext)) {
      s.source = source;
      s.source_name = kDataSources.name(source);
      s.source_name.pop_back();
      s.path = head;
      found = true;
    }
  if (!found)
    s.fail(fmt::format("unknown data source '{}' (known: {}, or a .csv/.npz file name)", head,
                       kDataSources.list()));
  return s;
}

// Uses the known class names (if any) for integer-labelled data.
void apply_known_classes(Dataset& d, const std::vector<std::string>& known) {
  if (known.empty()) return;
  std::vector<int64_t> values(d.labels.begin(), d.labels.end());
  detail::assign_int_labels(d, values, known, d.source);
}

std::string fashion_file(const std::string& dir, const std::string& base) {
  for (const std::string& name : {base + ".gz", base}) {
    const std::string p = (fs::path(dir) / name).string();
    if (fs::exists(p)) return p;
  }
  throw Error(
      fmt::format("fashion-mnist: {} not found in {}; install it with `apt-get install "
                  "dataset-fashion-mnist` (or set HWPRUNE_FASHION_MNIST_DIR)",
                  base + ".gz", dir));
}

DataSplit load_fashion_mnist(const LoadOptions& opts, Task task) {
  const char* env = std::getenv("HWPRUNE_FASHION_MNIST_DIR");
  const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir))
    throw Error(
        fmt::format("fashion-mnist: folder {} not found; install it with `apt-get install "
                    "dataset-fashion-mnist` (or set HWPRUNE_FASHION_MNIST_DIR)",
                    dir));
  auto load = [&](const std::string& prefix) {
    const std::string images = fashion_file(dir, prefix + "-images-idx3-ubyte");
    const std::string labels = fashion_file(dir, prefix + "-labels-idx1-ubyte");
    Dataset d = read_idx(images, labels);
    std::vector<int64_t> values(d.labels.begin(), d.labels.end());
    detail::assign_int_labels(
        d, values, opts.class_names.empty() ? kFashionNames : opts.class_names, d.source);
    if (task == Task::Regression) detail::labels_to_targets(d);
    return d;
  };
  DataSplit split;
  split.train = load("train");
  split.test = load("t10k");
  return split;
}

DataSplit load_letter(const LoadOptions& opts, Task task) {
  const std::string path = letter_csv_path();
  if (!fs::exists(path))
    throw Error(fmt::format(
        "letter: {} not found; create it with scripts/letter-csv.sh (needs `apt-get install "
        "r-base-core r-cran-mlbench`; HWPRUNE_DATA_DIR sets the folder)",
        path));
  CsvOptions co;
  co.label = "lettr";
  co.header = CsvOptions::Header::Yes;
  co.task = task;
  co.class_names = opts.class_names;
  Dataset all = read_csv(path, co);
  constexpr int64_t kTrain = 16000, kTotal = 20000;
  if (all.size() != kTotal)
    throw Error(
        fmt::format("letter: {} has {} rows, expected {}; regenerate it with scripts/letter-csv.sh",
                    path, all.size(), kTotal));
  std::vector<int64_t> train_rows(kTrain), test_rows(kTotal - kTrain);
  for (int64_t i = 0; i < kTrain; ++i) train_rows[static_cast<size_t>(i)] = i;
  for (int64_t i = kTrain; i < kTotal; ++i) test_rows[static_cast<size_t>(i - kTrain)] = i;
  DataSplit split;
  split.train = all.subset(train_rows);
  split.train.source = fmt::format("{} (rows 1-{})", path, kTrain);
  split.test = all.subset(test_rows);
  split.test->source = fmt::format("{} (rows {}-{})", path, kTrain + 1, kTotal);
  return split;
}

char parse_delimiter(const Spec& s, const std::string& v) {
  if (v == "tab" || v == "\\t") return '\t';
  if (v == "space") return ' ';
  if (v == "semicolon") return ';';
  if (v == "pipe") return '|';
  if (v.size() == 1 && v[0] != '"') return v[0];
  s.fail(fmt::format("invalid delimiter '{}' (a single character, or tab, space, semicolon, pipe)",
                     v));
}

}  // namespace

std::string letter_csv_path() {
  if (const char* d = std::getenv("HWPRUNE_DATA_DIR"); d && *d)
    return (fs::path(d) / "letter.csv").string();
  return (fs::path(home_dir()) / ".cache" / "hwprune" / "letter.csv").string();
}

DataSplit load_data(const std::string& spec, const LoadOptions& opts) {
  Spec s = parse_spec(spec);

  Task task = Task::Classification;
  if (s.keys.count("task")) {
    const std::string& t = s.keys.at("task");
    if (t == "classification") {
      task = Task::Classification;
    } else if (t == "regression") {
      task = Task::Regression;
    } else {
      s.fail(fmt::format("invalid task '{}' (classification or regression)", t));
    }
    if (opts.task && *opts.task != task)
      s.fail(fmt::format("task={} contradicts the requested {} task", t,
                         *opts.task == Task::Regression ? "regression" : "classification"));
  } else if (opts.task) {
    task = *opts.task;
  }

  DataSplit out;
  switch (s.source) {
    case DataSource::FashionMnist:
      s.validate({"task"});
      return load_fashion_mnist(opts, task);
    case DataSource::Letter:
      s.validate({"task"});
      return load_letter(opts, task);
    default:
      break;
  }
  if (s.source == DataSource::Idx) {
    s.validate({"labels", "task"});
    out.train = read_idx(s.path, s.get("labels"));
    apply_known_classes(out.train, opts.class_names);
    if (task == Task::Regression) detail::labels_to_targets(out.train);
    return out;
  }
  if (s.source == DataSource::Csv) {
    s.validate({"label", "header", "delimiter", "task"});
    CsvOptions co;
    co.label = s.get("label", "-1");
    const std::string h = s.get("header", "auto");
    if (h == "auto") {
      co.header = CsvOptions::Header::Auto;
    } else if (h == "yes") {
      co.header = CsvOptions::Header::Yes;
    } else if (h == "no") {
      co.header = CsvOptions::Header::No;
    } else {
      s.fail(fmt::format("invalid header '{}' (auto, yes or no)", h));
    }
    if (s.keys.count("delimiter")) co.delimiter = parse_delimiter(s, s.get("delimiter"));
    co.task = task;
    co.class_names = opts.class_names;
    out.train = read_csv(s.path, co);
    return out;
  }
  if (s.source == DataSource::Npy) {
    s.validate({"labels", "task"});
    out.train = read_npy_pair(s.path, s.get("labels"), task, opts.class_names);
    return out;
  }
  // npz
  s.validate({"x", "y", "task"});
  out.train = read_npz(s.path, s.get("x"), s.get("y"), task, opts.class_names);
  return out;
}

}  // namespace hwprune::data
