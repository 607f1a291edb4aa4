// Verilog generation of a pruned Dense/ReLU network (io_parallel), bit-exact with the integer
// model. Design notes (interface, timing, what is refused): docs/rtl.md.
#include "hwprune/rtl/verilog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "hwprune/hw/estimate.hpp"
#include "hwprune/hw/stream.hpp"
#include "hwprune/rtl/lut_products.hpp"
#include "hwprune/util/error.hpp"

namespace hwprune::rtl {

namespace {

// A value inside a layer module: a wire (or reg) `name` of `width` bits holding a two's
// complement integer r; the real value is r * 2^-frac. Unsigned fixed-point types are held
// with one extra (zero) sign bit, so every value is signed.
struct Val {
  std::string name;
  int width = 0;
  int frac = 0;
};

// The `width` binary digits of `value` (sign-extended / truncated), most significant first.
std::string digits(int width, int64_t value) {
  std::string bits(static_cast<size_t>(width), '0');
  for (int b = 0; b < width; ++b) {
    const int src = std::min(b, 63);
    if ((static_cast<uint64_t>(value) >> src) & 1u) bits[static_cast<size_t>(width - 1 - b)] = '1';
  }
  return bits;
}

// Verilog sized binary literal of `value` (sign-extended / truncated to `width` bits).
std::string lit(int width, int64_t value) {
  return fmt::format("{}'b{}", width, digits(width, value));
}

int clog2(int64_t n) {  // bits to count 0..n-1 (at least 1)
  int b = 1;
  while ((int64_t{1} << b) < n) ++b;
  return b;
}

// A LUT multiplier module the design uses: (constant, odd value or weight bits, input bits).
using ProductKey = std::tuple<bool, int64_t, int>;

std::string ident(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "l_" + out;
  return out;
}

// Combinational logic of one module body, with fresh wire names.
class Body {
 public:
  std::string text;   // module mode: wire declarations; function mode: statements
  std::string decls;  // function mode: reg declarations
  bool function_mode = false;

  std::string fresh(const std::string& prefix) { return fmt::format("{}_{}", prefix, counter_++); }

  // Declares `wire [width-1:0] name = expr;` (in a function: a reg and a blocking
  // assignment) and returns name.
  std::string wire(const std::string& prefix, int width, const std::string& expr) {
    const std::string n = fresh(prefix);
    if (function_mode) {
      decls += fmt::format("    reg [{}:0] {};\n", width - 1, n);
      text += fmt::format("      {} = {};\n", n, expr);
    } else {
      text += fmt::format("  wire [{}:0] {} = {};\n", width - 1, n, expr);
    }
    return n;
  }

  // `v` sign-extended to `width` >= v.width bits (an expression).
  static std::string sext(const Val& v, int width) {
    if (width == v.width) return v.name;
    return fmt::format("{{{{{}{{{}[{}]}}}}, {}}}", width - v.width, v.name, v.width - 1, v.name);
  }

  // Integer-model cast of `src` to type `t` (FixedType::requantize): rounding of the dropped
  // fraction bits per t.quant, then overflow per t.overflow. Returns a signed_width(t) value.
  Val cast(const Val& src, const FixedType& t) {
    const int k = src.frac - t.frac_bits();
    Val cur = src;
    if (k > 0) {
      const int e = std::max(src.width, k + 1) + 1;
      const std::string ext = wire("ext", e, sext(src, e));
      const std::string fq = wire(
          "fq", e, fmt::format("{{{{{}{{{}[{}]}}}}, {}[{}:{}]}}", k, ext, e - 1, ext, e - 1, k));
      const std::string half = fmt::format("{}[{}]", ext, k - 1);
      const std::string low = k >= 2 ? fmt::format("(|{}[{}:0])", ext, k - 2) : "1'b0";
      const std::string neg = fmt::format("{}[{}]", ext, e - 1);
      const std::string odd = fmt::format("{}[{}]", ext, k);
      std::string up;
      switch (t.quant) {
        case QuantMode::TRN:
          up = "1'b0";
          break;
        case QuantMode::TRN_ZERO:
          up = fmt::format("{} & ({} | {})", neg, half, low);
          break;
        case QuantMode::RND:
          up = half;
          break;
        case QuantMode::RND_ZERO:
          up = fmt::format("{} & ({} | {})", half, low, neg);
          break;
        case QuantMode::RND_MIN_INF:
          up = fmt::format("{} & {}", half, low);
          break;
        case QuantMode::RND_INF:
          up = fmt::format("{} & ({} | ~{})", half, low, neg);
          break;
        case QuantMode::RND_CONV:
          up = fmt::format("{} & ({} | {})", half, low, odd);
          break;
      }
      if (up == "1'b0") {
        cur = {fq, e, t.frac_bits()};
      } else {
        const std::string u = wire("up", 1, up);
        cur = {wire("rq", e, fmt::format("{} + {{{{{}{{1'b0}}}}, {}}}", fq, e - 1, u)), e,
               t.frac_bits()};
      }
    } else if (k < 0) {
      cur = {wire("sh", src.width - k, fmt::format("{{{}, {}'b0}}", src.name, -k)), src.width - k,
             t.frac_bits()};
    }
    return overflow(cur, t);
  }

  // Overflow handling of an integer already at t's fraction bits.
  Val overflow(const Val& in, const FixedType& t) {
    const int w = t.width;
    const int sw = signed_width(t);
    const int v = std::max(in.width, w + 1);
    const std::string x = v == in.width ? in.name : wire("ov", v, sext(in, v));
    const std::string neg = fmt::format("{}[{}]", x, v - 1);
    std::string fits, low, max, min;
    if (t.is_signed) {
      const std::string top = fmt::format("{}[{}:{}]", x, v - 1, w - 1);
      fits = fmt::format("((&{}) | ~(|{}))", top, top);
      low = fmt::format("{}[{}:0]", x, w - 1);
      max = lit(w, t.raw_max());
      min = lit(w, t.raw_min());
    } else {
      fits = fmt::format("~(|{}[{}:{}])", x, v - 1, w);
      low = fmt::format("{{1'b0, {}[{}:0]}}", x, w - 1);
      max = lit(sw, t.raw_max());
      min = lit(sw, 0);
    }
    std::string expr;
    switch (t.overflow) {
      case OverflowMode::WRAP:
        expr = low;
        break;
      case OverflowMode::SAT_ZERO:
        expr = fmt::format("{} ? {} : {}", fits, low, lit(sw, 0));
        break;
      case OverflowMode::SAT_SYM:
        if (t.is_signed && w > 1) {
          const std::string sym = lit(w, -t.raw_max());
          expr = fmt::format("({} & ({} != {})) ? {} : ({} ? {} : {})", fits, low, min, low, neg,
                             sym, max);
          break;
        }
        [[fallthrough]];
      case OverflowMode::SAT:
        expr = fmt::format("{} ? {} : ({} ? {} : {})", fits, low, neg, min, max);
        break;
    }
    return {wire("c", sw, expr), sw, t.frac_bits()};
  }

