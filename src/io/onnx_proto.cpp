// The only translation unit that touches ONNX protobuf types: OnnxGraph <-> ModelProto, and
// the libonnx checker.
#include <bit>
#include <cstring>

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "hwprune/io/onnx.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::io {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian");

namespace {

onnx::ModelProto parse_model(const std::string& path) {
  const std::string bytes = read_file(path);
  onnx::ModelProto proto;
  if (bytes.empty() || !proto.ParseFromString(bytes))
    throw Error(fmt::format("{}: not an ONNX model (protobuf parsing failed)", path));
  if (!proto.has_graph() || proto.graph().node_size() == 0)
    throw Error(fmt::format("{}: not an ONNX model (no graph nodes)", path));
  return proto;
}

template <typename T>
void copy_raw(const std::string& raw, std::vector<double>& out) {
  const size_t n = raw.size() / sizeof(T);
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

OnnxTensor read_tensor(const onnx::TensorProto& t, const std::string& path,
                       const std::string& where) {
  OnnxTensor out;
  const std::string name = fmt::format("{}: {}", path, where);
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(fmt::format("{}: external tensor data is not supported", name));
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) throw Error(fmt::format("{}: negative dimension {}", name, d));
    out.dims.push_back(d);
    if (__builtin_mul_overflow(numel, d, &numel) || numel > (int64_t{1} << 40))
      throw Error(fmt::format("{}: dimensions {} are too large", name, shape_str(out.dims)));
  }
  size_t elem = 0;
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      out.type = OnnxType::Float;
      elem = 4;
      break;
    case onnx::TensorProto::DOUBLE:
      out.type = OnnxType::Double;
      elem = 8;
      break;
    case onnx::TensorProto::INT64:
      out.type = OnnxType::Int64;
      elem = 8;
      break;
    case onnx::TensorProto::INT32:
      out.type = OnnxType::Int32;
      elem = 4;
      break;
    default:
      throw Error(
          fmt::format("{}: data type {} is not supported (float32, float64, int32, int64 are)",
                      name, t.data_type()));
  }
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(numel) * elem)
      throw Error(fmt::format("{}: raw_data holds {} bytes, expected {}", name, raw.size(),
                              static_cast<size_t>(numel) * elem));
    switch (out.type) {
      case OnnxType::Float:
        copy_raw<float>(raw, out.values);
        break;
      case OnnxType::Double:
        copy_raw<double>(raw, out.values);
        break;
      case OnnxType::Int64:
        copy_raw<int64_t>(raw, out.values);
        break;
      case OnnxType::Int32:
        copy_raw<int32_t>(raw, out.values);
        break;
    }
  } else {
    switch (out.type) {
      case OnnxType::Float:
        out.values.assign(t.float_data().begin(), t.float_data().end());
        break;
      case OnnxType::Double:
        out.values.assign(t.double_data().begin(), t.double_data().end());
        break;
      case OnnxType::Int64:
        for (int64_t v : t.int64_data()) out.values.push_back(static_cast<double>(v));
        break;
      case OnnxType::Int32:
        out.values.assign(t.int32_data().begin(), t.int32_data().end());
        break;
    }
    if (static_cast<int64_t>(out.values.size()) != numel)
      throw Error(fmt::format("{}: holds {} values for dims {}", name, out.values.size(),
                              shape_str(out.dims)));
  }
  return out;
}

void write_tensor(const std::string& name, const OnnxTensor& t, onnx::TensorProto& p) {
  p.set_name(name);
  for (int64_t d : t.dims) p.add_dims(d);
  switch (t.type) {
    case OnnxType::Float: {
      p.set_data_type(onnx::TensorProto::FLOAT);
      std::string raw(t.values.size() * sizeof(float), '\0');
      for (size_t i = 0; i < t.values.size(); ++i) {
        const float v = static_cast<float>(t.values[i]);
        std::memcpy(raw.data() + i * sizeof(float), &v, sizeof(float));
      }
      p.set_raw_data(raw);
      break;
    }
    case OnnxType::Double:
      p.set_data_type(onnx::TensorProto::DOUBLE);
      for (double v : t.values) p.add_double_data(v);
      break;
    case OnnxType::Int64:
      p.set_data_type(onnx::TensorProto::INT64);
      for (double v : t.values) p.add_int64_data(static_cast<int64_t>(v));
      break;
    case OnnxType::Int32:
      p.set_data_type(onnx::TensorProto::INT32);
      for (double v : t.values) p.add_int32_data(static_cast<int32_t>(v));
      break;
  }
}

