// LUT multiplier modules and their Yosys measurement (the table of hw/lut_costs.hpp).
#include "hwprune/rtl/lut_products.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "hwprune/hw/lut_costs.hpp"
#include "hwprune/rtl/synth.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::rtl {

namespace {

void check_shape(const ProductShape& s) {
  if (s.input_bits < 1 || s.input_bits > 64 || s.weight_bits < 1 || s.weight_bits > 64)
    throw Error(
        fmt::format("product {} x {} bits: widths must be in 1..64", s.weight_bits, s.input_bits));
  if (s.constant) {
    const hw::OddPart o = hw::odd_part(s.value);
    if (o.value != s.value || o.bits != s.weight_bits)
      throw Error(fmt::format("product constant {}: not an odd constant of {} signed bits", s.value,
                              s.weight_bits));
  }
}

// The constant as a sized signed Verilog literal.
std::string constant_literal(int64_t value, int bits) {
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  return fmt::format("$signed({}'h{:x})", bits, static_cast<uint64_t>(value) & mask);
}

}  // namespace

ProductShape variable_product(int weight_bits, int input_bits) {
  return ProductShape{false, weight_bits, 0, input_bits};
}

ProductShape constant_product(int64_t odd, int input_bits) {
  return ProductShape{true, hw::odd_part(odd).bits, odd, input_bits};
}

std::string product_module_name(const ProductShape& s, const std::string& prefix) {
  if (!s.constant) return fmt::format("{}lutmul_w{}_x{}", prefix, s.weight_bits, s.input_bits);
  return fmt::format("{}lutmul_c{}{}_x{}", prefix, s.value < 0 ? "m" : "",
                     s.value < 0 ? -static_cast<uint64_t>(s.value) : static_cast<uint64_t>(s.value),
                     s.input_bits);
}

std::string product_module(const ProductShape& s, const std::string& prefix) {
  check_shape(s);
  const int pw = s.weight_bits + s.input_bits;
  const std::string name = product_module_name(s, prefix);
  if (s.constant)
    return fmt::format(
        "// LUT multiplier: the constant {} times a signed {}-bit input (full product).\n"
        "module {} (\n  input [{}:0] x,\n  output [{}:0] p\n);\n"
        "  assign p = $signed(x) * (* hwprune_lut *) {};\nendmodule\n\n",
        s.value, s.input_bits, name, s.input_bits - 1, pw - 1,
        constant_literal(s.value, s.weight_bits));
  return fmt::format(
      "// LUT multiplier: a signed {}-bit weight times a signed {}-bit input (full product),\n"
      "// synthesised out of context (rtl/synth.hpp).\n"
      "(* hwprune_ooc *)\nmodule {} (\n  input [{}:0] x,\n  input [{}:0] w,\n  output [{}:0] "
      "p\n);\n"
      "  assign p = $signed(x) * (* hwprune_lut *) $signed(w);\nendmodule\n\n",
      s.weight_bits, s.input_bits, name, s.input_bits - 1, s.weight_bits - 1, pw - 1);
}

std::vector<int64_t> measure_product_luts(const std::vector<ProductShape>& shapes,
                                          const hw::Device& device, const std::string& work_dir) {
  if (shapes.empty()) return {};
  const std::string top = "lutmul_top";
  std::string modules, ports, body;
  for (size_t k = 0; k < shapes.size(); ++k) {
    const ProductShape& s = shapes[k];
    modules += product_module(s);
    const int pw = s.weight_bits + s.input_bits;
    ports += fmt::format("  input [{}:0] x{},\n", s.input_bits - 1, k);
    if (!s.constant) ports += fmt::format("  input [{}:0] w{},\n", s.weight_bits - 1, k);
    ports += fmt::format("  output [{}:0] p{}{}\n", pw - 1, k, k + 1 < shapes.size() ? "," : "");
    body += fmt::format("  {} u{} (.x(x{}){}, .p(p{}));\n", product_module_name(s), k, k,
                        s.constant ? "" : fmt::format(", .w(w{})", k), k);
  }
  const std::string verilog =
      modules + fmt::format("module {} (\n{});\n{}endmodule\n", top, ports, body);
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create folder ({})", work_dir, ec.message()));
  const std::string path = (std::filesystem::path(work_dir) / "lutmul.v").string();
  write_file_atomic(path, verilog);
  const SynthReport report = synthesize(path, top, device, work_dir);
  std::vector<int64_t> luts;
  luts.reserve(shapes.size());
  for (const ProductShape& s : shapes) {
    const auto it = report.hierarchy.find(product_module_name(s));
    // A module with no cells left (a product by +-1 is wiring) may be absent from the report.
    luts.push_back(it == report.hierarchy.end() ? 0 : it->second.own.lut);
  }
  return luts;
}

}  // namespace hwprune::rtl
