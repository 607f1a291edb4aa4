// Keras weights .h5 -> IR: each layer's tensors read in Keras order (weight_names, also in its
// chunked form, or the conventional dataset names) and checked against the architecture.
#include <filesystem>
#include <set>

#include "keras_detail.hpp"

namespace hwprune::io::keras_detail {

namespace {

const std::set<std::string> kWeightKeys = {"kernel", "bias",        "gamma",
                                           "beta",   "moving_mean", "moving_variance"};

// "fc1/kernel:0" -> "kernel".
std::string weight_key(const std::string& name) {
  std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  const size_t colon = base.rfind(':');
  if (colon != std::string::npos) base = base.substr(0, colon);
  return base;
}

// A string-list attribute, also in Keras' chunked form (name0, name1, ...) used for lists
// above the 64 KiB header limit. nullopt if absent.
std::optional<std::vector<std::string>> chunked_strings(const h5::Handle& obj,
                                                        const std::string& name) {
  if (h5::has_attr(obj, name)) return h5::read_strings(obj, name);
  if (!h5::has_attr(obj, name + "0")) return std::nullopt;
  std::vector<std::string> all;
  for (int i = 0; h5::has_attr(obj, name + std::to_string(i)); ++i) {
    auto part = h5::read_strings(obj, name + std::to_string(i));
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

}  // namespace

WeightsFile::WeightsFile(const std::string& p) : path(p), file(h5::open_file(p)) {
  root = h5::open_group(file, h5::is_group(file, "model_weights") ? "model_weights" : "/");
}

void WeightsFile::fail_layer(const std::string& layer, const std::string& msg) const {
  throw Error(fmt::format("{}: layer '{}': {}", path, layer, msg));
}

std::string WeightsFile::available() const {
  auto names = h5::children(root);
  std::string list;
  for (size_t i = 0; i < names.size() && i < 8; ++i) list += (i ? ", " : "") + names[i];
  if (names.size() > 8) list += ", ...";
  return list.empty() ? "none" : list;
}

std::vector<Tensor> WeightsFile::read(const std::string& layer,
                                      const std::vector<std::string>& keys) const {
  if (!h5::is_group(root, layer))
    fail_layer(layer,
               fmt::format("no weights for this layer (the file has groups: {})", available()));
  h5::Handle g = h5::open_group(root, layer);
  std::vector<std::string> paths;
  if (auto names = chunked_strings(g, "weight_names")) {
    if (names->size() != keys.size()) {
      std::string listed, wanted;
      for (const auto& n : *names) listed += (listed.empty() ? "" : ", ") + n;
      for (const auto& k : keys) wanted += (wanted.empty() ? "" : ", ") + k;
      fail_layer(layer,
                 fmt::format("the file holds {} weights ({}), the architecture needs {} "
                             "({})",
                             names->size(), listed.empty() ? "none" : listed, keys.size(), wanted));
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string key = weight_key((*names)[i]);
      if (kWeightKeys.count(key) && key != keys[i])
        fail_layer(layer,
                   fmt::format("weight '{}' is where '{}' is expected", (*names)[i], keys[i]));
      if (!h5::is_dataset(g, (*names)[i]))
        fail_layer(layer,
                   fmt::format("dataset '{}' listed in weight_names is missing", (*names)[i]));
      paths.push_back((*names)[i]);
    }
  } else {
    for (const auto& key : keys) {
      std::string found;
      for (const std::string& p : {layer + "/" + key + ":0", key + ":0", key})
        if (h5::is_dataset(g, p)) {
          found = p;
          break;
        }
      if (found.empty())
        fail_layer(layer,
                   fmt::format("no dataset '{}/{}:0' (and no weight_names attribute)", layer, key));
      paths.push_back(found);
    }
  }
  std::vector<Tensor> out;
  for (const auto& p : paths) out.push_back(h5::read_tensor(g, p));
  for (size_t i = 0; i < out.size(); ++i)
    for (float v : out[i].data)
      if (!std::isfinite(v)) fail_layer(layer, fmt::format("'{}' holds NaN or Inf", paths[i]));
  return out;
}

bool layer_needs_weights(const Layer& l) {
  return l.has_kernel() || l.kind == LayerKind::BatchNorm;
}

// Fills every layer's weights from `wf`, checking shapes against the architecture as it goes.
void load_weights(Model& m, const std::map<std::string, LayerExtra>& extra, const WeightsFile& wf,
                  const std::string& arch_file) {
  Shape shape = m.input_shape;
  for (auto& l : m.layers) {
    const std::string where = fmt::format("layer '{}'", l.name);
    std::vector<std::string> keys;
    std::vector<Shape> want;
    const int rank = static_cast<int>(shape.size());
    if (l.kind == LayerKind::Dense && rank == 1) {
      keys = {"kernel"};
      want = {{shape[0], l.units}};
      if (l.use_bias) {
        keys.push_back("bias");
        want.push_back({l.units});
      }
    } else if (l.is_conv() && rank == static_cast<int>(l.kernel_size.size()) + 1) {
      Shape k(l.kernel_size.begin(), l.kernel_size.end());
      k.push_back(shape.back());
      k.push_back(l.filters);
      keys = {"kernel"};
      want = {k};
      if (l.use_bias) {
        keys.push_back("bias");
        want.push_back({l.filters});
      }
    } else if (l.kind == LayerKind::BatchNorm) {
      const LayerExtra& e = extra.at(l.name);
      if (e.bn_axis != -1 && e.bn_axis != rank)
        fail(arch_file, fmt::format("{}: axis {} is not supported (only the last, channels axis "
                                    "-1)",
                                    where, e.bn_axis));
      const Shape c = {shape.back()};
      if (e.bn_scale) keys.push_back("gamma");
      if (e.bn_center) keys.push_back("beta");
      keys.push_back("moving_mean");
      keys.push_back("moving_variance");
      want.assign(keys.size(), c);
      l.weights["gamma"] = Tensor(c, 1.0f);
      l.weights["beta"] = Tensor(c, 0.0f);
    }
    if (!keys.empty()) {
      auto tensors = wf.read(l.name, keys);
      for (size_t i = 0; i < keys.size(); ++i) {
        if (tensors[i].shape != want[i])
          wf.fail_layer(l.name, fmt::format("{} has shape {}, the architecture needs {}", keys[i],
                                            shape_str(tensors[i].shape), shape_str(want[i])));
        l.weights[keys[i]] = std::move(tensors[i]);
      }
    }
    // Next layer's input shape (infer_shapes reports structural problems precisely).
    Model one;
    one.name = m.name;
    one.input_shape = shape;
    one.layers = {l};
    try {
      one.infer_shapes();
    } catch (const Error& e) {
      fail(arch_file, e.what());
    }
    shape = one.layers[0].output_shape;
  }
}

std::string weights_beside(const std::string& json_path) {
  namespace fs = std::filesystem;
  const fs::path p(json_path);
  const fs::path stem = p.parent_path() / p.stem();
  const std::string a = stem.string() + "_weights.h5";
  const std::string b = stem.string() + ".h5";
  std::error_code ec;
  if (fs::is_regular_file(a, ec)) return a;
  if (fs::is_regular_file(b, ec)) return b;
  fail(json_path, fmt::format("no weights file found (looked for {} and {}); pass the weights .h5 "
                              "explicitly",
                              a, b));
}

}  // namespace hwprune::io::keras_detail
