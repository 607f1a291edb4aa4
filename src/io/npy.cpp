#include "hwprune/io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::io {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr bool kHostBigEndian = std::endian::native == std::endian::big;

// Header text for a one-line message: control characters escaped, long text shortened.
std::string esc(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out.push_back(c);
  }
  if (s.size() > 40) out += "...";
  return out;
}

// --- header parsing -------------------------------------------------------------------
// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// This parser accepts exactly the three keys numpy writes.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  void parse(std::string& descr, bool& fortran, Shape& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      std::string key = parse_string();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() == '[') fail("structured dtypes are not supported");
        descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = parse_bool();
        have_fortran = true;
      } else if (key == "shape") {
        shape = parse_shape();
        have_shape = true;
      } else {
        fail(fmt::format("unexpected header key '{}'", esc(key)));
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail("malformed header (expected ',' or '}')");
      }
    }
    if (!have_descr || !have_fortran || !have_shape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(fmt::format("{}: invalid .npy file: {}", what_, problem));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(fmt::format("malformed header (expected '{}')", c));
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    char q = peek();
    if (q != '\'' && q != '"') fail("malformed header (expected a string)");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) fail("malformed header (unterminated string)");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("malformed header (fortran_order is not True/False)");
  }
  Shape parse_shape() {
    char close = peek() == '(' ? ')' : peek() == '[' ? ']' : '\0';
    if (!close) fail("malformed header (shape is not a tuple)");
    ++pos_;
    Shape shape;
    while (true) {
      skip_ws();
      if (peek() == close) {
        ++pos_;
        return shape;
      }
      if (peek() < '0' || peek() > '9') fail("malformed header (bad shape)");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("shape dimension too large");
        v = v * 10 + (peek() - '0');
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      shape.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != close) {
        fail("malformed header (bad shape)");
      }
    }
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

uint32_t read_le(std::string_view b, size_t off, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[off + i]);
  return v;
}

template <typename T>
T load_value(const char* p, bool swap) {
  if constexpr (sizeof(T) == 1) {
    T v;
    std::memcpy(&v, p, 1);
    return v;
  } else {
    using U = std::conditional_t<sizeof(T) == 2, uint16_t,
                                 std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>;
    U u;
    std::memcpy(&u, p, sizeof(U));
    if (swap) {
      if constexpr (sizeof(T) == 2)
        u = __builtin_bswap16(u);
      else if constexpr (sizeof(T) == 4)
        u = __builtin_bswap32(u);
      else
        u = __builtin_bswap64(u);
    }
    return std::bit_cast<T>(u);
  }
}

// Calls f(index, value) for every element with its natural C++ type.
template <typename F>
void visit_values(const NpyArray& a, F&& f) {
  const bool swap = a.item_size > 1 && a.big_endian != kHostBigEndian;
  const int64_t n = a.numel();
  const char* p = a.data.data();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < n; ++i) f(i, load_value<T>(p + i * sizeof(T), swap));
  };
  switch (a.kind) {
    case 'f':
      if (a.item_size == 4) return run(float{});
      if (a.item_size == 8) return run(double{});
      break;
    case 'i':
      if (a.item_size == 1) return run(int8_t{});
      if (a.item_size == 2) return run(int16_t{});
      if (a.item_size == 4) return run(int32_t{});
      if (a.item_size == 8) return run(int64_t{});
      break;
    case 'u':
      if (a.item_size == 1) return run(uint8_t{});
      if (a.item_size == 2) return run(uint16_t{});
      if (a.item_size == 4) return run(uint32_t{});
      if (a.item_size == 8) return run(uint64_t{});
      break;
    case 'b':
      if (a.item_size == 1) return run(uint8_t{});
      break;
  }
  throw Error(fmt::format("unsupported npy dtype kind '{}' size {}", a.kind, a.item_size));
}

std::string dtype_str(const NpyArray& a) {
  return fmt::format("{}{}{}", a.item_size == 1 ? '|' : (a.big_endian ? '>' : '<'), a.kind,
                     a.item_size);
}

}  // namespace

int64_t NpyArray::numel() const {
  return shape_numel(shape);
}

Tensor NpyArray::to_tensor(const std::string& what) const {
  Tensor t;
  t.shape = shape;
  t.data.resize(static_cast<size_t>(numel()));
  if (static_cast<int64_t>(data.size()) != numel() * item_size)
    throw Error(fmt::format("{}: array data size does not match its shape", what));
  if (kind == 'f' && item_size == 4 && big_endian == kHostBigEndian) {
    if (!t.data.empty()) std::memcpy(t.data.data(), data.data(), data.size());
    return t;
  }
  float* out = t.data.data();
  if (kind == 'b') {
    visit_values(*this, [&](int64_t i, auto v) { out[i] = v ? 1.0f : 0.0f; });
  } else {
    visit_values(*this, [&](int64_t i, auto v) { out[i] = static_cast<float>(v); });
  }
  return t;
}

std::vector<int64_t> NpyArray::to_int64(const std::string& what) const {
  if (static_cast<int64_t>(data.size()) != numel() * item_size)
    throw Error(fmt::format("{}: array data size does not match its shape", what));
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  visit_values(*this, [&](int64_t i, auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>) {
      // 2^63 is exactly representable; anything at or above it does not fit.
      if (!(std::isfinite(v) && v == std::trunc(v) && v >= -9.2233720368547758e18 &&
            v < 9.2233720368547758e18))
        throw Error(fmt::format("{}: expected integer values, found {} at flat index {}", what,
                                static_cast<double>(v), i));
      out[static_cast<size_t>(i)] = static_cast<int64_t>(v);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw Error(fmt::format("{}: value {} at flat index {} does not fit in int64", what, v, i));
      out[static_cast<size_t>(i)] = static_cast<int64_t>(v);
    } else {
      out[static_cast<size_t>(i)] = kind == 'b' ? (v ? 1 : 0) : static_cast<int64_t>(v);
    }
  });
  return out;
}

