// ONNX import/export of the model IR (QONNX Quant nodes for fixed-point precisions), plus a
// plain C++ view of an ONNX graph (no protobuf types) for tools and tests. See docs/onnx.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hwprune/ir/model.hpp"

namespace hwprune::io {

// Reads an ONNX model (ai.onnx opsets 9-17, optional QONNX Quant nodes) whose graph is a
// single-input, single-output chain of supported ops, and converts it to the IR: weights in
// Keras layout, channels-last activations (a channels-first input (N, C, H, W) becomes the
// IR input (H, W, C): feed channels-last data). Throws Error naming the file and the node at
// fault for anything the IR cannot express exactly.
Model load_onnx(const std::string& path);

struct OnnxExportOptions {
  bool quant_nodes = true;  // QONNX Quant nodes for every fixed-point precision
  int64_t opset = 13;       // ai.onnx opset, 9..17
};

// Writes the model as ONNX (atomically: a failed save leaves an existing file untouched).
// The graph takes the IR's channels-last input (N, ...input_shape) and gives the IR's output.
void save_onnx(const Model& model, const std::string& path, const OnnxExportOptions& options = {});

// Runs libonnx's checker and strict shape inference on a file; Error with its message.
void check_onnx(const std::string& path);

// ---- Plain view of an ONNX graph ----------------------------------------------------------

enum class OnnxType { Float, Double, Int64, Int32 };

struct OnnxTensor {
  Shape dims;
  std::vector<double> values;  // row-major; exact for every supported type
  OnnxType type = OnnxType::Float;
};

struct OnnxAttribute {
  enum class Kind { Int, Float, String, Ints, Floats, Tensor, Other };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  OnnxTensor tensor;

  static OnnxAttribute of_int(int64_t v);
  static OnnxAttribute of_float(double v);
  static OnnxAttribute of_string(std::string v);
  static OnnxAttribute of_ints(std::vector<int64_t> v);
};

struct OnnxNode {
  std::string name, op_type, domain;  // domain "" is ai.onnx
  std::vector<std::string> inputs, outputs;
  std::map<std::string, OnnxAttribute> attributes;
  const OnnxAttribute* attribute(const std::string& key) const;  // nullptr if absent
};

struct OnnxValueInfo {
  std::string name;
  int32_t elem_type = 1;  // ONNX TensorProto data type (1 = float32)
  bool has_shape = false;
  Shape dims;  // -1 for a symbolic or unknown dimension
};

struct OnnxGraph {
  int64_t ir_version = 0;                 // 0 when writing: derived from the ai.onnx opset
  std::map<std::string, int64_t> opsets;  // domain ("" = ai.onnx) -> version
  std::string producer_name, producer_version;
  std::map<std::string, std::string> metadata;  // ModelProto.metadata_props
  std::string name;
  std::vector<OnnxValueInfo> inputs, outputs;
  std::vector<OnnxValueInfo> value_info;  // GraphProto.value_info: types/shapes of other values
  std::vector<OnnxNode> nodes;            // in file order
  std::map<std::string, OnnxTensor> initializers;
};

// Reads the main graph of an ONNX file. Error naming the file for anything that is not a
// readable ONNX model (not protobuf, external data, unsupported tensor types).
OnnxGraph read_onnx_graph(const std::string& path);
// Writes a graph as an ONNX file, atomically; no checking (see check_onnx).
void write_onnx_graph(const OnnxGraph& graph, const std::string& path);
// The ONNX IR version that goes with an ai.onnx opset (9 -> 4, ..., 13 -> 7, 17 -> 8).
int64_t onnx_ir_version_for_opset(int64_t opset);

}  // namespace hwprune::io
