// Dataset loaders (CSV, IDX, NPY, NPZ, the --data spec), splits and standardisation.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/data/dataset.hpp"
#include "hwprune/data/loaders.hpp"
#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/util/error.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using data::CsvOptions;
using data::Dataset;
using test::error_of;
using test::ScratchDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Sets or unsets an environment variable for the lifetime of the object.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~EnvGuard() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

CsvOptions csv_opts(const std::string& label = "-1",
                    CsvOptions::Header header = CsvOptions::Header::Auto) {
  CsvOptions o;
  o.label = label;
  o.header = header;
  return o;
}

// --- small file builders -------------------------------------------------------------------

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx_file(int type, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) out += be32(d);
  return out + payload;
}

uint32_t crc32(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A valid gzip file holding `raw` in stored (uncompressed) deflate blocks.
std::string gzip_stored(const std::string& raw) {
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<char>(n & 0xff));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xff));
    out.push_back(static_cast<char>((~n >> 8) & 0xff));
    out.append(raw, pos, n);
    pos += n;
  } while (pos < raw.size());
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  le32(crc32(raw));
  le32(static_cast<uint32_t>(raw.size()));
  return out;
}

template <typename T>
std::string le_bytes(const std::vector<T>& values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

template <typename T>
std::string be_bytes(const std::vector<T>& values) {
  std::string out;
  for (T v : values) {
    std::string b(reinterpret_cast<const char*>(&v), sizeof(T));
    out.append(b.rbegin(), b.rend());
  }
  return out;
}

std::string npy(const std::string& descr, const Shape& shape, const std::string& data) {
  std::string shape_text = shape.size() == 1 ? fmt::format("({},)", shape[0]) : "(";
  if (shape.size() != 1) {
    for (size_t i = 0; i < shape.size(); ++i)
      shape_text += (i ? ", " : "") + std::to_string(shape[i]);
    shape_text += ")";
  }
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape_text);
  const size_t total = 10 + header.size() + 1;
  header.append((total + 63) / 64 * 64 - total, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY\x01";
  out.push_back('\0');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + data;
}

std::vector<int64_t> rows_of(const Dataset& d) {
  // Each test dataset below stores the row number in feature 0.
  std::vector<int64_t> out;
  for (int64_t r = 0; r < d.size(); ++r)
    out.push_back(static_cast<int64_t>(d.x.data[static_cast<size_t>(r * d.sample_size())]));
  return out;
}

// --- CSV -----------------------------------------------------------------------------------

TEST(Csv, HeaderAndLabelByName) {
  ScratchDir dir;
  const std::string p = dir.write("t.csv", "a,label,b\n1,cat,2\n3,dog,4\n5.5,cat,-6e-1\n");
  Dataset d = data::read_csv(p, csv_opts("label"));
  EXPECT_EQ(d.source, p);
  EXPECT_EQ(d.task, Task::Classification);
  EXPECT_EQ(d.x.shape, (Shape{3, 2}));
  EXPECT_THAT(d.x.data, ElementsAre(1, 2, 3, 4, 5.5f, -0.6f));
  EXPECT_THAT(d.labels, ElementsAre(0, 1, 0));
  EXPECT_THAT(d.class_names, ElementsAre("cat", "dog"));
  EXPECT_EQ(d.num_outputs(), 2);
}

TEST(Csv, NoHeaderDefaultsToLastColumn) {
  ScratchDir dir;
  const std::string p = dir.write("t.csv", "1,2,3\n4,5,0\n");
  Dataset d = data::read_csv(p, csv_opts());
  EXPECT_EQ(d.x.shape, (Shape{2, 2}));
  EXPECT_THAT(d.x.data, ElementsAre(1, 2, 4, 5));
  EXPECT_THAT(d.labels, ElementsAre(3, 0));
  EXPECT_THAT(d.class_names, ElementsAre("0", "1", "2", "3"));
}

TEST(Csv, LabelByIndexAndNegativeIndex) {
  ScratchDir dir;
  const std::string p = dir.write("t.csv", "7,1,2\n8,3,4\n");
  for (const char* label : {"0", "-3"}) {
    Dataset d = data::read_csv(p, csv_opts(label));
    EXPECT_THAT(d.labels, ElementsAre(7, 8)) << label;
    EXPECT_EQ(d.num_classes(), 9) << label;  // "0".."8"
    EXPECT_THAT(d.x.data, ElementsAre(1, 2, 3, 4)) << label;
  }
  Dataset mid = data::read_csv(p, csv_opts("-2"));
  EXPECT_THAT(mid.x.data, ElementsAre(7, 2, 8, 4));
  EXPECT_THAT(mid.labels, ElementsAre(1, 3));
}

TEST(Csv, HeaderModes) {
  ScratchDir dir;
  const std::string p = dir.write("t.csv", "10,20,1\n1,2,0\n3,4,1\n");
  EXPECT_EQ(data::read_csv(p, csv_opts("-1", CsvOptions::Header::Auto)).size(), 3);
  EXPECT_EQ(data::read_csv(p, csv_opts("-1", CsvOptions::Header::No)).size(), 3);
  Dataset yes = data::read_csv(p, csv_opts("1", CsvOptions::Header::Yes));  // column named "1"
  EXPECT_EQ(yes.size(), 2);
  EXPECT_THAT(yes.x.data, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(yes.labels, ElementsAre(0, 1));

  const std::string t = dir.write("h.csv", "f1,f2,y\n1,2,0\n");
  EXPECT_THAT(error_of([&] { data::read_csv(t, csv_opts("-1", CsvOptions::Header::No)); }),
              AllOf(HasSubstr(t + ":1:"), HasSubstr("'f1'"), HasSubstr("column 0")));
}

TEST(Csv, QuotedFields) {
  ScratchDir dir;
  const std::string p = dir.write("q.csv",
                                  "\"x \"\"1\"\"\",y,\"lab,el\"\n"
                                  "\"1.5\",2,\"a,b\"\n"
                                  " 3 , \"4\" ,\"say \"\"hi\"\"\"\n"
                                  "5,6,\"two\nlines\"\n"
                                  "7,8,\"a,b\"\n");
  Dataset d = data::read_csv(p, csv_opts("lab,el"));
  EXPECT_EQ(d.x.shape, (Shape{4, 2}));
  EXPECT_THAT(d.x.data, ElementsAre(1.5f, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(d.class_names, ElementsAre("a,b", "say \"hi\"", "two\nlines"));
  EXPECT_THAT(d.labels, ElementsAre(0, 1, 2, 0));
  // Line numbers stay right after a quoted newline.
  const std::string bad = dir.write("b.csv", "a,b\n1,\"x\ny\"\n2\n");
  EXPECT_THAT(error_of([&] { data::read_csv(bad, csv_opts()); }),
              HasSubstr(bad + ":4: expected 2 fields, got 1"));
  const std::string open = dir.write("o.csv", "a,b\n1,\"x\n");
  EXPECT_THAT(error_of([&] { data::read_csv(open, csv_opts()); }),
              AllOf(HasSubstr(open + ":2:"), HasSubstr("unterminated")));
}

TEST(Csv, CrlfBomAndTrailingBlankLines) {
  ScratchDir dir;
  const std::string p = dir.write("w.csv", "\xEF\xBB\xBFx1,x2,cls\r\n1,2,0\r\n3,4,1\r\n\r\n\n  \n");
  Dataset d = data::read_csv(p, csv_opts("cls"));
  EXPECT_EQ(d.size(), 2);
  EXPECT_THAT(d.labels, ElementsAre(0, 1));
  const std::string mid = dir.write("m.csv", "1,2,0\n\n3,4,1\n");
  EXPECT_THAT(error_of([&] { data::read_csv(mid, csv_opts()); }),
              HasSubstr(mid + ":2: expected 3 fields, got an empty line"));
}

TEST(Csv, KnownClassNames) {
  ScratchDir dir;
  const std::string p = dir.write("k.csv", "a,y\n1,cat\n2,bird\n");
  CsvOptions o = csv_opts("y");
  o.class_names = {"dog", "cat", "bird"};
  Dataset d = data::read_csv(p, o);
  EXPECT_THAT(d.labels, ElementsAre(1, 2));
  EXPECT_THAT(d.class_names, ElementsAre("dog", "cat", "bird"));
  const std::string u = dir.write("u.csv", "a,y\n1,cat\n2,cow\n");
  EXPECT_THAT(error_of([&] { data::read_csv(u, o); }),
              AllOf(HasSubstr(u + ":3:"), HasSubstr("unknown label 'cow'"), HasSubstr("dog")));
  // Integer labels are class indices into the known names.
  const std::string i = dir.write("i.csv", "1,2\n3,0\n");
  o.label = "-1";
  Dataset di = data::read_csv(i, o);
  EXPECT_THAT(di.labels, ElementsAre(2, 0));
  const std::string big = dir.write("big.csv", "1,2\n3,3\n");
  EXPECT_THAT(error_of([&] { data::read_csv(big, o); }),
              AllOf(HasSubstr(big + ":2:"), HasSubstr("out of range")));
}

TEST(Csv, FloatWrittenIntegerLabels) {
  ScratchDir dir;
  const std::string p = dir.write("f.csv", "1,2.0\n3,0.0\n4,1\n");
  EXPECT_THAT(data::read_csv(p, csv_opts()).labels, ElementsAre(2, 0, 1));
  // Non-integer numbers become string classes.
  const std::string s = dir.write("s.csv", "1,2.5\n3,0.5\n");
  Dataset d = data::read_csv(s, csv_opts());
  EXPECT_THAT(d.class_names, ElementsAre("0.5", "2.5"));
  EXPECT_THAT(d.labels, ElementsAre(1, 0));
}

TEST(Csv, Regression) {
  ScratchDir dir;
  const std::string p = dir.write("r.csv", "a,b,t\n1,2,0.5\n3,4,-7\n");
  CsvOptions o = csv_opts("t");
  o.task = Task::Regression;
  Dataset d = data::read_csv(p, o);
  EXPECT_EQ(d.task, Task::Regression);
  EXPECT_TRUE(d.labels.empty());
  EXPECT_TRUE(d.class_names.empty());
  EXPECT_EQ(d.targets.shape, (Shape{2, 1}));
  EXPECT_THAT(d.targets.data, ElementsAre(0.5f, -7));
  EXPECT_EQ(d.num_outputs(), 1);
  const std::string bad = dir.write("rb.csv", "a,t\n1,2\n3,x\n");
  o.label = "t";
  EXPECT_THAT(error_of([&] { data::read_csv(bad, o); }),
              AllOf(HasSubstr(bad + ":3:"), HasSubstr("'x'"), HasSubstr("'t'")));
  const std::string nan = dir.write("rn.csv", "a,t\n1,2\n3,nan\n");
  EXPECT_THAT(error_of([&] { data::read_csv(nan, o); }),
              AllOf(HasSubstr(nan + ":3:"), HasSubstr("non-finite"), HasSubstr("'t'")));
}

TEST(Csv, Errors) {
  ScratchDir dir;
  auto err = [&](const std::string& name, const std::string& text,
                 const CsvOptions& o = csv_opts()) {
    const std::string p = dir.write(name, text);
    return error_of([&] { data::read_csv(p, o); });
  };
  const std::string d = dir.path().string() + "/";
  EXPECT_THAT(err("wc.csv", "a,b,c\n1,2,3\n4,5\n"),
              HasSubstr(d + "wc.csv:3: expected 3 fields, got 2"));
  EXPECT_THAT(err("wc2.csv", "1,2,3\n4,5,6,7\n"),
              HasSubstr(d + "wc2.csv:2: expected 3 fields, got 4"));
  EXPECT_THAT(err("nn.csv", "a,b,c\n1,2,3\n4,five,6\n"),
              AllOf(HasSubstr(d + "nn.csv:3:"), HasSubstr("non-numeric"), HasSubstr("'five'"),
                    HasSubstr("'b'")));
  EXPECT_THAT(err("empty_field.csv", "a,b,c\n1,,3\n"),
              AllOf(HasSubstr(d + "empty_field.csv:2:"), HasSubstr("'b'")));
  for (const char* bad : {"nan", "NaN", "inf", "-Infinity", "+inf"}) {
    EXPECT_THAT(err("nan.csv", fmt::format("a,b,c\n1,2,3\n4,{},6\n", bad)),
                AllOf(HasSubstr(d + "nan.csv:3:"), HasSubstr("non-finite"), HasSubstr("'b'")))
        << bad;
  }
  EXPECT_THAT(err("nan2.csv", "1,2,3\nnan,5,6\n"),
              AllOf(HasSubstr(d + "nan2.csv:2:"), HasSubstr("non-finite"), HasSubstr("column 0")));
  EXPECT_THAT(err("big.csv", "a,b\n1e39,1\n"),
              AllOf(HasSubstr(d + "big.csv:2:"), HasSubstr("out of float32 range")));
  EXPECT_THAT(err("neg.csv", "a,y\n1,0\n2,-1\n"),
              AllOf(HasSubstr(d + "neg.csv:3:"), HasSubstr("negative label -1")));
  EXPECT_THAT(err("nohdr.csv", "1,2\n3,4\n", csv_opts("y")),
              AllOf(HasSubstr(d + "nohdr.csv"), HasSubstr("'y'"), HasSubstr("no header")));
  EXPECT_THAT(err("nocol.csv", "a,b\n3,4\n", csv_opts("y")),
              AllOf(HasSubstr(d + "nocol.csv"), HasSubstr("no column named 'y'"),
                    HasSubstr("columns: a, b")));
  EXPECT_THAT(err("range.csv", "1,2\n3,4\n", csv_opts("2")),
              AllOf(HasSubstr(d + "range.csv"), HasSubstr("out of range")));
  EXPECT_THAT(err("range2.csv", "1,2\n3,4\n", csv_opts("-3")), HasSubstr("out of range"));
  EXPECT_THAT(err("one.csv", "1\n2\n"), AllOf(HasSubstr(d + "one.csv"), HasSubstr("at least 2")));
  EXPECT_THAT(err("hdr.csv", "a,b\n"), AllOf(HasSubstr(d + "hdr.csv"), HasSubstr("no data rows")));
  EXPECT_THAT(err("zero.csv", ""), AllOf(HasSubstr(d + "zero.csv"), HasSubstr("empty")));
  EXPECT_THAT(err("quote.csv", "a,b\n\"1\"x,2\n"), HasSubstr(d + "quote.csv:2:"));
  EXPECT_THAT(err("nl.csv", "a,b\n\"1\n2\",0\n"),
              AllOf(HasSubstr(d + "nl.csv:2:"), HasSubstr("'1\\n2'")));  // stays one line
  EXPECT_THAT(error_of([&] { data::read_csv(d + "missing.csv", csv_opts()); }),
              AllOf(HasSubstr(d + "missing.csv"), HasSubstr("no such file")));
}

// --- IDX -----------------------------------------------------------------------------------

struct IdxFiles {
  std::string images, labels;
};

IdxFiles write_idx(const ScratchDir& dir, const std::string& stem, bool gz) {
  std::string pixels;
  for (int i = 0; i < 12; ++i) pixels.push_back(static_cast<char>(i * 20));
  std::string img = idx_file(0x08, {3, 2, 2}, pixels);
  std::string lab = idx_file(0x08, {3}, std::string("\x02\x00\x01", 3));
  if (gz)
    return {dir.write(stem + "-images.gz", gzip_stored(img)),
            dir.write(stem + "-labels.gz", gzip_stored(lab))};
  return {dir.write(stem + "-images", img), dir.write(stem + "-labels", lab)};
}

TEST(Idx, RawAndGzip) {
  ScratchDir dir;
  for (bool gz : {false, true}) {
    IdxFiles f = write_idx(dir, "t", gz);
    Dataset d = data::read_idx(f.images, f.labels);
    EXPECT_EQ(d.source, f.images);
    EXPECT_EQ(d.x.shape, (Shape{3, 2, 2, 1}));
    EXPECT_EQ(d.sample_shape(), (Shape{2, 2, 1}));
    EXPECT_EQ(d.x.data[0], 0);
    EXPECT_EQ(d.x.data[11], 220);
    EXPECT_THAT(d.labels, ElementsAre(2, 0, 1));
    EXPECT_THAT(d.class_names, ElementsAre("0", "1", "2"));
  }
}

TEST(Idx, OtherDataTypes) {
  ScratchDir dir;
  const std::string img =
      dir.write("f.idx", idx_file(0x0D, {2, 3}, be_bytes<float>({1.5f, -2, 3, 4, 5, 6})));
  const std::string lab = dir.write("l.idx", idx_file(0x0C, {2}, be_bytes<int32_t>({1, 4})));
  Dataset d = data::read_idx(img, lab);
  EXPECT_EQ(d.x.shape, (Shape{2, 3}));  // rank-2 images stay as they are
  EXPECT_THAT(d.x.data, ElementsAre(1.5f, -2, 3, 4, 5, 6));
  EXPECT_THAT(d.labels, ElementsAre(1, 4));
  EXPECT_EQ(d.num_classes(), 5);
  const std::string nan =
      dir.write("n.idx", idx_file(0x0E, {2, 1}, be_bytes<double>({1.0, std::nan("")})));
  EXPECT_THAT(error_of([&] { data::read_idx(nan, lab); }),
              AllOf(HasSubstr(nan), HasSubstr("row 1, feature 0")));
}

TEST(Idx, Errors) {
  ScratchDir dir;
  IdxFiles ok = write_idx(dir, "ok", false);
  std::string pixels(12, '\x01');
  const std::string magic =
      dir.write("magic", std::string("\x01\x02\x08\x03", 4) + be32(3) + be32(2) + be32(2) + pixels);
  EXPECT_THAT(error_of([&] { data::read_idx(magic, ok.labels); }),
              AllOf(HasSubstr(magic), HasSubstr("bad magic number 0x01020803")));
  const std::string dtype = dir.write("dtype", idx_file(0x07, {3, 2, 2}, pixels));
  EXPECT_THAT(error_of([&] { data::read_idx(dtype, ok.labels); }),
              AllOf(HasSubstr(dtype), HasSubstr("unsupported IDX data type code 0x07")));
  const std::string trunc = dir.write("trunc", idx_file(0x08, {3, 2, 2}, pixels.substr(0, 7)));
  EXPECT_THAT(error_of([&] { data::read_idx(trunc, ok.labels); }),
              AllOf(HasSubstr(trunc), HasSubstr("truncated"), HasSubstr("needs 12 data bytes"),
                    HasSubstr("has 7")));
  const std::string header = dir.write("header", idx_file(0x08, {3, 2, 2}, "").substr(0, 9));
  EXPECT_THAT(error_of([&] { data::read_idx(header, ok.labels); }),
              AllOf(HasSubstr(header), HasSubstr("truncated IDX header")));
  const std::string gz = gzip_stored(idx_file(0x08, {3, 2, 2}, pixels));
  const std::string cut_gz = dir.write("cut.gz", gz.substr(0, gz.size() - 10));
  EXPECT_THAT(error_of([&] { data::read_idx(cut_gz, ok.labels); }),
              AllOf(HasSubstr(cut_gz), HasSubstr("truncated")));
  const std::string extra = dir.write("extra", idx_file(0x08, {3, 2, 2}, pixels + "zz"));
  EXPECT_THAT(error_of([&] { data::read_idx(extra, ok.labels); }),
              AllOf(HasSubstr(extra), HasSubstr("2 trailing bytes")));
  const std::string lab2 = dir.write("lab2", idx_file(0x08, {2}, std::string("\x00\x01", 2)));
  EXPECT_THAT(
      error_of([&] { data::read_idx(ok.images, lab2); }),
      AllOf(HasSubstr(ok.images), HasSubstr("3 images"), HasSubstr(lab2), HasSubstr("2 labels")));
  const std::string lab_2d = dir.write("lab2d", idx_file(0x08, {3, 1}, std::string(3, '\0')));
  EXPECT_THAT(error_of([&] { data::read_idx(ok.images, lab_2d); }),
              AllOf(HasSubstr(lab_2d), HasSubstr("1-dimensional")));
  const std::string neg = dir.write("neg", idx_file(0x09, {3}, std::string("\x00\xff\x01", 3)));
  EXPECT_THAT(error_of([&] { data::read_idx(ok.images, neg); }),
              AllOf(HasSubstr(neg), HasSubstr("negative label -1")));
  EXPECT_THAT(error_of([&] { data::read_idx(dir.file("none.gz"), ok.labels); }),
              AllOf(HasSubstr(dir.file("none.gz")), HasSubstr("no such file")));
}

// --- NPY pairs and NPZ -----------------------------------------------------------------------

TEST(NpyPair, IntegerLabels) {
  ScratchDir dir;
  const std::string x = dir.write(
      "x.npy", npy("<f4", {4, 3}, le_bytes<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})));
  const std::string y = dir.write("y.npy", npy("<i8", {4}, le_bytes<int64_t>({1, 0, 2, 1})));
  Dataset d = data::read_npy_pair(x, y, Task::Classification, {});
  EXPECT_EQ(d.source, x);
  EXPECT_EQ(d.x.shape, (Shape{4, 3}));
  EXPECT_THAT(d.labels, ElementsAre(1, 0, 2, 1));
  EXPECT_THAT(d.class_names, ElementsAre("0", "1", "2"));
  const std::string y2 =
      dir.write("y2.npy", npy("|u1", {4, 1}, std::string("\x01\x00\x02\x01", 4)));
  EXPECT_THAT(data::read_npy_pair(x, y2, Task::Classification, {}).labels, ElementsAre(1, 0, 2, 1));
  Dataset named = data::read_npy_pair(x, y, Task::Classification, {"a", "b", "c", "d"});
  EXPECT_THAT(named.class_names, ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(error_of([&] {
                data::read_npy_pair(x, y, Task::Classification, {"a", "b"});
              }),
              AllOf(HasSubstr(y), HasSubstr("out of range")));
}

TEST(NpyPair, AnyRankFeatures) {
  ScratchDir dir;
  std::vector<float> v(2 * 3 * 2 * 1);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const std::string x = dir.write("x.npy", npy("<f4", {2, 3, 2, 1}, le_bytes(v)));
  const std::string y = dir.write("y.npy", npy("<i4", {2}, le_bytes<int32_t>({0, 1})));
  Dataset d = data::read_npy_pair(x, y, Task::Classification, {});
  EXPECT_EQ(d.sample_shape(), (Shape{3, 2, 1}));
  EXPECT_EQ(d.sample_size(), 6);
  const std::string x1 = dir.write("x1.npy", npy("<f4", {2}, le_bytes<float>({5, 6})));
  EXPECT_EQ(data::read_npy_pair(x1, y, Task::Classification, {}).x.shape, (Shape{2, 1}));
}

TEST(NpyPair, OneHot) {
  ScratchDir dir;
  const std::string x = dir.write("x.npy", npy("<f4", {3, 1}, le_bytes<float>({1, 2, 3})));
  const std::string y =
      dir.write("y.npy", npy("<f4", {3, 4}, le_bytes<float>({0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1})));
  Dataset d = data::read_npy_pair(x, y, Task::Classification, {});
  EXPECT_THAT(d.labels, ElementsAre(2, 0, 3));
  EXPECT_THAT(d.class_names, ElementsAre("0", "1", "2", "3"));
  const std::string two =
      dir.write("two.npy", npy("|u1", {3, 2}, std::string("\x01\x00\x01\x01\x00\x01", 6)));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, two, Task::Classification, {}); }),
              AllOf(HasSubstr(two), HasSubstr("row 1 is not one-hot")));
  const std::string half =
      dir.write("half.npy", npy("<f4", {3, 2}, le_bytes<float>({0.5f, 0.5f, 1, 0, 0, 1})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, half, Task::Classification, {}); }),
              AllOf(HasSubstr(half), HasSubstr("row 0 is not one-hot")));
  const std::string none =
      dir.write("none.npy", npy("<f4", {3, 2}, le_bytes<float>({0, 0, 1, 0, 0, 1})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, none, Task::Classification, {}); }),
              HasSubstr("row 0 is not one-hot"));
}