NpyArray parse_npy(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic)
    throw Error(fmt::format("{}: not a .npy file (bad magic)", what));
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = read_le(bytes, 8, 2);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(fmt::format("{}: truncated .npy header", what));
    header_len = read_le(bytes, 8, 4);
    header_start = 12;
  } else {
    throw Error(fmt::format("{}: unsupported .npy format version {}.{}", what, major, minor));
  }
  if (bytes.size() < header_start + header_len)
    throw Error(fmt::format("{}: truncated .npy header", what));
  std::string descr;
  bool fortran = false;
  NpyArray a;
  HeaderParser(bytes.substr(header_start, header_len), what).parse(descr, fortran, a.shape);
  if (fortran) throw Error(fmt::format("{}: Fortran order not supported", what));

  // descr: byte order, kind, item size, e.g. '<f4', '|u1', '>i8'.
  bool ok = descr.size() >= 3;
  if (ok) {
    const char order = descr[0];
    a.kind = descr[1];
    std::string_view size_text = std::string_view(descr).substr(2);
    ok = size_text == "1" || size_text == "2" || size_text == "4" || size_text == "8";
    if (ok) a.item_size = size_text[0] - '0';
    if (order == '<') {
      a.big_endian = false;
    } else if (order == '>') {
      a.big_endian = true;
    } else if (order == '=') {
      a.big_endian = kHostBigEndian;
    } else if (order == '|') {
      a.big_endian = false;
      ok = ok && a.item_size == 1;
    } else {
      ok = false;
    }
    if (ok) {
      switch (a.kind) {
        case 'f':
          ok = a.item_size == 4 || a.item_size == 8;
          break;
        case 'i':
        case 'u':
          break;
        case 'b':
          ok = a.item_size == 1;
          break;
        default:
          ok = false;
      }
    }
    if (ok && a.item_size == 1) a.big_endian = false;
  }
  if (!ok)
    throw Error(
        fmt::format("{}: unsupported dtype '{}' (supported: f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)",
                    what, esc(descr)));

  int64_t numel = 1;
  for (int64_t d : a.shape) {
    if (__builtin_mul_overflow(numel, d, &numel))
      throw Error(fmt::format("{}: shape {} is too large", what, shape_str(a.shape)));
  }
  int64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<int64_t>(a.item_size), &nbytes))
    throw Error(fmt::format("{}: shape {} is too large", what, shape_str(a.shape)));
  const size_t data_start = header_start + header_len;
  const size_t have = bytes.size() - data_start;
  if (static_cast<uint64_t>(nbytes) > have)
    throw Error(fmt::format("{}: truncated .npy data: shape {} of {} needs {} bytes, file has {}",
                            what, shape_str(a.shape), dtype_str(a), nbytes, have));
  if (static_cast<uint64_t>(nbytes) < have)
    throw Error(
        fmt::format("{}: .npy data size mismatch: shape {} of {} needs {} bytes, file has {}", what,
                    shape_str(a.shape), dtype_str(a), nbytes, have));
  a.data.assign(bytes.substr(data_start));
  return a;
}

NpyArray read_npy_file(const std::string& path) {
  return parse_npy(read_file(path), path);
}

namespace {

// One .npy file: header (numpy >= 1.24 layout) and `count` little-endian items of `size`
// bytes from `data` (host order; swapped on a big-endian host).
std::string npy_file(const Shape& shape, const char* descr, const void* data, int64_t count,
                     size_t size) {
  std::string shape_text;
  if (shape.size() == 1) {
    shape_text = fmt::format("({},)", shape[0]);
  } else {
    shape_text = "(";
    for (size_t i = 0; i < shape.size(); ++i)
      shape_text += fmt::format("{}{}", i ? ", " : "", shape[i]);
    shape_text += ")";
  }
  if (shape_numel(shape) != count)
    throw Error(
        fmt::format("npy_bytes: shape {} does not match its {} values", shape_str(shape), count));
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape_text);
  // Like numpy (>= 1.24): room for the first dimension to grow to 21 digits, then spaces and
  // a final newline so that the data starts at a multiple of 64 bytes.
  if (!shape.empty()) {
    const size_t digits = std::to_string(shape[0]).size();
    if (digits < 21) header.append(21 - digits, ' ');
  }
  size_t total = 10 + header.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  header.append(padded - total, ' ');
  header.push_back('\n');
  if (header.size() > 65535)
    throw Error(fmt::format("npy_bytes: shape {} makes the header too long", shape_str(shape)));

  std::string out;
  const size_t bytes = static_cast<size_t>(count) * size;
  out.reserve(10 + header.size() + bytes);
  out.append(kMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out.append(header);
  const size_t start = out.size();
  out.append(static_cast<const char*>(data), bytes);
  if constexpr (kHostBigEndian)
    for (size_t i = start; i < out.size(); i += size) std::reverse(&out[i], &out[i] + size);
  return out;
}

}  // namespace

std::string npy_bytes(const Tensor& t) {
  return npy_file(t.shape, "<f4", t.data.data(), t.numel(), sizeof(float));
}

std::string npy_bytes(const std::vector<int64_t>& values, const Shape& shape) {
  return npy_file(shape, "<i8", values.data(), static_cast<int64_t>(values.size()),
                  sizeof(int64_t));
}

}  // namespace hwprune::io
