// Verilog generation of a pruned Dense/ReLU network (io_parallel), bit-exact with the integer
// model. Design notes (interface, timing, what is refused): docs/rtl.md.
#include "hwprune/rtl/verilog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

int signed_width(const FixedType& t) {
  return t.width + (t.is_signed ? 0 : 1);
}

// Verilog sized binary literal of `value` (sign-extended / truncated to `width` bits).
std::string lit(int width, int64_t value) {
  std::string bits(static_cast<size_t>(width), '0');
  for (int b = 0; b < width; ++b) {
    const int src = std::min(b, 63);
    if ((static_cast<uint64_t>(value) >> src) & 1u) bits[static_cast<size_t>(width - 1 - b)] = '1';
  }
  return fmt::format("{}'b{}", width, bits);
}

int clog2(int64_t n) {  // bits to count 0..n-1 (at least 1)
  int b = 1;
  while ((int64_t{1} << b) < n) ++b;
  return b;
}

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

// RF 1: one constant multiplier per non-zero weight; one output register. The weights are
// a constant vector indexed in loops (synthesis unrolls them: products with a constant 0
// weight vanish, powers of two become wiring); simulators keep the loops compact.
std::string latency_module(const IntDense& l, const std::string& mod, LayerRtl& info) {
  const FixedType& a = l.accum;
  const FixedType yt = l.output_type();
  const int wx = l.input.width, wy = yt.width;
  const int sww = signed_width(l.weight), sx = signed_width(l.input), sa = signed_width(a);
  const int pw = sww + sx;
  const int pf = l.weight.frac_bits() + l.input.frac_bits();
  int64_t mults = 0;
  std::string wk, bk;  // weights at t = o*n_in + i (highest first), biases cast to accum
  for (int64_t t = l.n_in * l.n_out; t-- > 0;) {
    const int64_t w = l.w[static_cast<size_t>((t % l.n_in) * l.n_out + t / l.n_in)];
    mults += w != 0;
    const std::string s = lit(sww, w);
    wk += s.substr(s.find('b') + 1);
  }
  for (int64_t o = l.n_out; o-- > 0;) {
    const std::string s = lit(sa, a.requantize(l.b[static_cast<size_t>(o)], l.bias.frac_bits()));
    bk += s.substr(s.find('b') + 1);
  }
  info.multipliers = mults;
  info.latency = 1;

  std::string v = fmt::format(
      "// Layer '{}': Dense {}x{} at RF 1, {} constant multipliers (zero weights vanish).\n"
      "// Latency 1 (output register), interval 1.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n  input [{}:0] x,\n"
      "  output reg done,\n  output reg [{}:0] y\n);\n",
      l.name, l.n_in, l.n_out, mults, mod, l.n_in * wx - 1, l.n_out * wy - 1);
  v += kLintHeader;
  v += fmt::format("  localparam [{}:0] WK = {}'b{};\n", l.n_in * l.n_out * sww - 1,
                   l.n_in * l.n_out * sww, wk);
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
  v += fmt::format(
      "  reg [{0}:0] y_next;\n  reg [{1}:0] acc;\n  reg [{2}:0] p;\n  integer o, i;\n"
      "  always @(*) begin\n    y_next = {3}'b0;\n    acc = {4}'b0;\n    p = {5}'b0;\n"
      "    for (o = 0; o < {6}; o = o + 1) begin\n      acc = BK[o*{4} +: {4}];\n"
      "      for (i = 0; i < {7}; i = i + 1) begin\n",
      l.n_out * wy - 1, sa - 1, pw - 1, l.n_out * wy, sa, pw, l.n_out, l.n_in);
  v += "        /* verilator lint_off WIDTH */\n";
  v += fmt::format("        p = $signed(WK[(o*{0} + i)*{1} +: {1}]) * $signed(xs[i*{2} +: {2}]);\n",
                   l.n_in, sww, sx);
  v += "        /* verilator lint_on WIDTH */\n";
  v += a.overflow == OverflowMode::WRAP ? "        acc = acc + cast_p(p);\n"
                                        : "        acc = add_acc(acc, cast_p(p));\n";
  v += "      end\n";
  // An unsigned WRAP accumulator sums modulo 2^W: its extra sign bit is 0.
  if (a.overflow == OverflowMode::WRAP && !a.is_signed)
    v += fmt::format("      acc[{}] = 1'b0;\n", sa - 1);
  v += fmt::format("      y_next[o*{0} +: {0}] = out_y(acc);\n    end\n  end\n", wy);
  v += "  /* verilator lint_on UNUSED */\n";
  v += "  always @(posedge clk) begin\n    if (rst) done <= 1'b0;\n    else done <= start;\n"
       "    if (start) y <= y_next;\n  end\nendmodule\n\n";
  return v;
}

