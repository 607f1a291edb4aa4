// The native .hwp model file: a zip of model.json plus one .npy per tensor.
#include "hwprune/io/model_file.hpp"

#include <tuple>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::io {

namespace {

using nlohmann::json;

constexpr const char* kFormatName = "hwprune-model";
constexpr const char* kOptimizerMember = "training/optimizer.pt";

json precision_json(const LayerPrecision& p) {
  return json{{"weight", precision_str(p.weight)},
              {"bias", precision_str(p.bias)},
              {"accum", precision_str(p.accum)},
              {"result", precision_str(p.result)}};
}

std::string task_str(Task t) {
  return t == Task::Regression ? "regression" : "classification";
}

json layer_json(const Layer& l, ZipWriter& zip) {
  json j{{"name", l.name}, {"type", to_string(l.kind)}, {"precision", precision_json(l.precision)}};
  switch (l.kind) {
    case LayerKind::Dense:
      j["units"] = l.units;
      j["use_bias"] = l.use_bias;
      break;
    case LayerKind::Conv1D:
    case LayerKind::Conv2D:
      j["filters"] = l.filters;
      j["kernel_size"] = l.kernel_size;
      j["strides"] = l.strides;
      j["padding"] = to_string(l.padding);
      j["use_bias"] = l.use_bias;
      break;
    case LayerKind::MaxPool1D:
    case LayerKind::MaxPool2D:
    case LayerKind::AvgPool1D:
    case LayerKind::AvgPool2D:
      j["pool_size"] = l.pool_size;
      j["strides"] = l.strides;
      j["padding"] = to_string(l.padding);
      break;
    case LayerKind::BatchNorm:
      j["epsilon"] = l.epsilon;
      j["momentum"] = l.momentum;
      break;
    case LayerKind::Activation: {
      j["activation"] = to_string(l.activation);
      if (l.activation == ActivationKind::LeakyReLU || l.activation == ActivationKind::ELU)
        j["alpha"] = l.alpha;
      if (l.activation == ActivationKind::HardSigmoid) {
        j["alpha"] = l.alpha;
        j["beta"] = l.beta;
      }
      break;
    }
    case LayerKind::Dropout:
      j["rate"] = l.rate;
      break;
    case LayerKind::Flatten:
      break;
  }
  json weights = json::object();
  for (const auto& [key, t] : l.weights) {
    const std::string member = fmt::format("weights/{}/{}.npy", l.name, key);
    zip.add(member, npy_bytes(t));
    weights[key] = member;
  }
  j["weights"] = weights;
  if (!l.hardware.empty()) {
    json hw = json::object();
    const auto& h = l.hardware;
    if (h.reuse_factor) hw["reuse_factor"] = *h.reuse_factor;
    if (h.strategy) hw["strategy"] = to_string(*h.strategy);
    if (h.io_type) hw["io_type"] = to_string(*h.io_type);
    if (h.parallelization_factor) hw["parallelization_factor"] = *h.parallelization_factor;
    j["hardware"] = hw;
  }
  if (!l.mask.empty()) {
    const std::string member = fmt::format("masks/{}/kernel.npy", l.name);
    zip.add(member, npy_bytes(l.mask));
    j["mask"] = member;
  }
  if (!l.widths.empty()) {
    const std::string member = fmt::format("widths/{}/kernel.npy", l.name);
    zip.add(member, npy_bytes(l.widths));
    j["widths"] = member;
  }
  return j;
}

// Typed access to model.json with errors that name the file and the field.
struct Reader {
  const std::string& path;
  const ZipReader& zip;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: {}", path, what));
  }
  const json& at(const json& j, const char* key, const std::string& where) const {
    if (!j.is_object() || !j.contains(key))
      fail(fmt::format("{}: missing field \"{}\"", where, key));
    return j.at(key);
  }
  template <typename T>
  T get(const json& j, const char* key, const std::string& where) const {
    const json& v = at(j, key, where);
    try {
      return v.get<T>();
    } catch (const json::exception&) {
      fail(fmt::format("{}: field \"{}\" has the wrong type ({})", where, key, v.dump()));
    }
  }
  template <typename T>
  T get_or(const json& j, const char* key, const std::string& where, T fallback) const {
    return j.contains(key) ? get<T>(j, key, where) : fallback;
  }
  Tensor tensor(const std::string& member) const {
    if (!zip.contains(member)) fail(fmt::format("missing array \"{}\"", member));
    return parse_npy(zip.read(member), path + ":" + member).to_tensor(path + ":" + member);
  }
  Precision precision(const json& j, const char* key, const std::string& where) const {
    const auto s = get<std::string>(j, key, where);
    try {
      return parse_precision(s);
    } catch (const Error& e) {
      fail(fmt::format("{}: {}", where, e.what()));
    }
  }
};