 private:
  int counter_ = 0;
};

// The signed view of raw port bits `bits` of type t.
std::string view(const std::string& bits, const FixedType& t) {
  return t.is_signed ? bits : fmt::format("{{1'b0, {}}}", bits);
}

// Sum of `terms` (each an expression of `width` bits) modulo 2^width.
std::string modular_sum(const std::vector<std::string>& terms, int width) {
  if (terms.empty()) return lit(width, 0);
  std::string s;
  for (size_t j = 0; j < terms.size(); ++j) s += (j ? " + " : "") + terms[j];
  return s;
}

// Result cast, ReLU and its cast of accumulator value `acc`; returns the layer output value
// (at the layer's output type, signed view).
Val output_stage(Body& b, const Val& acc, const IntDense& l) {
  Val y = b.cast(acc, l.result);
  if (l.relu) {
    const Val r{
        b.wire("relu", y.width,
               fmt::format("{}[{}] ? {} : {}", y.name, y.width - 1, lit(y.width, 0), y.name)),
        y.width, y.frac};
    y = b.cast(r, l.relu_result);
  }
  return y;
}

const char* kLintHeader =
    "  // Casts keep only some bits of their wide intermediates, and pruned inputs are not\n"
    "  // read: unused bits are expected here (docs/rtl.md).\n"
    "  /* verilator lint_off UNUSED */\n";

// A Verilog function `name` of inputs (name, width) whose body `build` produces the result
// (its low `out_width` bits are returned).
template <typename F>
std::string function(const std::string& name, const std::vector<std::pair<std::string, int>>& args,
                     int out_width, F build) {
  Body b;
  b.function_mode = true;
  const Val r = build(b);
  std::string s = fmt::format("  function [{}:0] {};\n", out_width - 1, name);
  for (const auto& [arg, w] : args) s += fmt::format("    input [{}:0] {};\n", w - 1, arg);
  s += b.decls + "    begin\n" + b.text;
  s += fmt::format("      {} = {}[{}:0];\n    end\n  endfunction\n", name, r.name, out_width - 1);
  return s;
}

// RF 1: one constant multiplier per input and odd weight value (a weight odd * 2^s is that
// product shifted by s; zero weights vanish); one output register. The products are wires: an
// odd value narrower than the DSP threshold is an instance of the LUT multiplier module of
// that value (rtl/lut_products.hpp, named with `prefix`; the module's text is the one
// hw/lut_costs.hpp's table was measured on, so synthesis counts the table's LUTs for it); a
// wider one is a product synthesis maps to DSPs. `products` collects the LUT multiplier shapes
// used. The sums run in loops over the product bus; simulators keep the loops compact.
std::string latency_module(const IntDense& l, const std::string& mod, int dsp_min_bits,
                           const std::string& prefix, std::set<ProductKey>& products,
                           LayerRtl& info) {
  const FixedType& a = l.accum;
  const FixedType yt = l.output_type();
  const int wx = l.input.width, wy = yt.width;
  const int sww = signed_width(l.weight), sx = signed_width(l.input), sa = signed_width(a);
  const int pw = sww + sx;
  const int pf = l.weight.frac_bits() + l.input.frac_bits();
  int64_t mults = 0;
  std::string products_text, bk;  // bk: biases cast to accum (highest first)
  // One product per input and odd value; the weights odd * 2^s of that input shift it.
  std::map<std::pair<int64_t, int64_t>, std::string> product_of;
  for (int64_t t = 0; t < l.n_in * l.n_out; ++t) {
    const int64_t w = l.w[static_cast<size_t>((t % l.n_in) * l.n_out + t / l.n_in)];
    const int64_t i = t % l.n_in;
    const int64_t o = t / l.n_in;
    const std::string slot = fmt::format("pp{}[{}:{}]", o, (i + 1) * pw - 1, i * pw);
    const std::string x = fmt::format("$signed(xs[{}:{}])", (i + 1) * sx - 1, i * sx);
    if (w == 0) {
      products_text += fmt::format("  assign {} = {};\n", slot, lit(pw, 0));
      continue;
    }
    const hw::OddPart odd = hw::odd_part(w);
    const int ow = odd.bits + sx, tz = std::countr_zero(static_cast<uint64_t>(w));
    auto [built, fresh] = product_of.try_emplace({i, odd.value}, fmt::format("m{}", t));
    const std::string& m = built->second;
    if (fresh) {
      ++mults;
      products_text += fmt::format("  wire [{}:0] {};\n", ow - 1, m);
      if (odd.bits >= dsp_min_bits) {
        products_text +=
            fmt::format("  assign {} = $signed({}) * {};\n", m, lit(odd.bits, odd.value), x);
      } else {
        const ProductShape shape = constant_product(odd.value, sx);
        products.emplace(true, odd.value, sx);
        products_text +=
            fmt::format("  {} u{} (.x(xs[{}:{}]), .p({}));\n", prefix + product_module_name(shape),
                        t, (i + 1) * sx - 1, i * sx, m);
      }
    }
    const std::string wide =
        pw > ow ? fmt::format("{{{{{}{{{}[{}]}}}}, {}}}", pw - ow, m, ow - 1, m) : m;
    products_text += fmt::format("  assign {} = {}{};\n", slot, wide,
                                 tz > 0 ? fmt::format(" << {}", tz) : std::string());
  }
  for (int64_t o = l.n_out; o-- > 0;) {
    bk += digits(sa, a.requantize(l.b[static_cast<size_t>(o)], l.bias.frac_bits()));
  }
  info.multipliers = mults;
  info.latency = 1;

  std::string v = fmt::format(
      "// Layer '{}': Dense {}x{} at RF 1, {} constant multipliers (one per input and odd "
      "weight value).\n"
      "// Latency 1 (output register), interval 1.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n  input [{}:0] x,\n"
      "  output reg done,\n  output reg [{}:0] y\n);\n",
      l.name, l.n_in, l.n_out, mults, mod, l.n_in * wx - 1, l.n_out * wy - 1);
  v += kLintHeader;
  v += fmt::format("  localparam [{}:0] BK = {}'b{};\n", l.n_out * sa - 1, l.n_out * sa, bk);
  v += function("cast_p", {{"p", pw}}, sa, [&](Body& b) { return b.cast({"p", pw, pf}, a); });
  if (a.overflow != OverflowMode::WRAP)
    v += function("add_acc", {{"s", sa}, {"q", sa}}, sa, [&](Body& b) {
      const Val sum{b.wire("sum", sa + 1,
                           fmt::format("{} + {}", Body::sext({"s", sa, 0}, sa + 1),
                                       Body::sext({"q", sa, 0}, sa + 1))),
                    sa + 1, a.frac_bits()};
      return b.overflow(sum, a);
    });
  v += function("out_y", {{"s", sa}}, wy, [&](Body& b) {
    return output_stage(b, {"s", sa, a.frac_bits()}, l);
  });
  v += fmt::format("  wire [{}:0] xs;\n", l.n_in * sx - 1);
  for (int64_t i = 0; i < l.n_in; ++i)
    v += fmt::format("  assign xs[{}:{}] = {};\n", (i + 1) * sx - 1, i * sx,
                     view(fmt::format("x[{}:{}]", (i + 1) * wx - 1, i * wx), l.input));
  // One product bus per output (a single bus of every product makes Verilator copy it
  // whole for each partial assignment: a stack overflow on a 64 x 32 layer).
  for (int64_t o = 0; o < l.n_out; ++o)
    v += fmt::format("  wire [{}:0] pp{};\n", l.n_in * pw - 1, o);
  v += "  /* verilator lint_off WIDTH */\n" + products_text + "  /* verilator lint_on WIDTH */\n";
  v += fmt::format(
      "  reg [{0}:0] y_next;\n  reg [{1}:0] acc;\n  reg [{2}:0] p;\n  integer i;\n"
      "  always @(*) begin\n    y_next = {3}'b0;\n    acc = {4}'b0;\n    p = {5}'b0;\n",
      l.n_out * wy - 1, sa - 1, pw - 1, l.n_out * wy, sa, pw);
  for (int64_t o = 0; o < l.n_out; ++o) {
    v += fmt::format("    acc = BK[{0}*{1} +: {1}];\n    for (i = 0; i < {2}; i = i + 1) begin\n",
                     o, sa, l.n_in);
    v += fmt::format("      p = pp{}[i*{} +: {}];\n", o, pw, pw);
    v += a.overflow == OverflowMode::WRAP ? "      acc = acc + cast_p(p);\n"
                                          : "      acc = add_acc(acc, cast_p(p));\n";
    v += "    end\n";
    // An unsigned WRAP accumulator sums modulo 2^W: its extra sign bit is 0.
    if (a.overflow == OverflowMode::WRAP && !a.is_signed)
      v += fmt::format("    acc[{}] = 1'b0;\n", sa - 1);
    v += fmt::format("    y_next[{0}*{1} +: {1}] = out_y(acc);\n", o, wy);
  }
  v += "  end\n";
  v += "  /* verilator lint_on UNUSED */\n";
  v += "  always @(posedge clk) begin\n    if (rst) done <= 1'b0;\n    else done <= start;\n"
       "    if (start) y <= y_next;\n  end\nendmodule\n\n";
  return v;
}

// Product bits an accumulator cast reads (FixedType::requantize into a WRAP type): with k
// fraction bits dropped, bits [0, k + W); all of them when the rounding mode looks at the
// product's sign (TRN_ZERO, RND_ZERO, RND_INF).
int product_bits_read(const IntDense& l) {
  const int pw = signed_width(l.weight) + signed_width(l.input);
  const int k = l.weight.frac_bits() + l.input.frac_bits() - l.accum.frac_bits();
  const QuantMode q = l.accum.quant;
  if (k > 0 && (q == QuantMode::TRN_ZERO || q == QuantMode::RND_ZERO || q == QuantMode::RND_INF))
    return pw;
  return std::clamp(l.accum.width + k, 1, pw);
}

// A DSP multiplier lane of an RF > 1 layer as a module: its input register (x_in, taken
// every cycle: the DSP's A/B register), and the raw weight w (the weight type, from the
// ROM's read register) times that input (the input type), exact, its low
// `product_bits_read` bits. Every live lane of the layer instantiates it, so synthesis maps
// it once; with the register inside, synthesis packs it into the DSP as it would with the
// lane flattened.
std::string lane_module(const IntDense& l, const std::string& name) {
  const int ww = l.weight.width, wx = l.input.width;
  const int pw = signed_width(l.weight) + signed_width(l.input), u = product_bits_read(l);
  return fmt::format(
      "// Multiplier lane of layer '{}': {} x {} (the {} low bits of the product).\n"
      "module {} (\n  input clk,\n  input [{}:0] x_in,\n  input [{}:0] w,\n"
      "  output [{}:0] p\n);\n{}"
      "  reg [{}:0] x;\n  always @(posedge clk) begin\n    x <= x_in;\n  end\n"
      "  /* verilator lint_off WIDTH */\n"
      "  wire [{}:0] prod = $signed({}) * $signed({});\n"
      "  /* verilator lint_on WIDTH */\n  assign p = prod[{}:0];\n"
      "  /* verilator lint_on UNUSED */\nendmodule\n\n",
      l.name, l.weight.str(), l.input.str(), u, name, wx - 1, ww - 1, u - 1, kLintHeader, wx - 1,
      pw - 1, view("w", l.weight), view("x", l.input), u - 1);
}

// A multiplier lane of a layer with per-weight widths whose ROM lane holds `bits`-bit weights
// (the weight >> (W - bits), exact: the lane's weights lie on that grid): the narrow product,
// from a DSP (bits at or above the threshold) or the LUT multiplier module `lut` (the one the
// LUT table was measured on), shifted back by W - bits; its `product_bits_read` low bits.
std::string narrow_lane_module(const IntDense& l, const std::string& name, int bits,
                               const std::string& lut) {
  const FixedType wt = at_width(l.weight, bits);
  const int wx = l.input.width, sb = signed_width(wt), sx = signed_width(l.input);
  const int shift = l.weight.width - bits, pw = signed_width(l.weight) + sx;
  const int u = product_bits_read(l), nw = sb + sx;
  std::string prod =
      lut.empty() ? fmt::format(
                        "  /* verilator lint_off WIDTH */\n  wire [{}:0] prod = $signed({}) * "
                        "$signed({});\n  /* verilator lint_on WIDTH */\n",
                        nw - 1, view("w", wt), view("x", l.input))
                  : fmt::format("  wire [{0}:0] prod;\n  {1} u_mul (.x({2}), .w({3}), .p(prod));\n",
                                nw - 1, lut, view("x", l.input), view("w", wt));
  // The narrow product sign-extended to the layer's product width (pw = nw + shift), then
  // shifted back to the layer's fraction bits.
  const std::string full =
      shift > 0 ? fmt::format("{{{{{}{{prod[{}]}}}}, prod}}", pw - nw, nw - 1) : "prod";
  return fmt::format(
      "// Multiplier lane of layer '{}': {} x {} ({}), the product shifted by {} (the {} low "
      "bits).\nmodule {} (\n  input clk,\n  input [{}:0] x_in,\n  input [{}:0] w,\n"
      "  output [{}:0] p\n);\n{}"
      "  reg [{}:0] x;\n  always @(posedge clk) begin\n    x <= x_in;\n  end\n{}"
      "  wire [{}:0] full = {}{};\n  assign p = full[{}:0];\n"
      "  /* verilator lint_on UNUSED */\nendmodule\n\n",
      l.name, wt.str(), l.input.str(), lut.empty() ? "DSP" : "LUTs", shift, u, name, wx - 1,
      bits - 1, u - 1, kLintHeader, wx - 1, prod, pw - 1, full,
      shift > 0 ? fmt::format(" << {}", shift) : std::string(), u - 1);
}

// One output's sum and output stage as a module: the accumulator `acc` plus `terms` products
// (lane outputs of `product_bits_read` bits, each cast to the accumulator type; the last
// `conditional` of them count only while their enable bit is high) gives `s`, and `s`
// through the result cast, ReLU and ReLU cast is taken into the output register `y` when ld
// is high. The outputs of a layer with the same (terms, conditional) share the module, so
// synthesis maps it once; with the output register inside, the bits the output stage holds
// constant (a ReLU's sign) need no flip-flop, as with the module flattened.
std::string sum_module(const IntDense& l, const std::string& name, int64_t terms,
                       int64_t conditional) {
  const FixedType& a = l.accum;
  const int aw = a.width, u = product_bits_read(l), wy = l.output_type().width;
  const int pf = l.weight.frac_bits() + l.input.frac_bits();
  Body b;
  std::vector<std::string> sum{"acc"};
  for (int64_t j = 0; j < terms; ++j) {
    const Val c = b.cast({fmt::format("p{}", j), u, pf}, a);
    const std::string t = fmt::format("{}[{}:0]", c.name, aw - 1);
    const int64_t e = j - (terms - conditional);
    sum.push_back(e < 0 ? t : b.wire("t", aw, fmt::format("en[{}] ? {} : {}", e, t, lit(aw, 0))));
  }
  const std::string s = b.wire("sum", aw, modular_sum(sum, aw));
  const Val sv = a.is_signed ? Val{s, aw, a.frac_bits()}
                             : Val{b.wire("su", aw + 1, fmt::format("{{1'b0, {}}}", s)), aw + 1,
                                   a.frac_bits()};
  // The output stage with the ReLU as the register's synchronous clear: a negative result
  // clears y (the ReLU's cast of 0 is 0), else y takes the result's ReLU cast. (A ReLU as
  // logic before the register is merged into the flip-flops' resets when this module is
  // flattened, but gets one gate per bit when it is not.)
  const Val r = b.cast(sv, l.result);
  const Val y = l.relu ? b.cast(r, l.relu_result) : r;
  const std::string clr = l.relu ? fmt::format("ld && {}[{}]", r.name, r.width - 1) : "1'b0";
  std::string ports = fmt::format("  input clk,\n  input ld,\n  input [{}:0] acc,\n", aw - 1);
  // One port per product: Verilator, which inlines this module, would otherwise build a bus
  // of all of them by concatenation every cycle, copying the partial result at each step.
  for (int64_t j = 0; j < terms; ++j) ports += fmt::format("  input [{}:0] p{},\n", u - 1, j);
  if (conditional > 0) ports += fmt::format("  input [{}:0] en,\n", conditional - 1);
  return fmt::format(
      "// Output sum of layer '{}': accumulator + {} products ({} of them enabled), output "
      "stage and register.\nmodule {} (\n{}  output [{}:0] s,\n  output reg [{}:0] y\n);\n{}{}"
      "  assign s = {};\n  always @(posedge clk) begin\n    if ({}) y <= {};\n"
      "    else if (ld) y <= {}[{}:0];\n  end\n"
      "  /* verilator lint_on UNUSED */\nendmodule\n\n",
      l.name, terms, conditional, name, ports, aw - 1, wy - 1, kLintHeader, b.text, s, clr,
      lit(wy, 0), y.name, wy - 1);
}

// RF > 1: live multiplier lanes reused over the ROM words, packed weight ROM, accumulators.
// Latency K + 1 for K ROM words run: the edge that samples `start` reads the first word and
// the first inputs straight from x; the last word's sums go straight into the output register.
// With `copies` > 1 the module is that many instances in lockstep (a Conv kernel at PF > 1):
// x holds `copies` inputs and y as many outputs (instance i at the i-th slice); the word
// counter, the ROM and its read, the enables are shared, each instance has its own input
// register, input selection, lanes, accumulators and output register.
std::string resource_module(const IntDense& l, const hw::LayerHw& h, int dsp_min_bits,
                            const std::string& prefix, std::set<ProductKey>& products,
                            const std::string& mod, LayerRtl& info, int64_t copies) {
  const FixedType& a = l.accum;
  if (a.overflow != OverflowMode::WRAP)
    throw Error(fmt::format(
        "layer '{}': accumulator {} saturates ({}); at reuse factor {} the generated RTL adds "
        "the products of one cycle in parallel and cannot reproduce the order-dependent "
        "saturation of the integer model: use an AP_WRAP accumulator or reuse factor 1",
        l.name, a.str(), to_string(a.overflow), l.reuse_factor));
  const FixedType yt = l.output_type();
  const int64_t rf = l.reuse_factor, n = l.n_in * l.n_out;
  const int64_t bf = (n + rf - 1) / rf;
  const int wx = l.input.width, wy = yt.width, ww = l.weight.width, aw = a.width;
  const int sww = signed_width(l.weight), sx = signed_width(l.input), sa = signed_width(a);
  const int pw = sww + sx, pf = l.weight.frac_bits() + l.input.frac_bits();
  const int irw = clog2(rf);

  auto weight_at = [&](int64_t t) -> int64_t {  // transposed index -> raw weight (0 past N)
    if (t >= n) return 0;
    return l.w[static_cast<size_t>((t % l.n_in) * l.n_out + t / l.n_in)];
  };
  // The estimator's weight-to-multiplier map on the non-zero raw weights: the live lanes m
  // (in order) and the ROM words run.
  std::vector<uint8_t> nonzero(l.w.size());
  for (size_t k = 0; k < l.w.size(); ++k) nonzero[k] = l.w[k] != 0;
  std::vector<int64_t> lanes;
  const std::vector<uint8_t> lane_live = hw::live_lanes(h, nonzero);
  for (size_t m = 0; m < lane_live.size(); ++m)
    if (lane_live[m]) lanes.push_back(static_cast<int64_t>(m));
  const std::vector<int64_t> words = hw::run_words(h, nonzero);
  const int64_t nl = static_cast<int64_t>(lanes.size());
  const int64_t nw = static_cast<int64_t>(words.size());
  const int64_t first = words.front(), last = words.back();
  // Per live lane: its ROM lane's width and first bit. With per-weight widths (l.bits) a lane
  // is as wide as its widest live weight (hw::lane_bits) and holds its weights >> (W - width);
  // otherwise every lane is W bits wide.
  std::vector<int> lb(static_cast<size_t>(nl), ww);
  std::vector<int64_t> lo_bit(static_cast<size_t>(nl), 0);
  if (!l.bits.empty()) {
    const std::vector<int> widths = hw::lane_bits(h, nonzero, l.bits);
    for (int64_t j = 0; j < nl; ++j)
      lb[static_cast<size_t>(j)] = widths[static_cast<size_t>(lanes[static_cast<size_t>(j)])];
  }
  int64_t rom_bits_total = 0;
  for (int64_t j = 0; j < nl; ++j) {
    lo_bit[static_cast<size_t>(j)] = rom_bits_total;
    rom_bits_total += lb[static_cast<size_t>(j)];
  }
  const int64_t romw = std::max<int64_t>(1, rom_bits_total);
  // DSP lanes and the per-output sums are shared modules. Products narrower than the DSP
  // threshold become LUT multipliers, whose logic shrinks with the ROM's constant bit columns
  // (Yosys sees those only inside the layer module): they and their sums stay inline. A layer
  // with per-weight widths always uses modules: each lane's width picks its lane module (a
  // DSP, or the measured LUT multiplier module).
  const bool modules = nl > 0 && (!l.bits.empty() || std::min(sww, sx) >= dsp_min_bits);
  info.multipliers = nl * copies;
  info.rom_width = rom_bits_total;
  info.rom_depth = rf;
  info.latency = nw + 1;

  // Per output: the lanes that work on it in some run word (each lane serves a contiguous
  // word range per output; ranges whose weights are all 0 are left out), those working on it
  // in every run word first; the others get an enable bit, one per distinct word range.
  struct Term {
    int64_t lane = 0;  // index j into `lanes`
    int en = -1;       // enable register, -1: always
  };
  std::vector<std::vector<Term>> terms(static_cast<size_t>(l.n_out));
  std::map<std::pair<int64_t, int64_t>, int> ranges;  // (from, to) word, -1: open -> enable
  for (int64_t o = 0; o < l.n_out; ++o) {
    std::vector<Term>& ts = terms[static_cast<size_t>(o)];
    for (int64_t j = 0; j < nl; ++j) {
      const int64_t m = lanes[static_cast<size_t>(j)];
      // Words in which lane m works on output o: t = ir + m*RF in [o*n_in, (o+1)*n_in).
      const int64_t t0 = m * rf, t1 = std::min(m * rf + rf, n) - 1;
      const int64_t lo = std::max(t0, o * l.n_in), hi = std::min(t1, (o + 1) * l.n_in - 1);
      if (lo > hi) continue;
      bool any = false;
      for (int64_t t = lo; t <= hi && !any; ++t) any = weight_at(t) != 0;
      if (!any) continue;
      const std::pair<int64_t, int64_t> r{first < lo - t0 ? lo - t0 : -1,
                                          last > hi - t0 ? hi - t0 : -1};
      Term term{j, -1};
      if (r != std::pair<int64_t, int64_t>{-1, -1})
        term.en = ranges.emplace(r, static_cast<int>(ranges.size())).first->second;
      ts.push_back(term);
    }
    std::stable_partition(ts.begin(), ts.end(), [](const Term& t) { return t.en < 0; });
  }

  std::string v;
  const std::string lane_mod = mod + "_lane";
  std::map<std::pair<int64_t, int64_t>, std::string> sum_mods;  // (terms, conditional)
  if (modules && l.bits.empty()) v += lane_module(l, lane_mod);
  if (modules && !l.bits.empty()) {
    // One lane module per lane width: a DSP at or above the threshold, else the measured LUT
    // multiplier of that width.
    std::set<int> widths(lb.begin(), lb.end());
    for (int b : widths) {
      const int sb = signed_width(at_width(l.weight, b));
      std::string lut;
      if (std::min(sb, sx) < dsp_min_bits) {
        products.emplace(false, sb, sx);
        lut = prefix + product_module_name(variable_product(sb, sx));
      }
      v += narrow_lane_module(l, fmt::format("{}_b{}", lane_mod, b), b, lut);
    }
  }
  if (modules) {
    for (const auto& ts : terms) {
      if (ts.empty()) continue;
      const auto c = static_cast<int64_t>(
          std::count_if(ts.begin(), ts.end(), [](const Term& t) { return t.en >= 0; }));
      const std::pair<int64_t, int64_t> key{static_cast<int64_t>(ts.size()), c};
      if (sum_mods.count(key)) continue;
      const std::string name = fmt::format("{}_sum{}_{}", mod, key.first, key.second);
      sum_mods[key] = name;
      v += sum_module(l, name, key.first, key.second);
    }
  }
  v += fmt::format(
      "// Layer '{}': Dense {}x{} at RF {}, {} of {} multiplier lanes live{}; weight ROM {} x "
      "{} bits, {} words run.\n// Latency {} + 1 = {}, interval RF = {}.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n{}"
      "  output reg done,\n  output {}[{}:0] y\n);\n",
      l.name, l.n_in, l.n_out, rf, nl, bf,
      copies > 1 ? fmt::format(", {} instances in lockstep", copies) : "", rf, rom_bits_total, nw,
      nw, nw + 1, rf, mod,
      // With one word run there is no input register: pruned inputs leave x bits unread.
      nw > 1 ? fmt::format("  input [{}:0] x,\n", copies * l.n_in * wx - 1)
             : fmt::format("  /* verilator lint_off UNUSED */\n  input [{}:0] x,\n"
                           "  /* verilator lint_on UNUSED */\n",
                           copies * l.n_in * wx - 1),
      modules ? "" : "reg ", copies * l.n_out * wy - 1);
  v += kLintHeader;
  // Word counter: idle at the first word, so `start` reads it at once; `run` covers the rest.
  std::string next = fmt::format("ir + {}", lit(irw, 1));
  if (last - first + 1 != nw) {  // skipped words: the successor of each run word
    next = "nxt";
    v += fmt::format("  reg [{}:0] nxt;\n  always @(*) begin\n    case (ir)\n", irw - 1);
    for (int64_t k = 0; k + 2 < nw; ++k)
      v += fmt::format("      {}: nxt = {};\n", lit(irw, words[static_cast<size_t>(k)]),
                       lit(irw, words[static_cast<size_t>(k + 1)]));
    v += fmt::format("      default: nxt = {};\n    endcase\n  end\n", lit(irw, last));
  }
  v += fmt::format(
      "  reg run;\n  reg [{0}:0] ir;\n"
      "  always @(posedge clk) begin\n"
      "    if (rst) run <= 1'b0;\n"
      "    else if (start) run <= {1};\n"
      "    else if (run && ir == {2}) run <= 1'b0;\n"
      "    if (rst) ir <= {3};\n"
      "    else if (start || run) ir <= ir == {2} ? {3} : {4};\n"
      "  end\n",
      irw - 1, nw > 1 ? "1'b1" : "1'b0", lit(irw, last), lit(irw, first), next);
  // Instance i's names carry the prefix pre(i) (none for a single instance); its inputs are
  // x's i-th slice of xbits, its outputs y's i-th slice of ybits.
  auto pre = [&](int64_t i) { return copies > 1 ? fmt::format("i{}_", i) : std::string(); };
  const int64_t xbits = l.n_in * wx, ybits = l.n_out * wy;
  for (int64_t i = 0; i < copies && nw > 1; ++i)
    v += fmt::format(
        "  reg [{0}:0] {1}xr;\n  always @(posedge clk) begin\n"
        "    if (start) {1}xr <= x[{2}:{3}];\n  end\n",
        xbits - 1, pre(i), (i + 1) * xbits - 1, i * xbits);
  // The packed ROM: word ir holds live lane j's weight at bits [j*W +: W] (string position
  // romw-1-b holds bit b). Synthesis drops the bit columns that are constant over the words,
  // and maps the others to ceil(columns / 36) BRAM18 (depth <= 512). Split into memories of
  // 72 such columns each (one RAMB36), it needs as many and maps much faster than one wide
  // memory (Yosys passes slow down with the memory's width).
  std::vector<std::string> words_bits(static_cast<size_t>(rf));
  for (int64_t ir = 0; ir < rf; ++ir) {
    std::string& bits = words_bits[static_cast<size_t>(ir)];
    for (int64_t j = nl; j-- > 0;) {
      const int b = lb[static_cast<size_t>(j)];
      bits += digits(b, weight_at(ir + lanes[static_cast<size_t>(j)] * rf) >> (ww - b));
    }
    if (bits.empty()) bits = "0";
  }
  std::vector<int64_t> cuts{0};  // first column of each memory
  if (rf <= 512) {
    int64_t varying = 0;
    for (int64_t b = 0; b < romw; ++b) {
      const auto pos = static_cast<size_t>(romw - 1 - b);
      bool same = true;
      for (const std::string& w : words_bits) same = same && w[pos] == words_bits[0][pos];
      if (!same && ++varying % 72 == 0 && b + 1 < romw) cuts.push_back(b + 1);
    }
  }
  cuts.push_back(romw);
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    const int64_t lo = cuts[c], width = cuts[c + 1] - lo;
    v += fmt::format("  (* rom_style = \"block\" *) reg [{}:0] rom_{} [0:{}];\n  initial begin\n",
                     width - 1, c, rf - 1);
    for (int64_t ir = 0; ir < rf; ++ir)
      v += fmt::format("    rom_{}[{}] = {}'b{};\n", c, ir, width,
                       words_bits[static_cast<size_t>(ir)].substr(
                           static_cast<size_t>(romw - lo - width), static_cast<size_t>(width)));
    v += fmt::format(
        "  end\n  reg [{0}:0] romd_{1};\n"
        "  always @(posedge clk) begin\n    if (start || run) romd_{1} <= rom_{1}[ir];\n  end\n",
        width - 1, c);
  }
  // Stage 1: ROM read, input selection (one mux per distinct input offset, into a register:
  // inside each lane module, or shared here), enables, last-word flag.
  std::map<int64_t, int> mux;  // (m*RF) mod n_in -> mux number
  for (int64_t m : lanes) mux.emplace((m * rf) % l.n_in, static_cast<int>(mux.size()));
  auto mux_name = [&](int64_t i, int64_t off) {
    return fmt::format("{}{}_{}", pre(i), modules ? "xs" : "xq", mux.at(off));
  };
  // Bits [hi:lo] of the ROM word, from the memories' read registers. (The lanes take their
  // weights this way rather than from one bus of the whole word: Verilator would build that
  // bus by concatenation every cycle, copying the partial result at each step.)
  auto rom_bits = [&](int64_t hi, int64_t lo) {
    std::string e;
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      const int64_t a = std::max(lo, cuts[c]), b = std::min(hi, cuts[c + 1] - 1);
      if (a > b) continue;
      const std::string part = fmt::format("romd_{}[{}:{}]", c, b - cuts[c], a - cuts[c]);
      e = e.empty() ? part : fmt::format("{}, {}", part, e);
    }
    return e.find(',') == std::string::npos ? e : "{" + e + "}";
  };
  if (!modules) v += fmt::format("  wire [{}:0] rom_q = {};\n", romw - 1, rom_bits(romw - 1, 0));
  v += "  reg v1, last1;\n";
  if (!ranges.empty()) v += fmt::format("  reg [{}:0] en;\n", ranges.size() - 1);
  for (int64_t i = 0; i < copies; ++i)
    for (const auto& [off, k] : mux)
      v += fmt::format("  reg [{}:0] {};\n", wx - 1, mux_name(i, off));
  v += fmt::format(
      "  always @(posedge clk) begin\n    if (rst) v1 <= 1'b0;\n    else v1 <= start || run;\n"
      "    last1 <= ir == {};\n",
      lit(irw, last));
  for (const auto& [r, e] : ranges) {
    std::string cond;
    if (r.first >= 0) cond = fmt::format("ir >= {}", lit(irw, r.first));
    if (r.second >= 0)
      cond += (cond.empty() ? "" : " && ") + fmt::format("ir <= {}", lit(irw, r.second));
    v += fmt::format("    en[{}] <= {};\n", e, cond);
  }
  v += "  end\n";
  auto slice = [&](const std::string& bus, int64_t k) {
    return fmt::format("{}[{}:{}]", bus, (k + 1) * wx - 1, k * wx);
  };
  // The selection follows the word counter alone: it is at the first word exactly when
  // `start` may come (idle), so that word's inputs come from x and the others' from xr.
  // It runs every cycle: what it takes while no word is read is never summed.
  const std::string set = modules ? "=" : "<=";  // a combinational mux or a register
  for (int64_t i = 0; i < copies; ++i)
    for (const auto& [off, k] : mux) {
      const std::string name = mux_name(i, off), xr = pre(i) + "xr";
      v += modules ? "  always @(*) begin\n" : "  always @(posedge clk) begin\n";
      const std::string from_x = slice("x", i * l.n_in + (first + off) % l.n_in);
      if (nw == 1) {
        v += fmt::format("    {} {} {};\n  end\n", name, set, from_x);
        continue;
      }
      v += fmt::format("    case (ir)\n      {}: {} {} {};\n", lit(irw, first), name, set, from_x);
      for (int64_t w = 1; w + 1 < nw; ++w) {
        const int64_t ir = words[static_cast<size_t>(w)];
        v += fmt::format("      {}: {} {} {};\n", lit(irw, ir), name, set,
                         slice(xr, (ir + off) % l.n_in));
      }
      v += fmt::format("      default: {} {} {};\n    endcase\n  end\n", name, set,
                       slice(xr, (last + off) % l.n_in));
    }
  // Stage 2. The accumulators idle at the bias: each word's sum is acc + products, written
  // back to acc, and on the last word through the output stage into y (acc reloads the bias).
  // With the sums in modules, an output without products is a constant here (so synthesis
  // sees it as with the modules flattened).
  std::string body, accs, updates;
  auto y_bits = [&](int64_t i, int64_t o) {
    return fmt::format("y[{}:{}]", i * ybits + (o + 1) * wy - 1, i * ybits + o * wy);
  };
  for (int64_t i = 0; i < copies; ++i)
    for (int64_t o = 0; o < l.n_out; ++o) {
      const int64_t bias = a.requantize(l.b[static_cast<size_t>(o)], l.bias.frac_bits());
      if (modules && terms[static_cast<size_t>(o)].empty()) {
        int64_t yo = l.result.requantize(bias, a.frac_bits());
        if (l.relu) yo = l.relu_result.requantize(std::max<int64_t>(yo, 0), l.result.frac_bits());
        body += fmt::format("  assign {} = {};\n", y_bits(i, o), lit(wy, yo));
        continue;
      }
      const std::string p = pre(i);
      accs += fmt::format("  reg [{0}:0] {1}acc_{2};\n  wire [{0}:0] {1}sum_{2};\n", aw - 1, p, o);
      updates += fmt::format(
          "    if (acc_load) {0}acc_{1} <= {2};\n    else if (v1) {0}acc_{1} <= {0}sum_{1};\n", p,
          o, lit(aw, bias));
    }
  v += accs;
  if (modules) {
    const int u = product_bits_read(l);
    for (int64_t i = 0; i < copies; ++i) {
      const std::string p = pre(i);
      // One wire per lane product (not one bus: see sum_module).
      for (int64_t j = 0; j < nl; ++j) body += fmt::format("  wire [{}:0] {}pr_{};\n", u - 1, p, j);
      for (int64_t j = 0; j < nl; ++j)
        body += fmt::format(
            "  {} {}u_lane{} (.clk(clk), .w({}), .x_in({}), .p({}pr_{}));\n",
            l.bits.empty() ? lane_mod : fmt::format("{}_b{}", lane_mod, lb[static_cast<size_t>(j)]),
            p, j,
            rom_bits(lo_bit[static_cast<size_t>(j)] + lb[static_cast<size_t>(j)] - 1,
                     lo_bit[static_cast<size_t>(j)]),
            mux_name(i, (lanes[static_cast<size_t>(j)] * rf) % l.n_in), p, j);
      for (int64_t o = 0; o < l.n_out; ++o) {
        const auto& ts = terms[static_cast<size_t>(o)];
        if (ts.empty()) continue;
        std::string ps, ens;
        int64_t c = 0;
        for (size_t k = ts.size(); k-- > 0;) {
          ps = fmt::format(".p{}({}pr_{}), ", k, p, ts[k].lane) + ps;
          if (ts[k].en >= 0) {
            ens += fmt::format("{}en[{}]", ens.empty() ? "" : ", ", ts[k].en);
            ++c;
          }
        }
        body += fmt::format("  {} {}u_sum{} (.clk(clk), .ld(v1 && last1), .acc({}acc_{}), ",
                            sum_mods.at({ts.size(), c}), p, o, p, o);
        body += ps;
        if (!ens.empty()) body += fmt::format(".en({{{}}}), ", ens);
        body += fmt::format(".s({}sum_{}), .y({}));\n", p, o, y_bits(i, o));
      }
    }
  } else {
    // Products and their casts in a loop over the lanes; the sums; the output stage in a loop
    // over the outputs (per instance; the functions are shared).
    if (nl > 0)
      body += function("cast_p", {{"p", pw}}, aw, [&](Body& f) {
        return f.cast({"p", pw, pf}, a);
      });
    body += function("out_y", {{"s", sa}}, wy, [&](Body& f) {
      return output_stage(f, {"s", sa, a.frac_bits()}, l);
    });
    for (int64_t i = 0; i < copies; ++i) {
      const std::string p = pre(i);
      if (nl > 0) {
        body += fmt::format("  wire [{}:0] {}xl;\n", nl * sx - 1, p);
        for (int64_t j = 0; j < nl; ++j) {
          const int64_t m = lanes[static_cast<size_t>(j)];
          body += fmt::format("  assign {}xl[{}:{}] = {};\n", p, (j + 1) * sx - 1, j * sx,
                              view(mux_name(i, (m * rf) % l.n_in), l.input));
        }
        body += fmt::format(
            "  reg [{0}:0] {8}pcs;\n  reg [{1}:0] {8}p;\n  integer {8}j;\n"
            "  always @(*) begin\n    {8}pcs = {2}'b0;\n    {8}p = {3}'b0;\n"
            "    for ({8}j = 0; {8}j < {4}; {8}j = {8}j + 1) begin\n"
            "      /* verilator lint_off WIDTH */\n"
            "      {8}p = $signed({5}) * $signed({8}xl[{8}j*{6} +: {6}]);\n"
            "      /* verilator lint_on WIDTH */\n      {8}pcs[{8}j*{7} +: {7}] = cast_p({8}p);\n"
            "    end\n  end\n",
            nl * aw - 1, pw - 1, nl * aw, pw, nl,
            l.weight.is_signed ? fmt::format("rom_q[{}j*{} +: {}]", p, ww, ww)
                               : fmt::format("{{1'b0, rom_q[{}j*{} +: {}]}}", p, ww, ww),
            sx, aw, p);
      }
      for (int64_t o = 0; o < l.n_out; ++o) {
        std::vector<std::string> sum{fmt::format("{}acc_{}", p, o)};
        for (const Term& t : terms[static_cast<size_t>(o)]) {
          const std::string pc = fmt::format("{}pcs[{}:{}]", p, (t.lane + 1) * aw - 1, t.lane * aw);
          sum.push_back(t.en < 0 ? pc : fmt::format("(en[{}] ? {} : {})", t.en, pc, lit(aw, 0)));
        }
        body += fmt::format("  assign {}sum_{} = {};\n", p, o, modular_sum(sum, aw));
      }
      std::string sums;
      for (int64_t o = l.n_out; o-- > 0;)
        sums += fmt::format("{}{}sum_{}", a.is_signed ? "" : "1'b0, ", p, o) + (o ? ", " : "");
      body += fmt::format(
          "  wire [{0}:0] {7}sums = {{{1}}};\n  reg [{2}:0] {7}y_out;\n  integer {7}o;\n"
          "  always @(*) begin\n    {7}y_out = {3}'b0;\n"
          "    for ({7}o = 0; {7}o < {4}; {7}o = {7}o + 1)\n"
          "      {7}y_out[{7}o*{5} +: {5}] = out_y({7}sums[{7}o*{6} +: {6}]);\n  end\n",
          l.n_out * sa - 1, sums, ybits - 1, ybits, l.n_out, wy, sa, p);
      updates += fmt::format("    if (v1 && last1) y[{}:{}] <= {}y_out;\n", (i + 1) * ybits - 1,
                             i * ybits, p);
    }
  }
  v += body;
  v += "  /* verilator lint_on UNUSED */\n";
  v += fmt::format(
      "  wire acc_load = rst || (v1 && last1);\n"
      "  always @(posedge clk) begin\n{}"
      "    if (rst) done <= 1'b0;\n    else done <= v1 && last1;\n"
      "  end\nendmodule\n\n",
      updates);
  return v;
}