TEST(NpyPair, BigEndianAndWideTypes) {
  ScratchDir dir;
  const std::string x = dir.write("x.npy", npy(">f8", {2, 2}, be_bytes<double>({1.5, -2, 3, 4})));
  const std::string y = dir.write("y.npy", npy(">i8", {2}, be_bytes<int64_t>({3, 1})));
  Dataset d = data::read_npy_pair(x, y, Task::Classification, {});
  EXPECT_THAT(d.x.data, ElementsAre(1.5f, -2, 3, 4));
  EXPECT_THAT(d.labels, ElementsAre(3, 1));
  const std::string xi = dir.write("xi.npy", npy("<i8", {2, 1}, le_bytes<int64_t>({-5, 7})));
  EXPECT_THAT(data::read_npy_pair(xi, y, Task::Classification, {}).x.data, ElementsAre(-5, 7));
}

TEST(NpyPair, Regression) {
  ScratchDir dir;
  const std::string x = dir.write("x.npy", npy("<f4", {2, 1}, le_bytes<float>({1, 2})));
  const std::string y = dir.write("y.npy", npy("<f8", {2}, le_bytes<double>({0.25, -1})));
  Dataset d = data::read_npy_pair(x, y, Task::Regression, {});
  EXPECT_EQ(d.task, Task::Regression);
  EXPECT_EQ(d.targets.shape, (Shape{2, 1}));
  EXPECT_THAT(d.targets.data, ElementsAre(0.25f, -1));
  const std::string y2 =
      dir.write("y2.npy", npy("<f4", {2, 3}, le_bytes<float>({1, 2, 3, 4, 5, 6})));
  Dataset d2 = data::read_npy_pair(x, y2, Task::Regression, {});
  EXPECT_EQ(d2.targets.shape, (Shape{2, 3}));
  EXPECT_EQ(d2.num_outputs(), 3);
  const std::string yn = dir.write("yn.npy", npy("<f4", {2}, le_bytes<float>({1, INFINITY})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, yn, Task::Regression, {}); }),
              AllOf(HasSubstr(x), HasSubstr("non-finite target"), HasSubstr("row 1")));
}