// RF > 1: live multiplier lanes reused RF times, packed weight ROM, accumulators.
std::string resource_module(const IntDense& l, const hw::LayerHw& h, const std::string& mod,
                            LayerRtl& info) {
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
  const int wx = l.input.width, wy = yt.width, ww = l.weight.width;
  const int sww = signed_width(l.weight), sx = signed_width(l.input), sa = signed_width(a);
  const int pw = sww + sx, pf = l.weight.frac_bits() + l.input.frac_bits();
  const int irw = clog2(rf);
  (void)h;

  auto weight_at = [&](int64_t t) -> int64_t {  // transposed index -> raw weight (0 past N)
    if (t >= n) return 0;
    return l.w[static_cast<size_t>((t % l.n_in) * l.n_out + t / l.n_in)];
  };
  std::vector<int64_t> lanes;  // live lanes m, in order
  for (int64_t m = 0; m < bf; ++m) {
    bool live = false;
    for (int64_t ir = 0; ir < rf && !live; ++ir) live = weight_at(ir + m * rf) != 0;
    if (live) lanes.push_back(m);
  }
  const int64_t nl = static_cast<int64_t>(lanes.size());
  const int64_t romw = std::max<int64_t>(1, nl * ww);
  info.multipliers = nl;
  info.rom_width = nl * ww;
  info.rom_depth = rf;
  info.latency = rf + 3;

  std::string v = fmt::format(
      "// Layer '{}': Dense {}x{} at RF {}, {} of {} multiplier lanes live; weight ROM {} x {} "
      "bits.\n// Latency RF + 3 = {}, interval RF = {}.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n  input [{}:0] x,\n"
      "  output reg done,\n  output reg [{}:0] y\n);\n",
      l.name, l.n_in, l.n_out, rf, nl, bf, rf, nl * ww, rf + 3, rf, mod, l.n_in * wx - 1,
      l.n_out * wy - 1);
  v += kLintHeader;
  // Input register and cycle counter.
  v += fmt::format(
      "  reg [{0}:0] xr;\n  reg run;\n  reg [{1}:0] ir;\n"
      "  always @(posedge clk) begin\n"
      "    if (start) xr <= x;\n"
      "    if (rst) run <= 1'b0;\n"
      "    else if (start) run <= 1'b1;\n"
      "    else if (run && ir == {2}) run <= 1'b0;\n"
      "    if (start) ir <= {3};\n"
      "    else if (run) ir <= ir + {4};\n"
      "  end\n",
      l.n_in * wx - 1, irw - 1, lit(irw, rf - 1), lit(irw, 0), lit(irw, 1));
  // The packed ROM: word ir holds live lane j's weight at bits [j*W +: W].
  v += fmt::format("  (* rom_style = \"block\" *) reg [{}:0] rom [0:{}];\n  initial begin\n",
                   romw - 1, rf - 1);
  for (int64_t ir = 0; ir < rf; ++ir) {
    std::string bits;
    for (int64_t j = nl; j-- > 0;) {
      const std::string s = lit(ww, weight_at(ir + lanes[static_cast<size_t>(j)] * rf));
      bits += s.substr(s.find('b') + 1);
    }
    if (bits.empty()) bits = "0";
    v += fmt::format("    rom[{}] = {}'b{};\n", ir, romw, bits);
  }
  v += "  end\n";
  // Stage 1: ROM read, input muxes (one per distinct input offset), cycle index.
  std::map<int64_t, std::string> mux;  // (m*RF) mod n_in -> register name
  for (int64_t m : lanes) mux.emplace((m * rf) % l.n_in, "");
  v += fmt::format("  reg [{}:0] rom_q;\n  reg v1;\n  reg [{}:0] ir1;\n", romw - 1, irw - 1);
  int idx = 0;
  for (auto& [off, name] : mux) {
    name = fmt::format("xq_{}", idx++);
    v += fmt::format("  reg [{}:0] {};\n", wx - 1, name);
  }
  v += "  always @(posedge clk) begin\n    if (run) rom_q <= rom[ir];\n  end\n";
  v += "  always @(posedge clk) begin\n    if (rst) v1 <= 1'b0;\n    else v1 <= run;\n"
       "    ir1 <= ir;\n  end\n";
  for (const auto& [off, name] : mux) {
    v += fmt::format("  always @(posedge clk) begin\n    if (run) begin\n      case (ir)\n");
    for (int64_t ir = 0; ir < rf; ++ir) {
      const int64_t i = (ir + off) % l.n_in;
      v += fmt::format("        {}: {} <= xr[{}:{}];\n", lit(irw, ir), name, (i + 1) * wx - 1,
                       i * wx);
    }
    if ((int64_t{1} << irw) != rf)
      v += fmt::format("        default: {} <= {};\n", name, lit(wx, 0));
    v += "      endcase\n    end\n  end\n";
  }
  // Stage 2: products and their casts (a loop over the live lanes), accumulation.
  Body b;
  b.text += function("cast_p", {{"p", pw}}, sa, [&](Body& f) { return f.cast({"p", pw, pf}, a); });
  b.text += fmt::format("  wire [{}:0] xl;\n", nl * sx - 1);
  for (int64_t j = 0; j < nl; ++j) {
    const int64_t m = lanes[static_cast<size_t>(j)];
    b.text += fmt::format("  assign xl[{}:{}] = {};\n", (j + 1) * sx - 1, j * sx,
                          view(mux.at((m * rf) % l.n_in), l.input));
  }
  b.text += fmt::format(
      "  reg [{0}:0] pcs;\n  reg [{1}:0] p;\n  integer j;\n"
      "  always @(*) begin\n    pcs = {2}'b0;\n    p = {3}'b0;\n"
      "    for (j = 0; j < {4}; j = j + 1) begin\n      /* verilator lint_off WIDTH */\n"
      "      p = $signed({5}) * $signed(xl[j*{6} +: {6}]);\n"
      "      /* verilator lint_on WIDTH */\n      pcs[j*{7} +: {7}] = cast_p(p);\n"
      "    end\n  end\n",
      nl * sa - 1, pw - 1, nl * sa, pw, nl,
      l.weight.is_signed ? fmt::format("rom_q[j*{0} +: {0}]", ww)
                         : fmt::format("{{1'b0, rom_q[j*{0} +: {0}]}}", ww),
      sx, sa);
  std::string accs, updates;
  for (int64_t o = 0; o < l.n_out; ++o) {
    const int64_t bias = a.requantize(l.b[static_cast<size_t>(o)], l.bias.frac_bits());
    accs += fmt::format("  reg [{}:0] acc_{};\n", a.width - 1, o);
    std::vector<std::string> terms{
        fmt::format("((ir1 == {}) ? {} : acc_{})", lit(irw, 0), lit(a.width, bias), o)};
    for (int64_t j = 0; j < nl; ++j) {
      const int64_t m = lanes[static_cast<size_t>(j)];
      // Cycles in which lane m works on output o: t = ir + m*RF in [o*n_in, (o+1)*n_in).
      const int64_t t0 = m * rf, t1 = std::min(m * rf + rf, n) - 1;
      const int64_t lo = std::max(t0, o * l.n_in), hi = std::min(t1, (o + 1) * l.n_in - 1);
      if (lo > hi) continue;
      bool any = false;
      for (int64_t t = lo; t <= hi && !any; ++t) any = weight_at(t) != 0;
      if (!any) continue;
      const std::string term = fmt::format("pcs[{}:{}]", j * sa + a.width - 1, j * sa);
      std::string cond;
      if (lo - t0 > 0) cond = fmt::format("ir1 >= {}", lit(irw, lo - t0));
      if (hi - t0 < rf - 1)
        cond += (cond.empty() ? "" : " && ") + fmt::format("ir1 <= {}", lit(irw, hi - t0));
      terms.push_back(cond.empty() ? term
                                   : fmt::format("(({}) ? {} : {})", cond, term, lit(a.width, 0)));
    }
    updates += fmt::format("      acc_{} <= {};\n", o, modular_sum(terms, a.width));
  }
  // Stage 3: result cast, ReLU (a loop over the outputs), output register.
  b.text += function("out_y", {{"s", sa}}, wy, [&](Body& f) {
    return output_stage(f, {"s", sa, a.frac_bits()}, l);
  });
  std::string accv;
  for (int64_t o = l.n_out; o-- > 0;)
    accv += fmt::format("{}acc_{}", a.is_signed ? "" : "1'b0, ", o) + (o ? ", " : "");
  b.text += fmt::format(
      "  wire [{0}:0] accs = {{{1}}};\n  reg [{2}:0] y_next;\n  integer o;\n"
      "  always @(*) begin\n    y_next = {3}'b0;\n    for (o = 0; o < {4}; o = o + 1)\n"
      "      y_next[o*{5} +: {5}] = out_y(accs[o*{6} +: {6}]);\n  end\n",
      l.n_out * sa - 1, accv, l.n_out * wy - 1, l.n_out * wy, l.n_out, wy, sa);
  v += accs;
  v += b.text;
  v += "  reg last;\n";
  v += fmt::format(
      "  always @(posedge clk) begin\n    if (rst) last <= 1'b0;\n"
      "    else last <= v1 && ir1 == {};\n    if (v1) begin\n{}    end\n  end\n",
      lit(irw, rf - 1), updates);
  v += "  /* verilator lint_on UNUSED */\n";
  v += std::string(
      "  always @(posedge clk) begin\n    if (rst) done <= 1'b0;\n    else done <= last;\n"
      "    if (last) y <= y_next;\n  end\nendmodule\n\n");
  return v;
}

}  // namespace