// Bits of a `depth`-deep bit table of a condition on a row or column index: bit i is cond(i);
// the table has 2^bits entries so every counter value indexes it.
template <typename F>
std::string bit_table(int64_t n, int bits, F cond) {
  const int64_t size = int64_t{1} << bits;
  std::string s;
  for (int64_t i = size; i-- > 0;) s += (i < n && cond(i)) ? '1' : '0';
  return fmt::format("{}'b{}", size, s);
}

// A pooling kernel with the Dense module interface (start, window x, done, y; latency 1,
// interval 1), per channel: Max, the maximum of the window at the input type; Average (valid
// padding: every window whole), the exact sum of the raw inputs shifted to the accumulator's
// fraction bits, divided by the window size truncating towards zero (Verilog's signed `/`,
// as C's), cast to the result type (IntPool).
std::string pool_module(const IntPool& p, int64_t window, const std::string& mod) {
  const int w = p.type.width;
  const int64_t ch = p.in_shape.back();
  const FixedType ot = p.output_type();
  const int wo = ot.width;
  const bool avg = p.op == IntPool::Op::Average;
  std::string v = fmt::format(
      "// Pooling '{}': {} of {} values per channel, {} channels. Latency 1, interval 1.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n  input [{}:0] x,\n"
      "  output reg done,\n  output reg [{}:0] y\n);\n",
      p.name, avg ? "average" : "maximum", window, ch, mod, window * ch * w - 1, ch * wo - 1);
  if (!avg) {
    const std::string gt = p.type.is_signed ? "$signed(v) > $signed(m)" : "v > m";
    v += fmt::format(
        "  reg [{0}:0] y_next;\n  reg [{1}:0] m, v;\n  integer q, e;\n"
        "  always @(*) begin\n    y_next = {2}'b0;\n    m = {3}'b0;\n    v = {3}'b0;\n"
        "    for (q = 0; q < {4}; q = q + 1) begin\n      m = x[q*{3} +: {3}];\n"
        "      for (e = 1; e < {5}; e = e + 1) begin\n        v = x[(e*{4} + q)*{3} +: {3}];\n"
        "        if ({6}) m = v;\n      end\n      y_next[q*{3} +: {3}] = m;\n    end\n  end\n",
        ch * w - 1, w - 1, ch * w, w, ch, window, gt);
  } else {
    const int shift = p.accum.frac_bits() - p.type.frac_bits();
    if (shift < 0)
      throw Error(
          fmt::format("layer '{}': accumulator {} has fewer fraction bits than the input {}",
                      p.name, p.accum.str(), p.type.str()));
    // Sum width: the signed input, the shift, the window's growth and a sign bit to spare.
    const int sw = signed_width(p.type) + shift + clog2(window + 1) + 1;
    if (sw > 62)
      throw Error(fmt::format("layer '{}': average-pool sums of {} bits exceed the 62-bit limit",
                              p.name, sw));
    const std::string ext = p.type.is_signed ? fmt::format("{{{{{}{{v[{}]}}}}, v}}", sw - w, w - 1)
                                             : fmt::format("{{{}'b0, v}}", sw - w);
    v += kLintHeader;
    v += function("out_y", {{"s", sw}}, wo, [&](Body& f) {
      return f.cast({"s", sw, p.accum.frac_bits()}, p.result);
    });
    v += fmt::format(
        "  reg [{0}:0] y_next;\n  reg [{1}:0] v;\n  reg [{2}:0] s, qv;\n  integer q, e;\n"
        "  always @(*) begin\n    y_next = {3}'b0;\n    v = {4}'b0;\n    s = {5}'b0;\n"
        "    qv = {5}'b0;\n    for (q = 0; q < {6}; q = q + 1) begin\n      s = {5}'b0;\n"
        "      for (e = 0; e < {7}; e = e + 1) begin\n        v = x[(e*{6} + q)*{4} +: {4}];\n"
        "        s = s + ({8} << {9});\n      end\n      qv = $signed(s) / $signed({10});\n"
        "      y_next[q*{11} +: {11}] = out_y(qv);\n    end\n  end\n"
        "  /* verilator lint_on UNUSED */\n",
        ch * wo - 1, w - 1, sw - 1, ch * wo, w, sw, ch, window, ext, shift, lit(sw, window), wo);
  }
  v += "  always @(posedge clk) begin\n    if (rst) done <= 1'b0;\n    else done <= start;\n"
       "    if (start) y <= y_next;\n  end\nendmodule\n\n";
  return v;
}

