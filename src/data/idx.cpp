// IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "hwprune/data/loaders.hpp"
#include "hwprune/util/error.hpp"
#include "label_util.hpp"

namespace hwprune::data {

namespace {

struct IdxArray {
  int type = 0x08;
  int item_size = 1;
  Shape shape;
  std::string bytes;  // the whole file
  size_t offset = 0;  // where the big-endian element data starts
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  }
  size_t data_size() const { return bytes.size() - offset; }
};

// Whole file through zlib, which reads gzip and plain files alike.
std::string read_maybe_gzip(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(fmt::format("{}: no such file", path));
  if (fs::is_directory(status)) throw Error(fmt::format("{}: is a directory", path));
  // Size hint: the file size for plain files, the gzip trailer's ISIZE for gzip files.
  size_t hint = 0;
  {
    const auto size = fs::file_size(path, ec);
    if (!ec) hint = static_cast<size_t>(size);
    if (std::FILE* raw = std::fopen(path.c_str(), "rb")) {
      unsigned char head[2] = {0, 0}, tail[4] = {0, 0, 0, 0};
      if (std::fread(head, 1, 2, raw) == 2 && head[0] == 0x1f && head[1] == 0x8b &&
          std::fseek(raw, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, raw) == 4) {
        // The trailer is only a claim: deflate expands at most 1032-fold, so a larger ISIZE
        // (a corrupt or crafted file) must not reserve gigabytes.
        const size_t isize =
            tail[0] | (tail[1] << 8) | (tail[2] << 16) | (static_cast<size_t>(tail[3]) << 24);
        hint = std::max(hint, std::min(isize, hint * 1032));
      }
      std::fclose(raw);
    }
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  gzbuffer(f, 1 << 18);
  std::string out;
  out.reserve(hint + 1);
  constexpr unsigned kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  while (true) {
    const int got = gzread(f, buf.get(), kChunk);
    if (got < 0) {
      int errnum = 0;
      std::string msg = gzerror(f, &errnum);
      gzclose(f);
      throw Error(fmt::format("{}: corrupt or truncated gzip data ({})", path, msg));
    }
    if (got == 0) break;
    out.append(buf.get(), static_cast<size_t>(got));
  }
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  if (errnum != Z_OK && errnum != Z_STREAM_END) {
    std::string text = msg ? msg : "unknown error";
    gzclose(f);
    throw Error(fmt::format("{}: corrupt or truncated gzip data ({})", path, text));
  }
  gzclose(f);
  return out;
}

IdxArray read_idx_array(const std::string& path) {
  std::string bytes = read_maybe_gzip(path);
  if (bytes.size() < 4)
    throw Error(
        fmt::format("{}: truncated IDX file ({} bytes, no complete header)", path, bytes.size()));
  auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const uint32_t magic =
      (uint32_t{byte(0)} << 24) | (uint32_t{byte(1)} << 16) | (uint32_t{byte(2)} << 8) | byte(3);
  IdxArray a;
  a.type = byte(2);
  const int ndims = byte(3);
  if (byte(0) != 0 || byte(1) != 0 || ndims == 0)
    throw Error(fmt::format("{}: bad magic number 0x{:08x} (not an IDX file)", path, magic));
  switch (a.type) {
    case 0x08:  // unsigned byte
    case 0x09:  // signed byte
      a.item_size = 1;
      break;
    case 0x0B:  // short
      a.item_size = 2;
      break;
    case 0x0C:  // int
    case 0x0D:  // float
      a.item_size = 4;
      break;
    case 0x0E:  // double
      a.item_size = 8;
      break;
    default:
      throw Error(fmt::format(
          "{}: unsupported IDX data type code 0x{:02x} (magic 0x{:08x}; expected 0x08, 0x09, "
          "0x0b, 0x0c, 0x0d or 0x0e)",
          path, a.type, magic));
  }
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header)
    throw Error(fmt::format("{}: truncated IDX header ({} dimensions need {} bytes, file has {})",
                            path, ndims, header, bytes.size()));
  int64_t numel = 1;
  for (int i = 0; i < ndims; ++i) {
    const size_t o = 4 + 4 * static_cast<size_t>(i);
    const int64_t d = (int64_t{byte(o)} << 24) | (int64_t{byte(o + 1)} << 16) |
                      (int64_t{byte(o + 2)} << 8) | int64_t{byte(o + 3)};
    a.shape.push_back(d);
    if (__builtin_mul_overflow(numel, d, &numel))
      throw Error(fmt::format("{}: IDX dimensions are too large", path));
  }
  int64_t need = 0;
  if (__builtin_mul_overflow(numel, static_cast<int64_t>(a.item_size), &need))
    throw Error(fmt::format("{}: IDX dimensions are too large", path));
  const auto have = static_cast<int64_t>(bytes.size() - header);
  if (have < need)
    throw Error(fmt::format("{}: truncated IDX file: shape {} needs {} data bytes, file has {}",
                            path, shape_str(a.shape), need, have));
  if (have > need)
    throw Error(fmt::format(
        "{}: IDX size mismatch: shape {} needs {} data bytes, file has {} ({} trailing bytes)",
        path, shape_str(a.shape), need, have, have - need));
  a.bytes = std::move(bytes);
  a.offset = header;
  return a;
}

// Element i as double (IDX data is big-endian).
template <typename F>
void visit_idx(const IdxArray& a, F&& f) {
  const auto n = static_cast<int64_t>(a.data_size()) / a.item_size;
  const unsigned char* p = a.data();
  auto be = [&](int64_t i, int size) {
    uint64_t v = 0;
    for (int k = 0; k < size; ++k) v = (v << 8) | p[i * size + k];
    return v;
  };
  switch (a.type) {
    case 0x08:
      for (int64_t i = 0; i < n; ++i) f(i, static_cast<double>(p[i]));
      break;
    case 0x09:
      for (int64_t i = 0; i < n; ++i) f(i, static_cast<double>(static_cast<int8_t>(p[i])));
      break;
    case 0x0B:
      for (int64_t i = 0; i < n; ++i)
        f(i, static_cast<double>(static_cast<int16_t>(static_cast<uint16_t>(be(i, 2)))));
      break;
    case 0x0C:
      for (int64_t i = 0; i < n; ++i)
        f(i, static_cast<double>(static_cast<int32_t>(static_cast<uint32_t>(be(i, 4)))));
      break;
    case 0x0D:
      for (int64_t i = 0; i < n; ++i)
        f(i, static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(be(i, 4)))));
      break;
    case 0x0E:
      for (int64_t i = 0; i < n; ++i) f(i, std::bit_cast<double>(be(i, 8)));
      break;
  }
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
  IdxArray img = read_idx_array(images_path);
  if (img.shape.size() < 2)
    throw Error(fmt::format("{}: expected an images file of shape (n, ...), got shape {}",
                            images_path, shape_str(img.shape)));
  IdxArray lab;
  if (!labels_path.empty()) lab = read_idx_array(labels_path);
  if (labels_path.empty()) lab.shape = {img.shape[0]};
  if (lab.shape.size() != 1)
    throw Error(fmt::format("{}: expected a 1-dimensional labels file, got shape {}", labels_path,
                            shape_str(lab.shape)));
  if (img.shape[0] != lab.shape[0])
    throw Error(fmt::format("{} has {} images but {} has {} labels", images_path, img.shape[0],
                            labels_path, lab.shape[0]));
  if (img.shape[0] == 0) throw Error(fmt::format("{}: no images", images_path));

  Dataset d;
  d.source = images_path;
  d.task = Task::Classification;
  d.x.shape = img.shape;
  if (img.shape.size() == 3) d.x.shape.push_back(1);  // (n, H, W) -> (n, H, W, 1)
  const size_t numel = img.data_size() / static_cast<size_t>(img.item_size);
  if (img.type == 0x08) {
    d.x.data.assign(img.data(), img.data() + numel);  // converts without zero-filling first
  } else {
    d.x.data.resize(numel);
    float* out = d.x.data.data();
    visit_idx(img, [&](int64_t i, double v) { out[i] = static_cast<float>(v); });
  }
  img = IdxArray();           // free the raw bytes early
  if (labels_path.empty()) {  // features only (predictions)
    d.check_finite();
    return d;
  }

  std::vector<int64_t> values(static_cast<size_t>(lab.shape[0]));
  visit_idx(lab, [&](int64_t i, double v) {
    if (!(std::isfinite(v) && v == std::trunc(v)))
      throw Error(fmt::format("{}: label {} at row {} is not an integer", labels_path, v, i));
    values[static_cast<size_t>(i)] = static_cast<int64_t>(v);
  });
  detail::assign_int_labels(d, values, {}, labels_path);
  d.check_finite();
  return d;
}

}  // namespace hwprune::data