TEST(NpyPair, Errors) {
  ScratchDir dir;
  const std::string x = dir.write("x.npy", npy("<f4", {3, 2}, le_bytes<float>({1, 2, 3, 4, 5, 6})));
  const std::string y = dir.write("y.npy", npy("<i8", {2}, le_bytes<int64_t>({0, 1})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, y, Task::Classification, {}); }),
              AllOf(HasSubstr(x), HasSubstr("3 rows"), HasSubstr(y), HasSubstr("has 2")));
  const std::string neg = dir.write("neg.npy", npy("<i4", {3}, le_bytes<int32_t>({0, -2, 1})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, neg, Task::Classification, {}); }),
              AllOf(HasSubstr(neg), HasSubstr("negative label -2 at row 1")));
  const std::string frac = dir.write("frac.npy", npy("<f4", {3}, le_bytes<float>({0, 1.5f, 1})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, frac, Task::Classification, {}); }),
              AllOf(HasSubstr(frac), HasSubstr("1.5")));
  const std::string xnan =
      dir.write("xnan.npy", npy("<f4", {3, 2}, le_bytes<float>({1, 2, 3, NAN, 5, 6})));
  const std::string y3 = dir.write("y3.npy", npy("<i8", {3}, le_bytes<int64_t>({0, 1, 0})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(xnan, y3, Task::Classification, {}); }),
              AllOf(HasSubstr(xnan), HasSubstr("row 1, feature 1")));
  const std::string cut = dir.write("cut.npy", npy("<f4", {3, 2}, le_bytes<float>({1, 2, 3})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(cut, y3, Task::Classification, {}); }),
              AllOf(HasSubstr(cut), HasSubstr("truncated")));
  std::string fortran = npy("<f4", {3, 2}, le_bytes<float>({1, 2, 3, 4, 5, 6}));
  fortran.replace(fortran.find("False"), 5, "True ");
  const std::string fo = dir.write("fo.npy", fortran);
  EXPECT_THAT(error_of([&] { data::read_npy_pair(fo, y3, Task::Classification, {}); }),
              AllOf(HasSubstr(fo), HasSubstr("Fortran order not supported")));
  const std::string y3d = dir.write("y3d.npy", npy("<i8", {3, 1, 1}, le_bytes<int64_t>({0, 1, 0})));
  EXPECT_THAT(error_of([&] { data::read_npy_pair(x, y3d, Task::Classification, {}); }),
              AllOf(HasSubstr(y3d), HasSubstr("(3, 1, 1)")));
  EXPECT_THAT(
      error_of([&] { data::read_npy_pair(dir.file("nope.npy"), y3, Task::Classification, {}); }),
      HasSubstr(dir.file("nope.npy")));
}