// What a streaming layer's shell needs to know about its kernel module.
struct StreamKernel {
  std::string module;
  // x: one window (lockstep: that many windows, the group's first at the low bits); y: one
  // output pixel (lockstep: as many, likewise)
  int64_t in_bits = 0, out_bits = 0;
  hw::KernelSchedule sched;
};

// The io_stream shell of a Conv/pooling layer (docs/rtl.md, "Streaming layers"): walks the
// padded grid (hw::StreamGeometry), one position per cycle when its pixel (if any) is there
// and, at an anchor that starts the kernel, the kernel instance in turn is free and the
// output FIFO has room for the start's outputs; a shift-register line buffer forms the
// window. In lockstep, the group's earlier anchors store their windows in hold registers, and
// its last one starts the kernel on all of them.
std::string stream_module(const std::string& layer, const hw::StreamGeometry& g, int pixel_in,
                          const StreamKernel& k, const std::string& mod) {
  const hw::KernelSchedule& ks = k.sched;
  const int64_t fifo_depth = hw::stream_fifo_depth(ks);
  const int64_t hg = g.grid_h(), wg = g.grid_w(), nbuf = g.buffer_pixels();
  const int rb = clog2(hg), cb = clog2(wg);
  const int64_t pw = pixel_in;
  const int64_t q = k.out_bits, group = ks.lockstep;
  const int db = clog2(fifo_depth + 1), pb = clog2(fifo_depth);
  std::string v = fmt::format(
      "// Layer '{}' (io_stream): {}x{}x{} input, window {}x{}, stride {}x{}, padding {}/{}, "
      "output {}x{};\n// line buffer {} pixels; kernel {} x {}{} (latency {}, interval {}); "
      "output FIFO {} deep.\n"
      "module {} (\n  input clk,\n  input rst,\n  input in_valid,\n  input [{}:0] in_data,\n"
      "  output in_ready,\n  output out_valid,\n  output [{}:0] out_data,\n  input out_ready\n"
      ");\n",
      layer, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, nbuf, ks.instances,
      k.module, group > 1 ? fmt::format(" on {} windows in lockstep", group) : "", ks.latency,
      ks.interval, fifo_depth, mod, pw - 1, q - 1);
  v += fmt::format("  localparam [{}:0] IN_ROW = {}, AN_ROW = {};\n", (int64_t{1} << rb) - 1,
                   bit_table(hg, rb, [&](int64_t r) { return r >= g.pt && r < g.pt + g.h; }),
                   bit_table(hg, rb, [&](int64_t r) { return g.is_anchor(r, g.kw - 1); }));
  v += fmt::format("  localparam [{}:0] IN_COL = {}, AN_COL = {};\n", (int64_t{1} << cb) - 1,
                   bit_table(wg, cb, [&](int64_t c) { return c >= g.pl && c < g.pl + g.w; }),
                   bit_table(wg, cb, [&](int64_t c) { return g.is_anchor(g.kh - 1, c); }));
  v += fmt::format(
      "  reg [{}:0] r;\n  reg [{}:0] c;\n  wire at_input = IN_ROW[r] & IN_COL[c];\n"
      "  wire at_anchor = AN_ROW[r] & AN_COL[c];\n",
      rb - 1, cb - 1);
  // Kernel instances: who is next, and whether it may start.
  const int64_t n = ks.instances;
  const int sb = clog2(n), ib = clog2(ks.interval), gb = clog2(group);
  std::string free_expr;
  for (int64_t i = n; i-- > 0;) {
    const std::string f = ks.interval > 1 ? fmt::format("free_{}", i) : "1'b1";
    free_expr =
        free_expr.empty() ? f : fmt::format("(sel == {}) ? {} : ({})", lit(sb, i), f, free_expr);
  }
  if (n > 1) v += fmt::format("  reg [{}:0] sel;\n", sb - 1);
  // Credits: room for the start's outputs beside those in the FIFO and in flight.
  v += fmt::format(
      "  reg [{0}:0] pend, cnt;\n  wire credit = {{1'b0, pend}} + {{1'b0, cnt}} < {1};\n", db - 1,
      lit(db + 1, fifo_depth - group + 1));
  for (int64_t i = 0; i < n && ks.interval > 1; ++i)
    v += fmt::format("  reg [{}:0] busy_{};\n  wire free_{} = busy_{} == {};\n", ib - 1, i, i, i,
                     lit(ib, 0));
  // `starts`: this anchor starts the kernel (in lockstep, the group's last one).
  std::string starts = "1'b1";
  if (group > 1) {
    v += fmt::format("  reg [{}:0] gsel;\n  wire group_end = gsel == {};\n", gb - 1,
                     lit(gb, group - 1));
    starts = "group_end";
  }
  v += fmt::format(
      "  wire can_start = ({}) && credit;\n"
      "  wire go_on = !at_anchor || !{} || can_start;\n"
      "  assign in_ready = at_input && go_on;\n"
      "  wire adv = at_input ? in_valid && in_ready : go_on;\n"
      "  wire kstart = adv && at_anchor && {};\n"
      "  wire [{}:0] px = at_input ? in_data : {};\n",
      free_expr, group > 1 ? "group_end" : "1'b1", starts, pw - 1, lit(static_cast<int>(pw), 0));
  v += fmt::format(
      "  always @(posedge clk) begin\n    if (rst) begin\n      r <= {0};\n      c <= {1};\n"
      "    end else if (adv) begin\n      if (c == {2}) begin\n        c <= {1};\n"
      "        r <= (r == {3}) ? {0} : r + {4};\n      end else begin\n        c <= c + {5};\n"
      "      end\n    end\n  end\n",
      lit(rb, 0), lit(cb, 0), lit(cb, wg - 1), lit(rb, hg - 1), lit(rb, 1), lit(cb, 1));
  // Line buffer: the last nbuf pixels, newest at the bottom.
  if (nbuf > 0)
    v += fmt::format(
        "  reg [{0}:0] lb;\n  always @(posedge clk) begin\n    if (adv) lb <= {1};\n  end\n",
        nbuf * pw - 1,
        nbuf == 1 ? std::string("px") : fmt::format("{{lb[{}:0], px}}", (nbuf - 1) * pw - 1));
  const int64_t wbits = k.in_bits / group;  // one window
  v += fmt::format("  wire [{}:0] win;\n", wbits - 1);
  for (int64_t a = 0; a < g.kh; ++a)
    for (int64_t b = 0; b < g.kw; ++b) {
      const int64_t depth = (g.kh - 1 - a) * wg + (g.kw - 1 - b), e = a * g.kw + b;
      v += fmt::format("  assign win[{}:{}] = {};\n", (e + 1) * pw - 1, e * pw,
                       depth == 0 ? std::string("px")
                                  : fmt::format("lb[{}:{}]", depth * pw - 1, (depth - 1) * pw));
    }
  // Lockstep: the group's earlier windows wait in hold registers; the kernel takes them with
  // the last one.
  std::string kx = "win";
  if (group > 1) {
    std::string holds;
    for (int64_t i = 0; i + 1 < group; ++i) {
      v += fmt::format("  reg [{}:0] hold_{};\n", wbits - 1, i);
      holds += fmt::format("      if (gsel == {}) hold_{} <= win;\n", lit(gb, i), i);
    }
    for (int64_t i = group - 1; i-- > 0;) kx += fmt::format(", hold_{}", i);
    kx = "{" + kx + "}";
    v += fmt::format(
        "  always @(posedge clk) begin\n    if (adv && at_anchor && !group_end) begin\n{}"
        "    end\n    if (rst) gsel <= {};\n"
        "    else if (adv && at_anchor) gsel <= group_end ? {} : gsel + {};\n  end\n",
        holds, lit(gb, 0), lit(gb, 0), lit(gb, 1));
  }
  // Kernel instances.
  const int64_t yq = q * group;  // a kernel's outputs
  std::string any_done, data;
  for (int64_t i = 0; i < n; ++i) {
    const std::string st = n > 1 ? fmt::format("kstart && sel == {}", lit(sb, i)) : "kstart";
    v += fmt::format(
        "  wire d_{0};\n  wire [{1}:0] y_{0};\n"
        "  {2} u_{0} (.clk(clk), .rst(rst), .start({3}), .x({4}), .done(d_{0}), .y(y_{0}));\n",
        i, yq - 1, k.module, st, kx);
    any_done += (i ? " | " : "") + fmt::format("d_{}", i);
    data = i == 0 ? "y_0" : fmt::format("d_{} ? y_{} : ({})", i, i, data);
  }
  if (n > 1)
    v += fmt::format(
        "  always @(posedge clk) begin\n    if (rst) sel <= {};\n"
        "    else if (kstart) sel <= (sel == {}) ? {} : sel + {};\n  end\n",
        lit(sb, 0), lit(sb, n - 1), lit(sb, 0), lit(sb, 1));
  for (int64_t i = 0; i < n && ks.interval > 1; ++i)
    v += fmt::format(
        "  always @(posedge clk) begin\n    if (rst) busy_{0} <= {1};\n"
        "    else if ({2}) busy_{0} <= {3};\n    else if (!free_{0}) busy_{0} <= busy_{0} - {4};\n"
        "  end\n",
        i, lit(ib, 0), n > 1 ? fmt::format("kstart && sel == {}", lit(sb, i)) : "kstart",
        lit(ib, ks.interval - 1), lit(ib, 1));
  // Output FIFO (registers), with credits for the outputs still in the kernels. A done
  // writes its `group` outputs at once, the first at wp.
  std::string writes;
  for (int64_t j = 0; j < group; ++j)
    writes += fmt::format("    if (wr) fifo[{}] <= wd[{}:{}];\n",
                          j == 0 ? std::string("wp") : fmt::format("wp + {}", lit(pb, j)),
                          (j + 1) * q - 1, j * q);
  v += fmt::format(
      "  wire wr = {0};\n  wire [{1}:0] wd = {2};\n"
      "  (* ram_style = \"logic\" *) reg [{3}:0] fifo [0:{4}];\n  reg [{5}:0] wp, rp;\n"
      "  assign out_valid = cnt != {6};\n  assign out_data = fifo[rp];\n"
      "  wire rd = out_valid && out_ready;\n"
      "  always @(posedge clk) begin\n{7}"
      "    if (rst) begin\n      wp <= {8};\n      rp <= {8};\n      cnt <= {6};\n"
      "      pend <= {6};\n    end else begin\n      if (wr) wp <= wp + {9};\n"
      "      if (rd) rp <= rp + {10};\n"
      "      if (wr && !rd) cnt <= cnt + {11};\n      else if (rd && !wr) cnt <= cnt - {12};\n"
      "      else if (rd && wr) cnt <= cnt + {13};\n"
      "      if (kstart && !wr) pend <= pend + {11};\n"
      "      else if (wr && !kstart) pend <= pend - {11};\n    end\n  end\nendmodule\n\n",
      any_done, yq - 1, data, q - 1, fifo_depth - 1, pb - 1, lit(db, 0), writes, lit(pb, 0),
      lit(pb, group % fifo_depth), lit(pb, 1), lit(db, group), lit(db, 1), lit(db, group - 1));
  return v;
}

