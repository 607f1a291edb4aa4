// ONNX / QONNX models: the protobuf, the graph and its Quant nodes, into the IR.
#include "fuzz.hpp"
#include "hwprune/io/onnx.hpp"

using namespace hwprune;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      fuzz::write("m.onnx", std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::expect_clean([&] { fuzz::check_loaded(io::load_onnx(path), path); }, {"m.onnx"});
  return 0;
}