std::string write_npz(const ScratchDir& dir, const std::string& name, const std::string& xn,
                      const std::string& yn) {
  const std::string p = dir.file(name);
  io::ZipWriter w(p);
  w.add(xn, io::npy_bytes(Tensor({3, 2}, {0, 1, 2, 3, 4, 5})));
  w.add(yn, npy("<i8", {3}, le_bytes<int64_t>({1, 0, 1})), false);
  w.commit();
  return p;
}

TEST(Npz, DefaultAndCustomNames) {
  ScratchDir dir;
  for (auto [xn, yn] : {std::pair{"x.npy", "y.npy"}, std::pair{"X.npy", "Y.npy"}}) {
    const std::string p = write_npz(dir, "d.npz", xn, yn);
    Dataset d = data::read_npz(p, "", "", Task::Classification, {});
    EXPECT_EQ(d.x.shape, (Shape{3, 2}));
    EXPECT_THAT(d.labels, ElementsAre(1, 0, 1));
    EXPECT_THAT(d.source, HasSubstr(p));
  }
  const std::string p = write_npz(dir, "c.npz", "feat.npy", "lab.npy");
  EXPECT_THAT(data::read_npz(p, "feat", "lab", Task::Classification, {}).labels,
              ElementsAre(1, 0, 1));
  EXPECT_THAT(data::read_npz(p, "feat.npy", "lab.npy", Task::Classification, {}).labels,
              ElementsAre(1, 0, 1));
  EXPECT_THAT(error_of([&] { data::read_npz(p, "", "lab", Task::Classification, {}); }),
              AllOf(HasSubstr(p), HasSubstr("'x' or 'X'"), HasSubstr("feat.npy, lab.npy")));
  EXPECT_THAT(error_of([&] { data::read_npz(p, "feat", "nope", Task::Classification, {}); }),
              AllOf(HasSubstr(p), HasSubstr("'nope'"), HasSubstr("feat.npy, lab.npy")));
  EXPECT_THAT(
      error_of([&] { data::read_npz(dir.file("missing.npz"), "", "", Task::Classification, {}); }),
      AllOf(HasSubstr("missing.npz"), HasSubstr("no such file")));
  const std::string notzip = dir.write("bad.npz", "hello");
  EXPECT_THAT(error_of([&] { data::read_npz(notzip, "", "", Task::Classification, {}); }),
              AllOf(HasSubstr("bad.npz"), HasSubstr("not a zip archive")));
}