// Gathers `pixels` stream pixels of `pw` bits into one vector (the first pixel at the low
// bits: channels-last Flatten order) for a Dense layer or the network's output. `full`
// holds until `take`.
std::string collect_module(int64_t pixels, int64_t pw, const std::string& mod) {
  const int nb = clog2(pixels + 1);
  const int64_t n = pixels * pw;
  return fmt::format(
      "// Collects {0} pixels of {1} bits (Flatten order) into one vector.\n"
      "module {2} (\n  input clk,\n  input rst,\n  input in_valid,\n  input [{3}:0] in_data,\n"
      "  output in_ready,\n  output full,\n  output [{4}:0] v,\n  input take\n);\n"
      "  reg [{5}:0] n;\n  reg [{4}:0] buffer;\n  assign full = n == {6};\n"
      "  assign in_ready = !full;\n  assign v = buffer;\n"
      "  always @(posedge clk) begin\n    if (in_valid && in_ready) buffer <= {7};\n"
      "    if (rst) n <= {8};\n    else if (full && take) n <= {8};\n"
      "    else if (in_valid && in_ready) n <= n + {9};\n  end\nendmodule\n\n",
      pixels, pw, mod, pw - 1, n - 1, nb - 1, lit(nb, pixels),
      pixels == 1 ? std::string("in_data") : fmt::format("{{in_data, buffer[{}:{}]}}", n - 1, pw),
      lit(nb, 0), lit(nb, 1));
}

