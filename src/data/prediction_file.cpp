// Predictions as files (.csv, .npy, .npz) and as JSON (see predict.hpp).
#include <filesystem>

#include <fmt/format.h>

#include "hwprune/data/predict.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::data {

namespace {

bool has_labels(const Dataset* rows, const Predictions& p) {
  return rows && rows->labelled() && rows->size() == p.rows;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string class_name(const Model& m, int64_t c) {
  return c < static_cast<int64_t>(m.class_names.size()) ? m.class_names[static_cast<size_t>(c)]
                                                        : std::to_string(c);
}

}  // namespace

std::string predictions_csv(const Predictions& p, const Model& model, const Dataset* rows) {
  const bool labels = has_labels(rows, p);
  const bool cls = !p.predicted.empty();
  const bool regression_targets = labels && rows->task == Task::Regression;
  const int64_t k = p.outputs;
  std::string out = "row";
  if (labels) {
    if (regression_targets) {
      for (int64_t j = 0; j < rows->targets.numel() / p.rows; ++j)
        out += fmt::format(",target_{}", j);
    } else {
      out += ",label";
    }
  }
  if (cls) out += ",predicted,predicted_class";
  for (int64_t j = 0; j < k; ++j) out += fmt::format(",score_{}", j);
  if (!p.probabilities.data.empty())
    for (int64_t j = 0; j < k; ++j) out += fmt::format(",probability_{}", j);
  if (!p.raw.empty())
    for (int64_t j = 0; j < k; ++j) out += fmt::format(",raw_{}", j);
  out += '\n';
  for (int64_t r = 0; r < p.rows; ++r) {
    out += std::to_string(r);
    if (labels) {
      if (regression_targets) {
        const int64_t w = rows->targets.numel() / p.rows;
        for (int64_t j = 0; j < w; ++j)
          out += fmt::format(",{}", rows->targets.data[static_cast<size_t>(r * w + j)]);
      } else {
        out += fmt::format(",{}", rows->labels[static_cast<size_t>(r)]);
      }
    }
    if (cls) {
      const int32_t c = p.predicted[static_cast<size_t>(r)];
      out += fmt::format(",{},{}", c, csv_cell(class_name(model, c)));
    }
    for (int64_t j = 0; j < k; ++j)
      out += fmt::format(",{}", p.scores.data[static_cast<size_t>(r * k + j)]);
    if (!p.probabilities.data.empty())
      for (int64_t j = 0; j < k; ++j)
        out += fmt::format(",{}", p.probabilities.data[static_cast<size_t>(r * k + j)]);
    if (!p.raw.empty())
      for (int64_t j = 0; j < k; ++j)
        out += fmt::format(",{}", p.raw[static_cast<size_t>(r * k + j)]);
    out += '\n';
  }
  return out;
}

namespace {

std::string npy(const Predictions& p) {
  if (!p.raw.empty()) return io::npy_bytes(p.raw, {p.rows, p.outputs});
  return io::npy_bytes(p.probabilities.data.empty() ? p.scores : p.probabilities);
}

void write_npz(const std::string& path, const Predictions& p, const Dataset* rows) {
  io::ZipWriter z(path);
  z.add("scores.npy", io::npy_bytes(p.scores));
  if (!p.probabilities.data.empty()) z.add("probabilities.npy", io::npy_bytes(p.probabilities));
  if (!p.predicted.empty()) {
    const std::vector<int64_t> pred(p.predicted.begin(), p.predicted.end());
    z.add("predicted.npy", io::npy_bytes(pred, {p.rows}));
  }
  if (!p.raw.empty()) z.add("raw.npy", io::npy_bytes(p.raw, {p.rows, p.outputs}));
  if (has_labels(rows, p)) {
    if (rows->task == Task::Classification) {
      const std::vector<int64_t> labels(rows->labels.begin(), rows->labels.end());
      z.add("labels.npy", io::npy_bytes(labels, {p.rows}));
    } else {
      z.add("targets.npy", io::npy_bytes(rows->targets));
    }
  }
  z.commit();
}

}  // namespace

void write_predictions(const std::string& path, const Predictions& p, const Model& model,
                       const Dataset* rows) {
  switch (kPredictionFormats.parse(std::filesystem::path(path).extension().string())) {
    case PredictionFormat::Csv:
      return write_file_atomic(path, predictions_csv(p, model, rows));
    case PredictionFormat::Npy:
      return write_file_atomic(path, npy(p));
    case PredictionFormat::Npz:
      return write_npz(path, p, rows);
  }
}

nlohmann::json to_json(const Predictions& p, const Model& model, const Dataset* rows) {
  using nlohmann::json;
  const bool labels = has_labels(rows, p);
  const int64_t k = p.outputs;
  json out = json::array();
  for (int64_t r = 0; r < p.rows; ++r) {
    auto slice = [&](const std::vector<float>& v) {
      return std::vector<float>(v.begin() + r * k, v.begin() + (r + 1) * k);
    };
    json row{{"row", r}, {"scores", slice(p.scores.data)}};
    if (!p.predicted.empty()) {
      const int32_t c = p.predicted[static_cast<size_t>(r)];
      row["predicted"] = c;
      row["predicted_class"] = class_name(model, c);
    }
    if (!p.probabilities.data.empty()) row["probabilities"] = slice(p.probabilities.data);
    if (!p.raw.empty())
      row["raw"] = std::vector<int64_t>(p.raw.begin() + r * k, p.raw.begin() + (r + 1) * k);
    if (labels && rows->task == Task::Classification)
      row["label"] = rows->labels[static_cast<size_t>(r)];
    out.push_back(std::move(row));
  }
  json j{{"outputs", k}, {"rows", out}};
  if (model.task == Task::Classification) j["class_names"] = model.class_names;
  if (p.raw_type) j["raw_type"] = p.raw_type->str();
  return j;
}

}  // namespace hwprune::data