Layer read_layer(const Reader& r, const json& j, size_t index) {
  Layer l;
  l.name = r.get<std::string>(j, "name", fmt::format("layer #{}", index));
  const std::string where = fmt::format("layer '{}'", l.name);
  try {
    l.kind = parse_layer_kind(r.get<std::string>(j, "type", where));
  } catch (const Error& e) {
    r.fail(fmt::format("{}: {}", where, e.what()));
  }
  const json& p = r.at(j, "precision", where);
  l.precision = LayerPrecision{r.precision(p, "weight", where), r.precision(p, "bias", where),
                               r.precision(p, "accum", where), r.precision(p, "result", where)};
  try {
    switch (l.kind) {
      case LayerKind::Dense:
        l.units = r.get<int64_t>(j, "units", where);
        l.use_bias = r.get<bool>(j, "use_bias", where);
        break;
      case LayerKind::Conv1D:
      case LayerKind::Conv2D:
        l.filters = r.get<int64_t>(j, "filters", where);
        l.kernel_size = r.get<std::vector<int64_t>>(j, "kernel_size", where);
        l.strides = r.get<std::vector<int64_t>>(j, "strides", where);
        l.padding = parse_padding(r.get<std::string>(j, "padding", where));
        l.use_bias = r.get<bool>(j, "use_bias", where);
        break;
      case LayerKind::MaxPool1D:
      case LayerKind::MaxPool2D:
      case LayerKind::AvgPool1D:
      case LayerKind::AvgPool2D:
        l.pool_size = r.get<std::vector<int64_t>>(j, "pool_size", where);
        l.strides = r.get<std::vector<int64_t>>(j, "strides", where);
        l.padding = parse_padding(r.get<std::string>(j, "padding", where));
        break;
      case LayerKind::BatchNorm:
        l.epsilon = r.get<double>(j, "epsilon", where);
        l.momentum = r.get<double>(j, "momentum", where);
        break;
      case LayerKind::Activation:
        l.activation = parse_activation(r.get<std::string>(j, "activation", where));
        std::tie(l.alpha, l.beta) = default_activation_params(l.activation);
        l.alpha = r.get_or<double>(j, "alpha", where, l.alpha);
        l.beta = r.get_or<double>(j, "beta", where, l.beta);
        break;
      case LayerKind::Dropout:
        l.rate = r.get<double>(j, "rate", where);
        break;
      case LayerKind::Flatten:
        break;
    }
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(r.path, 0) == 0) throw;
    r.fail(fmt::format("{}: {}", where, msg));
  }
  const json& weights = r.get_or<json>(j, "weights", where, json::object());
  if (!weights.is_object()) r.fail(fmt::format("{}: \"weights\" must be an object", where));
  for (const auto& [key, member] : weights.items()) {
    if (!member.is_string())
      r.fail(fmt::format("{}: weight \"{}\" must name an array", where, key));
    l.weights[key] = r.tensor(member.get<std::string>());
  }
  if (j.contains("mask")) l.mask = r.tensor(r.get<std::string>(j, "mask", where));
  if (j.contains("widths")) l.widths = r.tensor(r.get<std::string>(j, "widths", where));
  if (j.contains("hardware")) {
    const json& hw = j.at("hardware");
    const std::string hw_where = where + " hardware";
    auto positive = [&](const char* key) -> std::optional<int64_t> {
      if (!hw.contains(key)) return std::nullopt;
      const auto v = r.get<int64_t>(hw, key, hw_where);
      if (v < 1) r.fail(fmt::format("{}: \"{}\" must be >= 1, got {}", hw_where, key, v));
      return v;
    };
    try {
      l.hardware.reuse_factor = positive("reuse_factor");
      l.hardware.parallelization_factor = positive("parallelization_factor");
      if (hw.contains("strategy"))
        l.hardware.strategy = parse_strategy(r.get<std::string>(hw, "strategy", hw_where));
      if (hw.contains("io_type"))
        l.hardware.io_type = parse_io_type(r.get<std::string>(hw, "io_type", hw_where));
    } catch (const Error& e) {
      const std::string msg = e.what();
      if (msg.rfind(r.path, 0) == 0) throw;
      r.fail(fmt::format("{}: {}", hw_where, msg));
    }
  }
  return l;
}

}  // namespace