OnnxAttribute read_attribute(const onnx::AttributeProto& a, const std::string& path,
                             const std::string& where) {
  OnnxAttribute out;
  auto type = a.type();
  if (type == onnx::AttributeProto::UNDEFINED) {  // very old files: infer from the fields
    if (a.has_f())
      type = onnx::AttributeProto::FLOAT;
    else if (a.has_i())
      type = onnx::AttributeProto::INT;
    else if (a.has_s())
      type = onnx::AttributeProto::STRING;
    else if (a.has_t())
      type = onnx::AttributeProto::TENSOR;
    else if (a.floats_size() > 0)
      type = onnx::AttributeProto::FLOATS;
    else if (a.ints_size() > 0)
      type = onnx::AttributeProto::INTS;
  }
  switch (type) {
    case onnx::AttributeProto::INT:
      out.kind = OnnxAttribute::Kind::Int;
      out.i = a.i();
      break;
    case onnx::AttributeProto::FLOAT:
      out.kind = OnnxAttribute::Kind::Float;
      out.f = a.f();
      break;
    case onnx::AttributeProto::STRING:
      out.kind = OnnxAttribute::Kind::String;
      out.s = a.s();
      break;
    case onnx::AttributeProto::INTS:
      out.kind = OnnxAttribute::Kind::Ints;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      out.kind = OnnxAttribute::Kind::Floats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::TENSOR:
      out.kind = OnnxAttribute::Kind::Tensor;
      out.tensor = read_tensor(a.t(), path, fmt::format("{} attribute '{}'", where, a.name()));
      break;
    default:
      out.kind = OnnxAttribute::Kind::Other;
      break;
  }
  return out;
}

void write_attribute(const std::string& key, const OnnxAttribute& a, onnx::AttributeProto& p) {
  p.set_name(key);
  switch (a.kind) {
    case OnnxAttribute::Kind::Int:
      p.set_type(onnx::AttributeProto::INT);
      p.set_i(a.i);
      break;
    case OnnxAttribute::Kind::Float:
      p.set_type(onnx::AttributeProto::FLOAT);
      p.set_f(static_cast<float>(a.f));
      break;
    case OnnxAttribute::Kind::String:
      p.set_type(onnx::AttributeProto::STRING);
      p.set_s(a.s);
      break;
    case OnnxAttribute::Kind::Ints:
      p.set_type(onnx::AttributeProto::INTS);
      for (int64_t v : a.ints) p.add_ints(v);
      break;
    case OnnxAttribute::Kind::Floats:
      p.set_type(onnx::AttributeProto::FLOATS);
      for (double v : a.floats) p.add_floats(static_cast<float>(v));
      break;
    case OnnxAttribute::Kind::Tensor:
      p.set_type(onnx::AttributeProto::TENSOR);
      write_tensor("", a.tensor, *p.mutable_t());
      break;
    case OnnxAttribute::Kind::Other:
      throw Error(fmt::format("attribute '{}': cannot write an attribute of kind 'other'", key));
  }
}

OnnxValueInfo read_value_info(const onnx::ValueInfoProto& v) {
  OnnxValueInfo out;
  out.name = v.name();
  if (v.type().has_tensor_type()) {
    const auto& tt = v.type().tensor_type();
    out.elem_type = tt.elem_type();
    if (tt.has_shape()) {
      out.has_shape = true;
      for (const auto& d : tt.shape().dim())
        out.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
  } else {
    out.elem_type = 0;
  }
  return out;
}

void write_value_info(const OnnxValueInfo& v, onnx::ValueInfoProto& p) {
  p.set_name(v.name);
  auto* tt = p.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(v.elem_type);
  if (!v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < v.dims.size(); ++i) {
    auto* d = shape->add_dim();
    if (v.dims[i] >= 0)
      d->set_dim_value(v.dims[i]);
    else
      d->set_dim_param(i == 0 ? "batch" : fmt::format("d{}", i));
  }
}

}  // namespace

OnnxAttribute OnnxAttribute::of_int(int64_t v) {
  OnnxAttribute a;
  a.kind = Kind::Int;
  a.i = v;
  return a;
}