// Checks that Dense `l` (a Dense layer, or a Conv's kernel) can be built with hardware `h`
// from inputs of type `in`; Error naming the layer otherwise.
void check_kernel(const std::string& name, const IntDense& l, const hw::LayerHw& h, LayerKind kind,
                  int64_t positions, const FixedType& in) {
  if (h.kind != kind || h.positions != positions)
    throw Error(
        fmt::format("layer '{}': the hardware model describes a {} at {} positions, the "
                    "integer model a {} at {}",
                    name, to_string(h.kind), h.positions, to_string(kind), positions));
  if (h.n_in != l.n_in || h.n_out != l.n_out)
    throw Error(fmt::format("layer '{}': hardware shape {}x{} differs from the model's {}x{}", name,
                            h.n_in, h.n_out, l.n_in, l.n_out));
  if (h.reuse_factor != l.reuse_factor)
    throw Error(
        fmt::format("layer '{}': hardware reuse factor {} differs from the integer model's {}",
                    name, h.reuse_factor, l.reuse_factor));
  if (h.strategy == Strategy::Latency && h.reuse_factor > 1)
    throw Error(fmt::format(
        "layer '{}': the Latency strategy at reuse factor {} is not generated (its sharing is "
        "left to the HLS scheduler); use Resource or Unrolled, or reuse factor 1",
        name, h.reuse_factor));
  if (l.w.size() != static_cast<size_t>(l.n_in * l.n_out) ||
      l.b.size() != static_cast<size_t>(l.n_out))
    throw Error(
        fmt::format("layer '{}': weight/bias sizes do not match {}x{}", name, l.n_in, l.n_out));
  if (l.input.width != in.width || l.input.frac_bits() != in.frac_bits() ||
      l.input.is_signed != in.is_signed)
    throw Error(fmt::format("layer '{}': input type {} differs from the previous output {}", name,
                            l.input.str(), in.str()));
  const int64_t wide = int64_t{signed_width(l.weight)} + signed_width(l.input);
  if (wide > 62)
    throw Error(fmt::format("layer '{}': products of {} bits exceed the 62-bit limit", name, wide));
}

