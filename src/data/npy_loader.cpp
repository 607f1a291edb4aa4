// Datasets from .npy pairs and .npz archives.
#include <fmt/format.h>

#include "hwprune/data/loaders.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/util/error.hpp"
#include "label_util.hpp"

namespace hwprune::data {

namespace {

// Features only (no labels): for predictions.
Dataset make_x(const io::NpyArray& xa, const std::string& x_what, Task task,
               const std::vector<std::string>& class_names) {
  if (xa.shape.empty())
    throw Error(fmt::format("{}: features must have shape (n, ...), got a scalar", x_what));
  if (xa.shape[0] == 0) throw Error(fmt::format("{}: no rows", x_what));
  Dataset d;
  d.source = x_what;
  d.task = task;
  d.class_names = class_names;
  d.x = xa.to_tensor(x_what);
  if (d.x.shape.size() == 1) d.x.shape.push_back(1);  // (n,) -> (n, 1)
  d.check_finite();
  return d;
}

Dataset make_xy(const io::NpyArray& xa, const std::string& x_what, const io::NpyArray& ya,
                const std::string& y_what, Task task, const std::vector<std::string>& class_names) {
  if (xa.shape.empty())
    throw Error(fmt::format("{}: features must have shape (n, ...), got a scalar", x_what));
  if (ya.shape.empty())
    throw Error(fmt::format("{}: labels must have shape (n,) or (n, k), got a scalar", y_what));
  const int64_t n = xa.shape[0];
  if (ya.shape[0] != n)
    throw Error(fmt::format("row count mismatch: {} has {} rows but {} has {}", x_what, n, y_what,
                            ya.shape[0]));
  if (n == 0) throw Error(fmt::format("{}: no rows", x_what));

  Dataset d;
  d.source = x_what;
  d.task = task;
  d.x = xa.to_tensor(x_what);
  if (d.x.shape.size() == 1) d.x.shape.push_back(1);  // (n,) -> (n, 1)

  if (task == Task::Regression) {
    d.targets = ya.to_tensor(y_what);
    d.targets.shape = {n, d.targets.numel() / n};  // (n,) -> (n, 1); (n, a, b) -> (n, a*b)
    d.check_finite();
    return d;
  }

  if (ya.shape.size() == 1 || (ya.shape.size() == 2 && ya.shape[1] == 1)) {
    std::vector<int64_t> values = ya.to_int64(y_what);
    detail::assign_int_labels(d, values, class_names, y_what);
  } else if (ya.shape.size() == 2) {
    // One-hot (n, K): every row exactly one 1, the rest 0.
    const int64_t k = ya.shape[1];
    if (!class_names.empty() && static_cast<int64_t>(class_names.size()) != k)
      throw Error(fmt::format("{}: one-hot labels have {} columns but there are {} known classes",
                              y_what, k, class_names.size()));
    Tensor y = ya.to_tensor(y_what);
    d.labels.resize(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
      const float* row = y.data.data() + r * k;
      int64_t hot = -1, ones = 0;
      bool ok = true;
      for (int64_t c = 0; c < k; ++c) {
        if (row[c] == 1.0f) {
          ++ones;
          hot = c;
        } else if (row[c] != 0.0f) {
          ok = false;
        }
      }
      if (!ok || ones != 1)
        throw Error(fmt::format(
            "{}: row {} is not one-hot (labels of shape {} need exactly one 1 per row, the rest "
            "0)",
            y_what, r, shape_str(ya.shape)));
      d.labels[static_cast<size_t>(r)] = static_cast<int32_t>(hot);
    }
    d.class_names = class_names.empty() ? detail::numbered_names(k) : class_names;
  } else {
    throw Error(fmt::format("{}: labels must have shape (n,), (n, 1) or one-hot (n, K), got {}",
                            y_what, shape_str(ya.shape)));
  }
  d.check_finite();
  return d;
}

std::string npz_member(const io::ZipReader& zr, const std::string& name,
                       std::initializer_list<const char*> defaults, const char* role) {
  std::vector<std::string> candidates;
  if (name.empty()) {
    for (const char* c : defaults) candidates.emplace_back(c);
  } else {
    candidates.push_back(name);
  }
  for (const std::string& c : candidates) {
    const bool has_ext = c.size() > 4 && c.compare(c.size() - 4, 4, ".npy") == 0;
    const std::string member = has_ext ? c : c + ".npy";
    if (zr.contains(member)) return member;
  }
  std::string wanted, present;
  for (size_t i = 0; i < candidates.size(); ++i)
    wanted += fmt::format("{}'{}'", i ? " or " : "", candidates[i]);
  for (const std::string& m : zr.names()) present += (present.empty() ? "" : ", ") + m;
  throw Error(fmt::format("{}: no {} array {} (members present: {})", zr.path(), role, wanted,
                          present.empty() ? "none" : present));
}

}  // namespace

Dataset read_npy_pair(const std::string& x_path, const std::string& y_path, Task task,
                      const std::vector<std::string>& class_names) {
  io::NpyArray xa = io::read_npy_file(x_path);
  if (y_path.empty()) return make_x(xa, x_path, task, class_names);
  io::NpyArray ya = io::read_npy_file(y_path);
  return make_xy(xa, x_path, ya, y_path, task, class_names);
}

Dataset read_npz(const std::string& path, const std::string& x_name, const std::string& y_name,
                 Task task, const std::vector<std::string>& class_names) {
  io::ZipReader zr(path);
  const std::string xm = npz_member(zr, x_name, {"x", "X"}, "feature");
  const std::string x_what = fmt::format("{}[{}]", path, xm);
  if (y_name == "none")
    return make_x(io::parse_npy(zr.read(xm), x_what), x_what, task, class_names);
  const std::string ym = npz_member(zr, y_name, {"y", "Y"}, "label");
  const std::string y_what = fmt::format("{}[{}]", path, ym);
  io::NpyArray xa = io::parse_npy(zr.read(xm), x_what);
  io::NpyArray ya = io::parse_npy(zr.read(ym), y_what);
  return make_xy(xa, x_what, ya, y_what, task, class_names);
}

}  // namespace hwprune::data