OnnxAttribute OnnxAttribute::of_float(double v) {
  OnnxAttribute a;
  a.kind = Kind::Float;
  a.f = v;
  return a;
}

OnnxAttribute OnnxAttribute::of_string(std::string v) {
  OnnxAttribute a;
  a.kind = Kind::String;
  a.s = std::move(v);
  return a;
}

OnnxAttribute OnnxAttribute::of_ints(std::vector<int64_t> v) {
  OnnxAttribute a;
  a.kind = Kind::Ints;
  a.ints = std::move(v);
  return a;
}

const OnnxAttribute* OnnxNode::attribute(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? nullptr : &it->second;
}

int64_t onnx_ir_version_for_opset(int64_t opset) {
  if (opset < 9 || opset > 17)
    throw Error(fmt::format("ONNX opset {} is not supported (9..17)", opset));
  if (opset <= 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

OnnxGraph read_onnx_graph(const std::string& path) {
  const onnx::ModelProto proto = parse_model(path);
  OnnxGraph g;
  g.ir_version = proto.ir_version();
  for (const auto& op : proto.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    g.opsets[domain] = op.version();
  }
  g.producer_name = proto.producer_name();
  g.producer_version = proto.producer_version();
  for (const auto& kv : proto.metadata_props()) g.metadata[kv.key()] = kv.value();
  const auto& graph = proto.graph();
  g.name = graph.name();
  for (const auto& v : graph.input()) g.inputs.push_back(read_value_info(v));
  for (const auto& v : graph.output()) g.outputs.push_back(read_value_info(v));
  for (const auto& v : graph.value_info()) g.value_info.push_back(read_value_info(v));
  for (const auto& t : graph.initializer())
    g.initializers[t.name()] = read_tensor(t, path, fmt::format("initializer '{}'", t.name()));
  if (graph.sparse_initializer_size() > 0)
    throw Error(fmt::format("{}: sparse initializers are not supported", path));
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& n = graph.node(i);
    OnnxNode node;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    const std::string where = n.name().empty()
                                  ? fmt::format("node #{} ({})", i, n.op_type())
                                  : fmt::format("node '{}' ({})", n.name(), n.op_type());
    for (const auto& a : n.attribute()) node.attributes[a.name()] = read_attribute(a, path, where);
    g.nodes.push_back(std::move(node));
  }
  return g;
}

void write_onnx_graph(const OnnxGraph& g, const std::string& path) {
  onnx::ModelProto proto;
  const auto ai = g.opsets.find("");
  if (ai == g.opsets.end()) throw Error(fmt::format("{}: graph has no ai.onnx opset", path));
  proto.set_ir_version(g.ir_version > 0 ? g.ir_version : onnx_ir_version_for_opset(ai->second));
  for (const auto& [domain, version] : g.opsets) {
    auto* op = proto.add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  proto.set_producer_name(g.producer_name);
  proto.set_producer_version(g.producer_version);
  for (const auto& [key, value] : g.metadata) {
    auto* kv = proto.add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }
  auto* graph = proto.mutable_graph();
  graph->set_name(g.name);
  for (const auto& v : g.inputs) write_value_info(v, *graph->add_input());
  for (const auto& v : g.outputs) write_value_info(v, *graph->add_output());
  for (const auto& v : g.value_info) write_value_info(v, *graph->add_value_info());
  for (const auto& [name, t] : g.initializers) write_tensor(name, t, *graph->add_initializer());
  for (const auto& n : g.nodes) {
    auto* p = graph->add_node();
    p->set_name(n.name);
    p->set_op_type(n.op_type);
    if (!n.domain.empty()) p->set_domain(n.domain);
    for (const auto& in : n.inputs) p->add_input(in);
    for (const auto& out : n.outputs) p->add_output(out);
    for (const auto& [key, a] : n.attributes) write_attribute(key, a, *p->add_attribute());
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    throw Error(fmt::format("{}: could not serialise the ONNX model", path));
  write_file_atomic(path, bytes);
}

void check_onnx(const std::string& path) {
  onnx::ModelProto proto = parse_model(path);
  try {
    onnx::checker::check_model(proto);
    // Full check: type-checked, strict shape inference (custom-domain ops are skipped).
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: ONNX check failed: {}", path, e.what()));
  }
}

}  // namespace hwprune::io