TEST(Npz, RowMismatchNamesBothMembers) {
  ScratchDir dir;
  const std::string p = dir.file("m.npz");
  io::ZipWriter w(p);
  w.add("x.npy", io::npy_bytes(Tensor({3, 2}, {0, 1, 2, 3, 4, 5})));
  w.add("y.npy", npy("<i8", {2}, le_bytes<int64_t>({1, 0})));
  w.commit();
  EXPECT_THAT(error_of([&] { data::read_npz(p, "", "", Task::Classification, {}); }),
              AllOf(HasSubstr(p + "[x.npy] has 3 rows"), HasSubstr(p + "[y.npy] has 2")));
}

// --- Dataset, splits, standardisation --------------------------------------------------------

Dataset numbered(int64_t n, int64_t features = 2) {
  Dataset d;
  d.source = "numbered";
  d.x = Tensor({n, features});
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < features; ++c)
      d.x.data[static_cast<size_t>(r * features + c)] = static_cast<float>(c == 0 ? r : r * 10 + c);
  for (int64_t r = 0; r < n; ++r) d.labels.push_back(static_cast<int32_t>(r % 3));
  d.class_names = {"a", "b", "c"};
  return d;
}

TEST(Dataset, CheckFinite) {
  Dataset d = numbered(4, 3);
  d.check_finite();
  d.x.data[2 * 3 + 1] = NAN;
  EXPECT_THAT(error_of([&] { d.check_finite(); }),
              AllOf(HasSubstr("numbered"), HasSubstr("row 2, feature 1")));
  Dataset r;
  r.source = "reg";
  r.task = Task::Regression;
  r.x = Tensor({2, 1}, {1, 2});
  r.targets = Tensor({2, 2}, {1, 2, 3, -INFINITY});
  EXPECT_THAT(error_of([&] { r.check_finite(); }),
              AllOf(HasSubstr("reg"), HasSubstr("target"), HasSubstr("row 1, output 1")));
}