void save_model_file(const std::string& path, const ModelFile& file) {
  Model model = file.model;
  model.infer_shapes();
  ZipWriter zip(path);
  json layers = json::array();
  for (const auto& l : model.layers) layers.push_back(layer_json(l, zip));
  json j{{"format", kFormatName},
         {"version", kModelFormatVersion},
         {"name", model.name},
         {"task", task_str(model.task)},
         {"class_names", model.class_names},
         {"input",
          {{"shape", model.input_shape}, {"precision", precision_str(model.input_precision)}}},
         {"layers", layers},
         {"metadata", model.metadata}};
  if (!model.standardisation.empty()) {
    const auto n = static_cast<int64_t>(model.standardisation.mean.size());
    zip.add("input/mean.npy", npy_bytes(Tensor({n}, model.standardisation.mean)));
    zip.add("input/scale.npy", npy_bytes(Tensor({n}, model.standardisation.scale)));
    j["input"]["standardisation"] = {{"mean", "input/mean.npy"}, {"scale", "input/scale.npy"}};
  }
  if (file.optimizer_state) {
    zip.add(kOptimizerMember, *file.optimizer_state);
    j["training"] = {{"optimizer", file.optimizer_kind}, {"optimizer_state", kOptimizerMember}};
  }
  zip.add("model.json", j.dump(2) + "\n");
  zip.commit();
}

ModelFile load_model_file(const std::string& path) {
  ZipReader zip(path);
  Reader r{path, zip};
  if (!zip.contains("model.json"))
    r.fail("not a hwprune model file (no model.json inside the archive)");
  json j;
  try {
    j = json::parse(zip.read("model.json"));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a huge number
    r.fail(fmt::format("model.json is not valid JSON ({})", e.what()));
  }
  if (r.get<std::string>(j, "format", "model.json") != kFormatName)
    r.fail("model.json: \"format\" is not \"hwprune-model\"");
  const int version = r.get<int>(j, "version", "model.json");
  if (version != kModelFormatVersion)
    r.fail(fmt::format("model format version {} is not supported (this build reads {})", version,
                       kModelFormatVersion));
  ModelFile out;
  Model& m = out.model;
  m.name = r.get<std::string>(j, "name", "model.json");
  const auto task = r.get<std::string>(j, "task", "model.json");
  if (task == "classification") {
    m.task = Task::Classification;
  } else if (task == "regression") {
    m.task = Task::Regression;
  } else {
    r.fail(fmt::format("model.json: unknown task \"{}\"", task));
  }
  m.class_names = r.get_or<std::vector<std::string>>(j, "class_names", "model.json", {});
  const json& input = r.at(j, "input", "model.json");
  m.input_shape = r.get<Shape>(input, "shape", "input");
  m.input_precision = r.precision(input, "precision", "input");
  if (input.contains("standardisation")) {
    const json& s = input.at("standardisation");
    m.standardisation.mean = r.tensor(r.get<std::string>(s, "mean", "standardisation")).data;
    m.standardisation.scale = r.tensor(r.get<std::string>(s, "scale", "standardisation")).data;
    if (m.standardisation.mean.size() != m.standardisation.scale.size() ||
        m.standardisation.mean.empty())
      r.fail("standardisation mean and scale differ in size");
  }
  const json& layers = r.at(j, "layers", "model.json");
  if (!layers.is_array()) r.fail("model.json: \"layers\" must be an array");
  for (size_t i = 0; i < layers.size(); ++i) m.layers.push_back(read_layer(r, layers[i], i));
  m.metadata = r.get_or<std::map<std::string, std::string>>(j, "metadata", "model.json", {});
  if (j.contains("training")) {
    const json& t = j.at("training");
    out.optimizer_kind = r.get<std::string>(t, "optimizer", "training");
    const auto member = r.get<std::string>(t, "optimizer_state", "training");
    if (!zip.contains(member)) r.fail(fmt::format("missing member \"{}\"", member));
    out.optimizer_state = zip.read(member);
  }
  try {
    m.infer_shapes();
  } catch (const Error& e) {
    r.fail(e.what());
  }
  const int64_t sample = shape_numel(m.input_shape);
  const auto ns = static_cast<int64_t>(m.standardisation.mean.size());
  if (ns > 1 && ns != sample)
    r.fail(fmt::format("standardisation has {} entries, the input has {} features", ns, sample));
  return out;
}

}  // namespace hwprune::io