VerilogDesign generate_verilog(const IntNetwork& net, const std::vector<hw::LayerHw>& hardware,
                               const VerilogOptions& options) {
  if (net.layers.empty()) throw Error(fmt::format("network '{}' has no layers", net.name));
  for (const IntLayer& l : net.layers)
    if (!std::holds_alternative<IntDense>(l))
      throw Error(fmt::format(
          "layer '{}': the Verilog generator builds Dense layers (with ReLU) only; Conv, "
          "pooling and other activations have no Verilog yet",
          int_layer_name(l)));
  if (hardware.size() != net.layers.size())
    throw Error(fmt::format("network '{}': {} Dense layers but {} hardware layers", net.name,
                            net.layers.size(), hardware.size()));
  VerilogDesign d;
  FixedType in = net.input;
  std::vector<std::string> mods;
  std::string text;
  const std::string top = ident(options.top);
  for (size_t k = 0; k < net.layers.size(); ++k) {
    const IntDense& l = net.dense(k);
    const hw::LayerHw& h = hardware[k];
    if (h.kind != LayerKind::Dense || h.positions != 1)
      throw Error(fmt::format("layer '{}': only Dense layers can be generated", l.name));
    if (h.io_type != IoType::Parallel)
      throw Error(fmt::format("layer '{}': only io_parallel is generated (got {})", l.name,
                              to_string(h.io_type)));
    if (h.n_in != l.n_in || h.n_out != l.n_out)
      throw Error(fmt::format("layer '{}': hardware shape {}x{} differs from the model's {}x{}",
                              l.name, h.n_in, h.n_out, l.n_in, l.n_out));
    if (h.reuse_factor != l.reuse_factor)
      throw Error(
          fmt::format("layer '{}': hardware reuse factor {} differs from the integer model's {}",
                      l.name, h.reuse_factor, l.reuse_factor));
    if (h.strategy == Strategy::Latency && h.reuse_factor > 1)
      throw Error(fmt::format(
          "layer '{}': the Latency strategy at reuse factor {} is not generated (its sharing is "
          "left to the HLS scheduler); use Resource or Unrolled, or reuse factor 1",
          l.name, h.reuse_factor));
    if (l.w.size() != static_cast<size_t>(l.n_in * l.n_out) ||
        l.b.size() != static_cast<size_t>(l.n_out))
      throw Error(
          fmt::format("layer '{}': weight/bias sizes do not match {}x{}", l.name, l.n_in, l.n_out));
    if (l.input.width != in.width || l.input.frac_bits() != in.frac_bits() ||
        l.input.is_signed != in.is_signed)
      throw Error(fmt::format("layer '{}': input type {} differs from the previous output {}",
                              l.name, l.input.str(), in.str()));
    const int64_t wide = int64_t{signed_width(l.weight)} + signed_width(l.input);
    if (wide > 62)
      throw Error(
          fmt::format("layer '{}': products of {} bits exceed the 62-bit limit", l.name, wide));
    LayerRtl info;
    info.name = l.name;
    info.module = fmt::format("{}_l{}_{}", top, k, ident(l.name));
    info.reuse_factor = l.reuse_factor;
    text += l.reuse_factor > 1 ? resource_module(l, h, info.module, info)
                               : latency_module(l, info.module, info);
    d.latency += info.latency;
    d.interval = std::max(d.interval, l.reuse_factor);
    d.layers.push_back(info);
    in = l.output_type();
  }
  (void)options.dsp_min_weight_bits;
  const int wi = net.dense(0).input.width;
  const FixedType ot = net.output_type();
  d.input_width = wi;
  d.output_width = ot.width;
  d.input_signed = net.dense(0).input.is_signed;
  d.output_signed = ot.is_signed;
  d.top = top;
  const int64_t ni = net.dense(0).n_in, no = net.dense(net.layers.size() - 1).n_out;
  d.n_in = ni;
  d.n_out = no;
  const int cw = clog2(d.interval);

  std::string t = fmt::format(
      "// Network '{}': {} layers, latency {} cycles (start -> done), interval {}.\n"
      "module {} (\n  input clk,\n  input rst,\n  input start,\n  input [{}:0] x,\n"
      "  output done,\n  output [{}:0] y,\n  output ready\n);\n",
      net.name, net.layers.size(), d.latency, d.interval, top, ni * wi - 1, no * ot.width - 1);
  if (d.interval > 1) {
    t += fmt::format(
        "  reg [{0}:0] wait_q;\n  assign ready = wait_q == {1};\n"
        "  wire go = start && ready;\n"
        "  always @(posedge clk) begin\n    if (rst) wait_q <= {1};\n"
        "    else if (go) wait_q <= {2};\n    else if (!ready) wait_q <= wait_q - {3};\n  end\n",
        cw - 1, lit(cw, 0), lit(cw, d.interval - 1), lit(cw, 1));
  } else {
    t += "  assign ready = 1'b1;\n  wire go = start;\n";
  }
  std::string prev_done = "go", prev_y = "x";
  for (size_t k = 0; k < net.layers.size(); ++k) {
    const IntDense& l = net.dense(k);
    t +=
        fmt::format("  wire d{0};\n  wire [{1}:0] y{0};\n", k, l.n_out * l.output_type().width - 1);
    t += fmt::format("  {} u{} (.clk(clk), .rst(rst), .start({}), .x({}), .done(d{}), .y(y{}));\n",
                     d.layers[k].module, k, prev_done, prev_y, k, k);
    prev_done = fmt::format("d{}", k);
    prev_y = fmt::format("y{}", k);
  }
  t += fmt::format("  assign done = {};\n  assign y = {};\nendmodule\n", prev_done, prev_y);
  d.verilog = "// Generated by hwprune (docs/rtl.md). Do not edit.\n`default_nettype none\n\n" +
              text + t + "`default_nettype wire\n";
  return d;
}

}  // namespace hwprune::rtl