TEST(Dataset, SubsetKeepsEverything) {
  Dataset d = numbered(5);
  Dataset s = d.subset({4, 1});
  EXPECT_EQ(s.size(), 2);
  EXPECT_THAT(rows_of(s), ElementsAre(4, 1));
  EXPECT_THAT(s.labels, ElementsAre(1, 1));
  EXPECT_EQ(s.class_names, d.class_names);
  EXPECT_EQ(s.source, d.source);
  EXPECT_THAT(error_of([&] { d.subset({5}); }), HasSubstr("row 5 out of range"));
}

TEST(Split, HoldoutSizesAndDeterminism) {
  Dataset d = numbered(10);
  d.task = Task::Classification;
  auto [rest, held] = data::split_holdout(d, 0.3, 42);
  EXPECT_EQ(held.size(), 3);
  EXPECT_EQ(rest.size(), 7);
  std::vector<int64_t> all = rows_of(rest);
  for (int64_t r : rows_of(held)) all.push_back(r);
  std::sort(all.begin(), all.end());
  EXPECT_THAT(all, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  for (const Dataset* part : {&rest, &held}) {
    EXPECT_EQ(part->class_names, d.class_names);
    EXPECT_EQ(part->source, d.source);
    EXPECT_EQ(part->task, d.task);
    for (int64_t i = 0; i < part->size(); ++i)
      EXPECT_EQ(part->labels[static_cast<size_t>(i)], rows_of(*part)[static_cast<size_t>(i)] % 3);
  }
  // Same seed, same split; the split is fixed by our own shuffle, not the standard library.
  auto [rest2, held2] = data::split_holdout(d, 0.3, 42);
  EXPECT_EQ(rows_of(held2), rows_of(held));
  EXPECT_THAT(rows_of(held), ElementsAre(1, 8, 9));  // one row of each class
  auto [rest3, held3] = data::split_holdout(d, 0.3, 7);
  EXPECT_NE(rows_of(held3), rows_of(held));

  EXPECT_EQ(data::split_holdout(d, 0.0, 1).second.size(), 0);
  EXPECT_EQ(data::split_holdout(d, 0.04, 1).second.size(), 0);
  EXPECT_EQ(data::split_holdout(d, 0.05, 1).second.size(), 1);  // round half away from zero
  EXPECT_EQ(data::split_holdout(d, 0.99, 1).second.size(), 10);
  EXPECT_THAT(error_of([&] { data::split_holdout(d, 1.0, 1); }), HasSubstr("[0, 1)"));
  // Stratified: 80/15/5 rows of three classes, 20% held out: 16/3/1, whatever the seed.
  Dataset imb = numbered(100);
  for (int64_t i = 0; i < 100; ++i)
    imb.labels[static_cast<size_t>(i)] = i < 80 ? 0 : i < 95 ? 1 : 2;
  for (uint64_t seed : {1, 2, 3}) {
    const Dataset h = data::split_holdout(imb, 0.2, seed).second;
    std::vector<int> count(3, 0);
    for (int32_t y : h.labels) ++count[static_cast<size_t>(y)];
    EXPECT_THAT(count, ElementsAre(16, 3, 1)) << seed;
  }
  // Regression rows are split without strata.
  Dataset reg = numbered(10);
  reg.task = Task::Regression;
  EXPECT_EQ(data::split_holdout(reg, 0.3, 42).second.size(), 3);
  EXPECT_THAT(error_of([&] { data::split_holdout(d, -0.1, 1); }), HasSubstr("[0, 1)"));
}

TEST(Standardise, PerFeature) {
  Tensor x({4, 3}, {1, 10, 5, 2, 20, 5, 3, 30, 5, 4, 40, 5});
  auto st = fit_standardisation(x, StandardiseMode::PerFeature);
  ASSERT_EQ(st.mean.size(), 3u);
  EXPECT_FLOAT_EQ(st.mean[0], 2.5f);
  EXPECT_FLOAT_EQ(st.mean[1], 25.0f);
  EXPECT_FLOAT_EQ(st.mean[2], 5.0f);
  EXPECT_FLOAT_EQ(st.scale[0], std::sqrt(1.25f));
  EXPECT_FLOAT_EQ(st.scale[1], std::sqrt(125.0f));
  EXPECT_EQ(st.scale[2], 1.0f);  // zero variance
  Tensor y = x;
  st.apply(y);
  EXPECT_FLOAT_EQ(y.data[0], -1.5f / std::sqrt(1.25f));
  EXPECT_EQ(y.data[2], 0.0f);
  double mean1 = 0, var1 = 0;
  for (int r = 0; r < 4; ++r) mean1 += y.data[r * 3 + 1] / 4.0;
  for (int r = 0; r < 4; ++r)
    var1 += (y.data[r * 3 + 1] - mean1) * (y.data[r * 3 + 1] - mean1) / 4.0;
  EXPECT_NEAR(mean1, 0.0, 1e-6);
  EXPECT_NEAR(var1, 1.0, 1e-5);
}

TEST(Standardise, ConstantFeatureGetsScaleOneDespiteRounding) {
  Tensor x({1000, 1}, 0.1f);
  auto st = fit_standardisation(x, StandardiseMode::PerFeature);
  EXPECT_EQ(st.scale[0], 1.0f);
  auto g = fit_standardisation(x, StandardiseMode::Global);
  EXPECT_EQ(g.scale[0], 1.0f);
}

TEST(Standardise, GlobalForImages) {
  Tensor x({2, 2, 1, 1}, {0, 2, 4, 6});
  auto st = fit_standardisation(x, StandardiseMode::Global);
  ASSERT_EQ(st.mean.size(), 1u);
  EXPECT_FLOAT_EQ(st.mean[0], 3.0f);
  EXPECT_FLOAT_EQ(st.scale[0], std::sqrt(5.0f));
  st.apply(x);
  EXPECT_FLOAT_EQ(x.data[3], 3.0f / std::sqrt(5.0f));
}

TEST(Standardise, ModesAndErrors) {
  EXPECT_EQ(default_standardise_mode({10, 16}), StandardiseMode::PerFeature);
  EXPECT_EQ(default_standardise_mode({10, 28, 28, 1}), StandardiseMode::Global);
  EXPECT_EQ(default_standardise_mode({10, 50, 3}), StandardiseMode::Global);
  Tensor x({2, 2}, {1, 2, 3, 4});
  auto none = fit_standardisation(x, StandardiseMode::None);
  EXPECT_TRUE(none.empty());
  Tensor y = x;
  none.apply(y);
  EXPECT_EQ(y, x);
  auto st = fit_standardisation(x, StandardiseMode::PerFeature);
  Tensor wrong({2, 3}, 1.0f);
  EXPECT_THAT(error_of([&] { st.apply(wrong); }), HasSubstr("2 features"));
  EXPECT_THAT(error_of([&] {
                fit_standardisation(Tensor({0, 2}), StandardiseMode::Global);
              }),
              HasSubstr("empty"));
  EXPECT_EQ(st, fit_standardisation(x, StandardiseMode::PerFeature));
}

// --- the --data spec ---------------------------------------------------------------------------

TEST(Spec, CsvAndOptions) {
  ScratchDir dir;
  const std::string p = dir.write("t.csv", "a,b,y\n1,2,0.5\n3,4,1.5\n");
  data::DataSplit s = data::load_data(p + ",label=y,task=regression");
  EXPECT_FALSE(s.test.has_value());
  EXPECT_EQ(s.train.task, Task::Regression);
  EXPECT_THAT(s.train.targets.data, ElementsAre(0.5f, 1.5f));
  data::DataSplit s2 = data::load_data("csv:" + p + ",label=0,header=yes");
  EXPECT_THAT(s2.train.x.data, ElementsAre(2, 0.5f, 4, 1.5f));
  EXPECT_THAT(s2.train.labels, ElementsAre(1, 3));
  EXPECT_EQ(s2.train.num_classes(), 4);  // "0".."3"
  const std::string t = dir.write("t.tsv", "a\tb\ty\n1\t2\tx\n3\t4\tz\n");
  EXPECT_THAT(data::load_data("csv:" + t + ",delimiter=tab").train.class_names,
              ElementsAre("x", "z"));
  const std::string sc = dir.write("s.txt", "a;b;y\n1;2;x\n3;4;z\n");
  EXPECT_EQ(data::load_data("csv:" + sc + ",delimiter=;").train.size(), 2);
  data::LoadOptions o;
  o.task = Task::Regression;
  EXPECT_EQ(data::load_data(p, o).train.task, Task::Regression);
  o.task = Task::Classification;
  o.class_names = {"q", "w", "e"};
  EXPECT_THAT(error_of([&] { data::load_data(p + ",label=y", o); }),
              AllOf(HasSubstr(p), HasSubstr("unknown label '0.5'")));
}

TEST(Spec, NpyNpzIdx) {
  ScratchDir dir;
  const std::string x = dir.write("x.npy", npy("<f4", {2, 1}, le_bytes<float>({1, 2})));
  const std::string y = dir.write("y.npy", npy("<i8", {2}, le_bytes<int64_t>({1, 0})));
  EXPECT_THAT(data::load_data("npy:" + x + ",labels=" + y).train.labels, ElementsAre(1, 0));
  const std::string z = write_npz(dir, "d.npz", "feat.npy", "lab.npy");
  EXPECT_EQ(data::load_data(z + ",x=feat,y=lab").train.size(), 3);
  EXPECT_EQ(data::load_data("npz:" + z + ",x=feat,y=lab,task=classification").train.size(), 3);
  IdxFiles f = write_idx(dir, "i", true);
  data::DataSplit s = data::load_data("idx:" + f.images + ",labels=" + f.labels);
  EXPECT_EQ(s.train.x.shape, (Shape{3, 2, 2, 1}));
  data::LoadOptions o;
  o.class_names = {"r", "g", "b", "k"};
  EXPECT_THAT(data::load_data("idx:" + f.images + ",labels=" + f.labels, o).train.class_names,
              ElementsAre("r", "g", "b", "k"));
  data::DataSplit reg =
      data::load_data("idx:" + f.images + ",labels=" + f.labels + ",task=regression");
  EXPECT_EQ(reg.train.targets.shape, (Shape{3, 1}));
  EXPECT_THAT(reg.train.targets.data, ElementsAre(2, 0, 1));
}

TEST(Spec, Errors) {
  auto spec_error = [](const std::string& spec, const data::LoadOptions& o = {}) {
    return error_of([&] { data::load_data(spec, o); });
  };
  EXPECT_THAT(spec_error("csv:a.csv,colour=red"),
              AllOf(HasSubstr("'csv:a.csv,colour=red'"), HasSubstr("unknown key 'colour'"),
                    HasSubstr("label")));
  EXPECT_THAT(spec_error("fashion-mnist,label=3"),
              AllOf(HasSubstr("'fashion-mnist,label=3'"), HasSubstr("unknown key 'label'")));
  // Without labels= a spec names features only (for predictions); the file must exist.
  EXPECT_THAT(spec_error("npy:x.npy"), HasSubstr("x.npy: cannot open"));
  EXPECT_THAT(spec_error("idx:img.gz,task=regression"), HasSubstr("img.gz"));
  EXPECT_THAT(spec_error("mnist"), AllOf(HasSubstr("'mnist'"), HasSubstr("unknown data source")));
  EXPECT_THAT(spec_error("data.txt"), HasSubstr("unknown data source 'data.txt'"));
  EXPECT_THAT(spec_error(""), HasSubstr("empty data source"));
  EXPECT_THAT(spec_error("csv:"), HasSubstr("missing file name"));
  EXPECT_THAT(spec_error("a.csv,label"), AllOf(HasSubstr("'a.csv,label'"), HasSubstr("key=value")));
  EXPECT_THAT(spec_error("a.csv,label="), HasSubstr("empty value"));
  EXPECT_THAT(spec_error("a.csv,label=1,label=2"), HasSubstr("given twice"));
  EXPECT_THAT(spec_error("a.csv,task=clustering"), HasSubstr("invalid task 'clustering'"));
  EXPECT_THAT(spec_error("a.csv,header=maybe"), HasSubstr("invalid header 'maybe'"));
  EXPECT_THAT(spec_error("a.csv,delimiter=ab"), HasSubstr("invalid delimiter 'ab'"));
  data::LoadOptions o;
  o.task = Task::Classification;
  EXPECT_THAT(spec_error("a.csv,task=regression", o), HasSubstr("contradicts"));
  EXPECT_THAT(spec_error("/nonexistent/a.csv"),
              AllOf(HasSubstr("/nonexistent/a.csv"), HasSubstr("no such file")));
}

// --- Fashion-MNIST and Letter ----------------------------------------------------------------

TEST(FashionMnist, MissingFolderSaysHowToInstall) {
  ScratchDir dir;
  EnvGuard env("HWPRUNE_FASHION_MNIST_DIR", dir.file("absent"));
  EXPECT_THAT(
      error_of([] { data::load_data("fashion-mnist"); }),
      AllOf(HasSubstr(dir.file("absent")), HasSubstr("apt-get install dataset-fashion-mnist")));
  EnvGuard env2("HWPRUNE_FASHION_MNIST_DIR", dir.path().string());
  EXPECT_THAT(error_of([] { data::load_data("fashion-mnist"); }),
              AllOf(HasSubstr("train-images-idx3-ubyte"), HasSubstr("apt-get install")));
}

TEST(FashionMnist, FolderOverrideWithRawFiles) {
  ScratchDir dir;
  std::string pixels(2 * 3 * 3, '\x07');
  for (const char* split : {"train", "t10k"}) {
    dir.write(fmt::format("{}-images-idx3-ubyte", split), idx_file(0x08, {2, 3, 3}, pixels));
    dir.write(fmt::format("{}-labels-idx1-ubyte", split),
              idx_file(0x08, {2}, std::string("\x09\x00", 2)));
  }
  EnvGuard env("HWPRUNE_FASHION_MNIST_DIR", dir.path().string());
  data::DataSplit s = data::load_data("fashion-mnist");
  ASSERT_TRUE(s.test.has_value());
  EXPECT_EQ(s.train.x.shape, (Shape{2, 3, 3, 1}));
  EXPECT_THAT(s.train.labels, ElementsAre(9, 0));
  EXPECT_EQ(s.train.class_names.size(), 10u);
  EXPECT_EQ(s.train.class_names[9], "Ankle boot");
  EXPECT_EQ(s.test->class_names[0], "T-shirt/top");
}

TEST(FashionMnist, RealData) {
  EnvGuard env("HWPRUNE_FASHION_MNIST_DIR", std::nullopt);
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
    GTEST_SKIP() << "/usr/share/datasets/fashion-mnist is absent (apt-get install "
                    "dataset-fashion-mnist)";
  data::DataSplit s = data::load_data("fashion-mnist");
  EXPECT_EQ(s.train.size(), 60000);
  ASSERT_TRUE(s.test.has_value());
  EXPECT_EQ(s.test->size(), 10000);
  EXPECT_EQ(s.train.sample_shape(), (Shape{28, 28, 1}));
  EXPECT_EQ(s.test->sample_shape(), (Shape{28, 28, 1}));
  EXPECT_EQ(s.train.labels[0], 9);
  EXPECT_EQ(s.train.class_names[static_cast<size_t>(s.train.labels[0])], "Ankle boot");
  EXPECT_EQ(s.train.num_classes(), 10);
  auto [lo, hi] = std::minmax_element(s.train.x.data.begin(), s.train.x.data.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 255.0f);
}

TEST(Letter, MissingCsvNamesTheScript) {
  ScratchDir dir;
  EnvGuard env("HWPRUNE_DATA_DIR", dir.path().string());
  EXPECT_EQ(data::letter_csv_path(), dir.file("letter.csv"));
  EXPECT_THAT(error_of([] { data::load_data("letter"); }),
              AllOf(HasSubstr(dir.file("letter.csv")), HasSubstr("scripts/letter-csv.sh")));
}

TEST(Letter, DefaultPathIsInHomeCache) {
  EnvGuard env("HWPRUNE_DATA_DIR", std::nullopt);
  EnvGuard home("HOME", "/home/someone");
  EXPECT_EQ(data::letter_csv_path(), "/home/someone/.cache/hwprune/letter.csv");
}

TEST(Letter, ClassicSplitOfAFakeFile) {
  ScratchDir dir;
  std::string csv = "\"lettr\",\"x.box\",\"y.box\"\n";
  for (int i = 0; i < 20000; ++i)
    csv += fmt::format("\"{}\",{},{}\n", char('A' + i % 26), i, i % 7);
  dir.write("letter.csv", csv);
  EnvGuard env("HWPRUNE_DATA_DIR", dir.path().string());
  data::DataSplit s = data::load_data("letter");
  EXPECT_EQ(s.train.size(), 16000);
  ASSERT_TRUE(s.test.has_value());
  EXPECT_EQ(s.test->size(), 4000);
  EXPECT_EQ(s.test->x.data[0], 16000.0f);
  EXPECT_EQ(s.train.num_classes(), 26);
  EXPECT_EQ(s.test->labels[0], 16000 % 26);
  dir.write("letter.csv", "\"lettr\",\"x.box\"\n\"A\",1\n");
  EXPECT_THAT(error_of([] { data::load_data("letter"); }),
              AllOf(HasSubstr("has 1 rows, expected 20000"), HasSubstr("scripts/letter-csv.sh")));
}

TEST(Letter, RealCsv) {
  const std::string p = data::letter_csv_path();
  if (!std::filesystem::exists(p))
    GTEST_SKIP() << p << " is absent; create it with scripts/letter-csv.sh";
  data::DataSplit s = data::load_data("letter");
  EXPECT_EQ(s.train.size(), 16000);
  ASSERT_TRUE(s.test.has_value());
  EXPECT_EQ(s.test->size(), 4000);
  EXPECT_EQ(s.train.sample_shape(), (Shape{16}));
  EXPECT_EQ(s.train.num_classes(), 26);
  EXPECT_EQ(s.train.class_names.front(), "A");
  EXPECT_EQ(s.train.class_names.back(), "Z");
  EXPECT_EQ(s.train.class_names[static_cast<size_t>(s.train.labels[0])], "T");  // first row
  EXPECT_THAT(std::vector<float>(s.train.x.data.begin(), s.train.x.data.begin() + 4),
              ElementsAre(2, 8, 3, 5));
}

}  // namespace
}  // namespace hwprune