// The Dense module of `l` (RF 1: constant multipliers; RF > 1: ROM and lanes, `copies`
// instances in lockstep).
std::string dense_module(const IntDense& l, const hw::LayerHw& h, int dsp_min_bits,
                         const std::string& prefix, std::set<ProductKey>& products,
                         const std::string& mod, LayerRtl& info, int64_t copies = 1) {
  info.reuse_factor = l.reuse_factor;
  std::string text = l.reuse_factor > 1
                         ? resource_module(l, h, dsp_min_bits, prefix, products, mod, info, copies)
                         : latency_module(l, mod, dsp_min_bits, prefix, products, info);
  info.interval = l.reuse_factor;
  return text;
}

// One stage of the top module: a streaming layer (pixels in, pixels out) or a Dense layer
// (one vector in, one vector out).
struct Stage {
  bool stream = false;
  std::string module;
  int64_t out_bits = 0;  // one output pixel (stream) or the output vector (Dense)
  int64_t out_pixels = 1;
  int64_t interval = 1;  // Dense: cycles between starts
};

}  // namespace

VerilogDesign generate_verilog(const IntNetwork& net, const std::vector<hw::LayerHw>& hardware,
                               const VerilogOptions& options) {
  if (net.layers.empty()) throw Error(fmt::format("network '{}' has no layers", net.name));
  VerilogDesign d;
  const std::string top = ident(options.top);
  std::string text;
  std::set<ProductKey> products;  // the LUT multiplier modules used
  std::vector<Stage> stages;
  FixedType in = net.input;
  size_t kernels = 0;  // Dense/Conv layers so far (index into `hardware`)
  auto next_hw = [&](std::string_view name) -> const hw::LayerHw& {
    if (kernels >= hardware.size())
      throw Error(
          fmt::format("network '{}': {} hardware layers, fewer than its Dense/Conv "
                      "layers (layer '{}' has none)",
                      net.name, hardware.size(), name));
    return hardware[kernels++];
  };
  for (size_t k = 0; k < net.layers.size(); ++k) {
    const IntLayer& layer = net.layers[k];
    const std::string name(int_layer_name(layer));
    const std::string mod = fmt::format("{}_l{}_{}", top, k, ident(name));
    Stage st;
    st.module = mod;
    if (const auto* l = std::get_if<IntDense>(&layer)) {
      if (!stages.empty() && stages.back().stream &&
          stages.back().out_bits * stages.back().out_pixels != l->n_in * in.width)
        throw Error(fmt::format("layer '{}': takes {} values, the previous layer gives {}", name,
                                l->n_in,
                                stages.back().out_bits / in.width * stages.back().out_pixels));
      const hw::LayerHw& h = next_hw(name);
      check_kernel(name, *l, h, LayerKind::Dense, 1, in);
      LayerRtl info;
      info.name = name;
      info.module = mod;
      text += dense_module(*l, h, options.dsp_min_weight_bits, top + "_", products, mod, info);
      st.out_bits = l->n_out * l->output_type().width;
      st.interval = l->reuse_factor;
      d.layers.push_back(info);
      in = l->output_type();
    } else if (const auto* c = std::get_if<IntConv>(&layer)) {
      if (!stages.empty() && !stages.back().stream)
        throw Error(fmt::format("layer '{}': a Conv after a Dense layer is not generated", name));
      const hw::LayerHw& h = next_hw(name);
      const hw::StreamGeometry g =
          hw::stream_geometry(c->in_shape, c->kernel, c->strides, c->pad_begin, c->out_shape);
      check_kernel(name, c->core, h, c->kernel.size() == 1 ? LayerKind::Conv1D : LayerKind::Conv2D,
                   g.outputs(), in);
      LayerRtl info;
      info.name = name;
      info.module = mod;
      info.stream = true;
      StreamKernel sk;
      sk.module = mod + "_k";
      // The schedule's lockstep group is one kernel module (ROM shared), its instances are
      // modules each; the kernel module gives the latency.
      sk.sched = hw::kernel_schedule(h, 1);
      const int64_t group = sk.sched.lockstep;
      text += dense_module(c->core, h, options.dsp_min_weight_bits, top + "_", products, sk.module,
                           info, group);
      sk.sched.latency = info.latency;
      sk.in_bits = group * c->core.n_in * in.width;
      sk.out_bits = c->core.n_out * c->core.output_type().width;
      info.multipliers *= sk.sched.instances;
      const hw::StreamTiming tm = hw::stream_timing(g, sk.sched);
      info.latency = tm.latency;
      info.interval = tm.interval;
      text += stream_module(name, g, static_cast<int>(g.c * in.width), sk, mod);
      st.stream = true;
      st.out_bits = sk.out_bits;
      st.out_pixels = g.outputs();
      d.layers.push_back(info);
      in = c->core.output_type();
    } else if (const auto* p = std::get_if<IntPool>(&layer)) {
      if (!stages.empty() && !stages.back().stream)
        throw Error(fmt::format("layer '{}': pooling after a Dense layer is not generated", name));
      if (p->type.width != in.width || p->type.frac_bits() != in.frac_bits() ||
          p->type.is_signed != in.is_signed)
        throw Error(fmt::format("layer '{}': type {} differs from the previous output {}", name,
                                p->type.str(), in.str()));
      const hw::StreamGeometry g =
          hw::stream_geometry(p->in_shape, p->pool, p->strides, p->pad_begin, p->out_shape);
      if (g.pt > 0 || g.pl > 0 || (g.oh - 1) * g.sh + g.kh > g.h || (g.ow - 1) * g.sw + g.kw > g.w)
        throw Error(fmt::format(
            "layer '{}': pooling windows that reach into \"same\" padding have no Verilog (the "
            "average's divisor changes at the edges); use valid padding",
            name));
      StreamKernel sk;
      sk.module = mod + "_k";
      const int64_t window = g.kh * g.kw;
      text += pool_module(*p, window, sk.module);
      sk.in_bits = window * g.c * in.width;
      sk.out_bits = g.c * p->output_type().width;
      in = p->output_type();
      text += stream_module(name, g, static_cast<int>(g.c * in.width), sk, mod);
      st.stream = true;
      st.out_bits = sk.out_bits;
      st.out_pixels = g.outputs();
      const hw::StreamTiming tm = hw::stream_timing(g, sk.sched);
      d.pools.push_back({name, mod, tm.latency, tm.interval});
    } else {
      throw Error(fmt::format(
          "layer '{}': the Verilog generator builds Dense, Conv1D/Conv2D (ReLU fused) and "
          "pooling layers; this {} has no Verilog yet",
          name, to_string(std::get<IntActivation>(layer).kind)));
    }
    stages.push_back(st);
  }
  if (kernels != hardware.size())
    throw Error(fmt::format("network '{}': {} Dense/Conv layers but {} hardware layers", net.name,
                            kernels, hardware.size()));

  const FixedType ot = net.output_type();
  d.top = top;
  d.n_in = net.n_in();
  d.n_out = net.n_out();
  d.input_width = net.input.width;
  d.output_width = ot.width;
  d.input_signed = net.input.is_signed;
  d.output_signed = ot.is_signed;
  d.stream_input = stages.front().stream;
  d.pixel_values = d.stream_input ? net.input_shape.back() : d.n_in;

  // The Dense chain: every layer starts on the previous one's done.
  size_t first_dense = 0;
  while (first_dense < stages.size() && stages[first_dense].stream) ++first_dense;
  int64_t dense_interval = 1;
  for (size_t k = first_dense; k < stages.size(); ++k)
    dense_interval = std::max(dense_interval, stages[k].interval);
  for (const LayerRtl& l : d.layers) {
    d.latency += l.latency;
    d.interval = std::max(d.interval, l.interval);
  }
  for (const auto& p : d.pools) {
    d.latency += p.latency;
    d.interval = std::max(d.interval, p.interval);
  }
  const int64_t px_in = d.pixel_values * d.input_width;
  std::string t = fmt::format(
      "// Network '{}': {} layers; {}.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n  input [{}:0] x,\n"
      "  output done,\n  output [{}:0] y,\n  output ready\n);\n",
      net.name, net.layers.size(),
      d.stream_input
          ? fmt::format("pixels of {} values stream in ({} per image); at most {} "
                        "cycles per image, latency at most {} cycles",
                        d.pixel_values, d.n_in / d.pixel_values, d.interval, d.latency)
          : fmt::format("latency {} cycles (start -> done), interval {}", d.latency, d.interval),
      top, px_in - 1, d.n_out * ot.width - 1);
  // Where the Dense chain starts from: `go` (a start accepted) and its input vector.
  std::string go = "go", vec = "x";
  auto dense_ready = [&](const std::string& request) {
    if (dense_interval > 1) {
      const int cw = clog2(dense_interval);
      t += fmt::format(
          "  reg [{0}:0] wait_q;\n  wire dense_ready = wait_q == {1};\n"
          "  wire go = {4} && dense_ready;\n"
          "  always @(posedge clk) begin\n    if (rst) wait_q <= {1};\n"
          "    else if (go) wait_q <= {2};\n    else if (!dense_ready) wait_q <= wait_q - {3};\n"
          "  end\n",
          cw - 1, lit(cw, 0), lit(cw, dense_interval - 1), lit(cw, 1), request);
    } else {
      t += fmt::format("  wire dense_ready = 1'b1;\n  wire go = {} && dense_ready;\n", request);
    }
  };
  if (!d.stream_input) {
    dense_ready("start");
    t += "  assign ready = dense_ready;\n";
  } else {
    // Streaming layers, then a collector gathering the last one's pixels.
    t += "  wire v0 = start;\n  wire [" + std::to_string(px_in - 1) +
         ":0] p0 = x;\n  wire r0;\n  assign ready = r0;\n";
    for (size_t k = 0; k < first_dense; ++k) {
      t += fmt::format("  wire v{0};\n  wire [{1}:0] p{0};\n  wire r{0};\n", k + 1,
                       stages[k].out_bits - 1);
      t += fmt::format(
          "  {0} s{1} (.clk(clk), .rst(rst), .in_valid(v{1}), .in_data(p{1}), .in_ready(r{1}), "
          ".out_valid(v{2}), .out_data(p{2}), .out_ready(r{2}));\n",
          stages[k].module, k, k + 1);
    }
    const Stage& last = stages[first_dense - 1];
    const std::string cmod = top + "_collect";
    text += collect_module(last.out_pixels, last.out_bits, cmod);
    const int64_t n = last.out_pixels * last.out_bits;
    t += fmt::format(
        "  wire g_full, g_take;\n  wire [{0}:0] g_v;\n"
        "  {1} g (.clk(clk), .rst(rst), .in_valid(v{2}), .in_data(p{2}), .in_ready(r{2}), "
        ".full(g_full), .v(g_v), .take(g_take));\n",
        n - 1, cmod, first_dense);
    if (first_dense < stages.size()) {
      dense_ready("g_full");
      t += "  assign g_take = go;\n";
      d.latency += 1;  // the collector's count
      vec = "g_v";
    } else {
      // No Dense layer: the collected pixels are the output.
      t += fmt::format(
          "  assign g_take = 1'b1;\n  reg done_q;\n  reg [{0}:0] y_q;\n"
          "  always @(posedge clk) begin\n    if (rst) done_q <= 1'b0;\n"
          "    else done_q <= g_full;\n    if (g_full) y_q <= g_v;\n  end\n"
          "  assign done = done_q;\n  assign y = y_q;\n",
          n - 1);
      d.latency += 2;  // the collector's count, then the output register
    }
  }
  if (first_dense < stages.size()) {
    std::string prev_done = go, prev_y = vec;
    for (size_t k = first_dense; k < stages.size(); ++k) {
      t += fmt::format("  wire d{0};\n  wire [{1}:0] y{0};\n", k, stages[k].out_bits - 1);
      t +=
          fmt::format("  {} u{} (.clk(clk), .rst(rst), .start({}), .x({}), .done(d{}), .y(y{}));\n",
                      stages[k].module, k, prev_done, prev_y, k, k);
      prev_done = fmt::format("d{}", k);
      prev_y = fmt::format("y{}", k);
    }
    t += fmt::format("  assign done = {};\n  assign y = {};\n", prev_done, prev_y);
  }
  t += "endmodule\n";
  std::string lut_modules;
  for (const auto& [constant, value, x] : products)
    lut_modules += product_module(
        constant ? constant_product(value, x) : variable_product(static_cast<int>(value), x),
        top + "_");
  d.verilog = "// Generated by hwprune (docs/rtl.md). Do not edit.\n`default_nettype none\n\n" +
              lut_modules + text + t + "`default_nettype wire\n";
  return d;
}

}  // namespace hwprune::rtl
