// Writes the fuzz targets' seed corpora, made with hwprune's own writers from the seed models
// (fuzz.hpp): fuzz_seeds <folder> gives <folder>/<target>/<seed> for every target.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <fmt/format.h>

#include "fuzz.hpp"
#include "hwprune/io/hls_config.hpp"
#include "hwprune/io/keras.hpp"
#include "hwprune/io/model_file.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/onnx.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/util/fs.hpp"

using namespace hwprune;
namespace fs = std::filesystem;

namespace {

using Seeds = std::map<std::string, std::string>;  // seed name -> bytes

const std::map<std::string, Model>& models() {
  static const std::map<std::string, Model> m = {{"every-float", fuzz::every_layer_float()},
                                                 {"every-q", fuzz::every_layer_quantized()},
                                                 {"conv2d-q", fuzz::conv2d_quantized()}};
  return m;
}

// A file written by one of hwprune's writers, read back.
std::string made(const std::string& name, const std::function<void(const std::string&)>& write) {
  const std::string path = (fuzz::work_dir() / name).string();
  write(path);
  return read_file(path);
}

Seeds precision() {
  Seeds s;
  int i = 0;
  for (const char* t : {"float", "ap_fixed<16,6>", "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>", "ap_int<8>",
                        "ap_fixed<12,4,AP_RND,AP_SAT_SYM>", "fixed<6,1,RND_CONV,SAT>", "uint<3>",
                        "quantized_bits(6,0,alpha=1)", "quantized_relu(6,0)",
                        "quantized_bits(8,3,keep_negative=0,alpha=1)"})
    s[fmt::format("s{}", i++)] = t;
  for (const auto& [name, model] : models())
    for (const auto& l : model.layers)
      for (const auto& p : {l.precision.weight, l.precision.result})
        if (p) {
          s[name + "-" + l.name] = p->str();
          if (io::qkeras_exact(*p))
            s[name + "-" + l.name + "-qkeras"] = io::qkeras_quantizer_str(*p);
        }
  return s;
}

Seeds npy() {
  Seeds s;
  for (const auto& [name, model] : models())
    for (const auto& l : model.layers)
      for (const auto& [key, t] : l.weights) s[name + "-" + l.name + "-" + key] = io::npy_bytes(t);
  s["int64"] = io::npy_bytes(std::vector<int64_t>{0, 1, 2, 1, 0, -7}, Shape{2, 3});
  s["scalar"] = io::npy_bytes(Tensor(Shape{}, std::vector<float>{1.5f}));
  return s;
}

std::string npz_bytes(const Tensor& x, const std::vector<int64_t>& y, const std::string& xn,
                      const std::string& yn) {
  return made("d.npz", [&](const std::string& path) {
    io::ZipWriter zip(path);
    zip.add(xn + ".npy", io::npy_bytes(x));
    zip.add(yn + ".npy", io::npy_bytes(y, Shape{static_cast<int64_t>(y.size())}));
    zip.commit();
  });
}

Seeds npz() {
  const Tensor x({4, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  return {{"xy", npz_bytes(x, {0, 1, 1, 0}, "x", "y")},
          {"XY", npz_bytes(x, {2, 0, 1, 2}, "X", "Y")}};
}

Seeds csv() {
  return {{"header", "\nf1,f2,label\n0.5,1,a\n-2,3e2,b\n7,8,a\n"},
          {"no-header", ",header=no,label=0\n1,0.5,0.25\n0,1.5,2\n"},
          {"named", ",label=class,delimiter=;\nclass;x;y\ncat;1;2\ndog;3;4\n"},
          {"regression", ",task=regression\nx,y\n1,2.5\n2,3.5\n"},
          {"unlabelled", ",label=none\n1,2,3\n4,5,6\n"},
          {"quoted", "\n\"a,b\",c\n\"1\",2\n\"3\",4\n"}};
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

Seeds idx() {
  // 3 images of 2x2 unsigned bytes (magic 0x00000803), 3 labels (0x00000801).
  const std::string images = be32(0x803) + be32(3) + be32(2) + be32(2) +
                             std::string("\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xff", 12);
  const std::string labels = be32(0x801) + be32(3) + std::string("\x00\x01\x02", 3);
  return {{"pair", images + "\nLABELS\n" + labels}, {"images", images}};
}

Seeds model_file() {
  Seeds s;
  for (const auto& [name, model] : models()) {
    const Model& m = model;  // a reference the lambda can capture (not a binding)
    s[name] = made(name + ".hwp", [&](const std::string& p) { io::save_model(p, m); });
  }
  return s;
}

Seeds model_json() {
  Seeds s;
  for (const char* name : {"every-float", "every-q"}) {
    const std::string path = (fuzz::work_dir() / (std::string(name) + ".hwp")).string();
    io::save_model(path, models().at(name));
    s[name] = io::ZipReader(path).read("model.json");
  }
  return s;
}

Seeds onnx() {
  Seeds s;
  for (const auto& [name, model] : models()) {
    const Model& m = model;
    for (const bool quant : {true, false})
      s[name + (quant ? "-qonnx" : "-plain")] = made(name + ".onnx", [&](const std::string& p) {
        io::save_onnx(m, p, {.quant_nodes = quant});
      });
  }
  return s;
}

Seeds keras(bool want_json) {
  Seeds s;
  for (const auto& [name, model] : models()) {
    const Model& m = model;
    for (const auto flavour : {io::KerasFlavour::Plain, io::KerasFlavour::QKeras}) {
      const std::string tag = name + (flavour == io::KerasFlavour::QKeras ? "-qkeras" : "-plain");
      const std::string json = (fuzz::work_dir() / (tag + ".json")).string();
      const std::string h5 = (fuzz::work_dir() / (tag + "_weights.h5")).string();
      io::save_keras(m, json, h5, {flavour});
      s[tag] = read_file(want_json ? json : h5);
      if (!want_json)
        s[tag + "-full"] =
            made(tag + ".h5", [&](const std::string& p) { io::save_keras_h5(m, p, {flavour}); });
    }
  }
  return s;
}

Seeds hls_yaml() {
  Seeds s;
  io::HlsExportOptions keras, onnx, conv;
  keras.keras_json = "e.json";
  keras.keras_h5 = "e_weights.h5";
  onnx.onnx_model = "e.onnx";
  conv.keras_json = "c.json";
  conv.keras_h5 = "c_weights.h5";
  conv.io_type = IoType::Stream;
  s["keras"] = io::hls_config_yaml(models().at("every-q"), keras);
  s["onnx"] = io::hls_config_yaml(models().at("every-q"), onnx);
  s["conv-stream"] = io::hls_config_yaml(models().at("conv2d-q"), conv);
  return s;
}

Seeds sweep_spec() {
  Seeds s;
  s["letter"] = read_file(std::string(HWPRUNE_SOURCE_DIR) + "/docs/examples/letter-sweep.yml");
  s["points"] =
      "base: {model: m.hwp, data: letter}\n"
      "points:\n  - {rf: 2, strategy: resource}\n  - {rf: 4, threads: 2, widths: [8, 6]}\n"
      "synth: {}\nexecutor: local\nworkers: 2\n";
  s["slurm"] =
      "base: {model: m.hwp, data: letter}\ngrid: {seed: [1, 2], rtol: [0.01, 0.02]}\n"
      "executor: slurm\nslurm: {partition: debug, time: '00:10:00', mem: 2G, extra: "
      "[--exclusive]}\n";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <folder>\n", argv[0]);
    return 2;
  }
  const std::map<std::string, std::function<Seeds()>> targets = {
      {"precision", precision},
      {"npy", npy},
      {"npz", npz},
      {"csv", csv},
      {"idx", idx},
      {"model_file", model_file},
      {"model_json", model_json},
      {"onnx", onnx},
      {"keras_json", [] { return keras(true); }},
      {"keras_h5", [] { return keras(false); }},
      {"hls_yaml", hls_yaml},
      {"sweep_spec", sweep_spec}};
  try {
    for (const auto& [target, make] : targets) {
      const fs::path dir = fs::path(argv[1]) / target;
      fs::create_directories(dir);
      for (const auto& [name, bytes] : make()) write_file_atomic((dir / name).string(), bytes);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
