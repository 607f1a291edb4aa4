// .npy parsing/writing and zip archives.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hwprune/io/npy.hpp"
#include "hwprune/io/zip.hpp"
#include "hwprune/ir/model.hpp"
#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"
#include "hwprune/util/utf8.hpp"
#include "support/test_support.hpp"

namespace hwprune {
namespace {

using test::error_of;
using test::ScratchDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// A hand-made .npy image: header dict from the parts, padded to 64 bytes.
std::string make_npy_raw(std::string header, const std::string& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  const size_t total = prefix + header.size() + 1;
  header.append((total + 63) / 64 * 64 - total, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const size_t len = header.size();
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  if (major != 1) out.append(2, '\0');
  return out + header + data;
}

std::string make_npy(const std::string& descr, const std::string& shape, const std::string& data,
                     int major = 1, const std::string& fortran = "False") {
  return make_npy_raw(
      fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr, fortran, shape),
      data, major);
}

template <typename T>
std::string le_bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

template <typename T>
std::string be_bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) {
    std::string b(reinterpret_cast<const char*>(&v), sizeof(T));
    out.append(b.rbegin(), b.rend());
  }
  return out;
}

// Reference files written by numpy 1.24 (np.save / np.lib.format.write_array / np.savez).
const char* kNumpyF4_2x3 =
    "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a20"
    "46616c73652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020"
    "2020202020202020202020202020202020202020202020202020202020202020202020202020200a00000000"
    "0000803f0000004000004040000080400000a040";
const char* kNumpyBigF8 =
    "934e554d5059010076007b276465736372273a20273e6638272c2027666f727472616e5f6f72646572273a20"
    "46616c73652c20277368617065273a2028322c292c207d202020202020202020202020202020202020202020"
    "2020202020202020202020202020202020202020202020202020202020202020202020202020200a3ff80000"
    "00000000c002000000000000";
const char* kNumpyV2Bool =
    "934e554d50590200740000007b276465736372273a20277c6231272c2027666f727472616e5f6f7264657227"
    "3a2046616c73652c20277368617065273a2028322c2032292c207d2020202020202020202020202020202020"
    "2020202020202020202020202020202020202020202020202020202020202020202020202020200a00010100";
const char* kNumpyV3U2 =
    "934e554d50590300740000007b276465736372273a20273e7532272c2027666f727472616e5f6f7264657227"
    "3a2046616c73652c20277368617065273a2028322c292c207d20202020202020202020202020202020202020"
    "2020202020202020202020202020202020202020202020202020202020202020202020202020200a0007ffff";
// np.savez(x=arange(6, '<f4').reshape(3, 2), y=array([2, 0, 1], '<i8'))
const char* kNumpyNpz =
    "504b030414000000000000002100ccca9cbd980000009800000005001400782e6e7079010010009800000000"
    "0000009800000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472"
    "616e5f6f72646572273a2046616c73652c20277368617065273a2028332c2032292c207d2020202020202020"
    "2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020200a000000000000803f0000004000004040000080400000a040504b0304140000000000000021"
    "008a1ace13980000009800000005001400792e6e70790100100098000000000000009800000000000000934e"
    "554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a204661"
    "6c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020"
    "202020202020202020202020202020202020202020202020202020202020202020202020200a020000000000"
    "000000000000000000000100000000000000504b0102140314000000000000002100ccca9cbd980000009800"
    "0000050000000000000000000000800100000000782e6e7079504b01021403140000000000000021008a1ace"
    "1398000000980000000500000000000000000000008001cf000000792e6e7079504b05060000000002000200"
    "660000009e0100000000";
// np.savez_compressed(X=arange(6, '>f8').reshape(3, 2), Y=eye(3, dtype='u1')[[1, 2, 0]])
const char* kNumpyNpzCompressed =
    "504b030414000000080000002100a9b5792058000000b000000005001400582e6e707901001000b000000000"
    "00000058000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9766a1aea3a09e965f5452"
    "9498179f5f94920a12774bcc294e058a17672416a402f91ac63a0a469a3a0ab50a64032e0628b0ff00a11da0"
    "7c070e282d00a545203400504b0304140000000800000021007df532b24e0000008900000005001400592e6e"
    "70790100100089000000000000004e000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a05e"
    "536aa8aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91ac63a0ac69a3a0ab50a"
    "64032e064606060646200100504b0102140314000000080000002100a9b5792058000000b000000005000000"
    "0000000000000000800100000000582e6e7079504b01021403140000000800000021007df532b24e00000089"
    "00000005000000000000000000000080018f000000592e6e7079504b05060000000002000200660000001401"
    "00000000";

// --- npy ---------------------------------------------------------------------------------

TEST(Npy, WritesExactlyWhatNumpyWrites) {
  Tensor t({2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(io::npy_bytes(t), from_hex(kNumpyF4_2x3));
}

TEST(Npy, HeaderIsPaddedTo64Bytes) {
  for (const Shape& s : {Shape{}, Shape{3}, Shape{2, 3}, Shape{0, 5}, Shape{123456789, 0, 7},
                         Shape{1, 2, 3, 4, 5, 6, 7, 8}}) {
    Tensor t(s, 1.5f);
    std::string b = io::npy_bytes(t);
    ASSERT_GE(b.size(), 10u);
    const size_t header_len =
        static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u) << shape_str(s);
    EXPECT_EQ(b[10 + header_len - 1], '\n');
    EXPECT_EQ(b.size(), 10 + header_len + 4 * static_cast<size_t>(t.numel()));
  }
}

TEST(Npy, RoundTrip) {
  for (const Shape& s : {Shape{}, Shape{4}, Shape{2, 3}, Shape{0, 3}, Shape{2, 2, 2, 1}}) {
    Tensor t(s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data[static_cast<size_t>(i)] = 0.25f * i - 1.0f;
    io::NpyArray a = io::parse_npy(io::npy_bytes(t), "mem");
    EXPECT_EQ(a.kind, 'f');
    EXPECT_EQ(a.item_size, 4);
    EXPECT_FALSE(a.big_endian);
    EXPECT_EQ(a.shape, s);
    EXPECT_EQ(a.to_tensor("mem"), t) << shape_str(s);
  }
}

TEST(Npy, RoundTripThroughFile) {
  ScratchDir dir;
  Tensor t({3, 2}, {1, -2, 3.5f, 1e-7f, -1e30f, 0});
  const std::string p = dir.file("t.npy");
  write_file_atomic(p, io::npy_bytes(t));
  EXPECT_EQ(io::read_npy_file(p).to_tensor(p), t);
}

TEST(Npy, ReadsNumpyReferenceFiles) {
  io::NpyArray be = io::parse_npy(from_hex(kNumpyBigF8), "be.npy");
  EXPECT_TRUE(be.big_endian);
  EXPECT_EQ(be.kind, 'f');
  EXPECT_EQ(be.item_size, 8);
  EXPECT_THAT(be.to_tensor("be.npy").data, ElementsAre(1.5f, -2.25f));

  io::NpyArray b = io::parse_npy(from_hex(kNumpyV2Bool), "v2.npy");
  EXPECT_EQ(b.kind, 'b');
  EXPECT_EQ(b.shape, (Shape{2, 2}));
  EXPECT_THAT(b.to_tensor("v2.npy").data, ElementsAre(0.f, 1.f, 1.f, 0.f));
  EXPECT_THAT(b.to_int64("v2.npy"), ElementsAre(0, 1, 1, 0));

  io::NpyArray u = io::parse_npy(from_hex(kNumpyV3U2), "v3.npy");
  EXPECT_THAT(u.to_int64("v3.npy"), ElementsAre(7, 65535));
  EXPECT_THAT(u.to_tensor("v3.npy").data, ElementsAre(7.f, 65535.f));
}

TEST(Npy, AllDtypesBothByteOrders) {
  struct Case {
    std::string descr;
    std::string data;
  };
  const std::vector<Case> cases = {
      {"<f4", le_bytes<float>({1, -2, 3})},
      {">f4", be_bytes<float>({1, -2, 3})},
      {"<f8", le_bytes<double>({1, -2, 3})},
      {">f8", be_bytes<double>({1, -2, 3})},
      {"|i1", le_bytes<int8_t>({1, -2, 3})},
      {"<i2", le_bytes<int16_t>({1, -2, 3})},
      {">i2", be_bytes<int16_t>({1, -2, 3})},
      {"<i4", le_bytes<int32_t>({1, -2, 3})},
      {">i4", be_bytes<int32_t>({1, -2, 3})},
      {"<i8", le_bytes<int64_t>({1, -2, 3})},
      {">i8", be_bytes<int64_t>({1, -2, 3})},
      {"=i8", le_bytes<int64_t>({1, -2, 3})},  // native order (little-endian hosts)
  };
  for (const Case& c : cases) {
    io::NpyArray a = io::parse_npy(make_npy(c.descr, "(3,)", c.data), c.descr);
    EXPECT_THAT(a.to_tensor(c.descr).data, ElementsAre(1.f, -2.f, 3.f)) << c.descr;
    EXPECT_THAT(a.to_int64(c.descr), ElementsAre(1, -2, 3)) << c.descr;
  }
  const std::vector<Case> unsigned_cases = {
      {"|u1", le_bytes<uint8_t>({1, 200, 3})},  {"<u2", le_bytes<uint16_t>({1, 200, 3})},
      {">u2", be_bytes<uint16_t>({1, 200, 3})}, {"<u4", le_bytes<uint32_t>({1, 200, 3})},
      {">u4", be_bytes<uint32_t>({1, 200, 3})}, {"<u8", le_bytes<uint64_t>({1, 200, 3})},
      {">u8", be_bytes<uint64_t>({1, 200, 3})},
  };
  for (const Case& c : unsigned_cases) {
    io::NpyArray a = io::parse_npy(make_npy(c.descr, "(3,)", c.data), c.descr);
    EXPECT_THAT(a.to_tensor(c.descr).data, ElementsAre(1.f, 200.f, 3.f)) << c.descr;
    EXPECT_THAT(a.to_int64(c.descr), ElementsAre(1, 200, 3)) << c.descr;
  }
}

TEST(Npy, VersionsTwoAndThree) {
  for (int major : {2, 3}) {
    io::NpyArray a =
        io::parse_npy(make_npy("<i4", "(2, 1)", le_bytes<int32_t>({5, 6}), major), "v");
    EXPECT_EQ(a.shape, (Shape{2, 1}));
    EXPECT_THAT(a.to_int64("v"), ElementsAre(5, 6));
  }
}

TEST(Npy, ToInt64RejectsFractionsAndHugeValues) {
  io::NpyArray f = io::parse_npy(make_npy("<f4", "(3,)", le_bytes<float>({1, 2.5f, 3})), "y.npy");
  std::string msg = error_of([&] { f.to_int64("y.npy"); });
  EXPECT_THAT(msg, HasSubstr("y.npy"));
  EXPECT_THAT(msg, HasSubstr("2.5"));
  io::NpyArray ok = io::parse_npy(make_npy("<f8", "(2,)", le_bytes<double>({4, -1})), "y.npy");
  EXPECT_THAT(ok.to_int64("y.npy"), ElementsAre(4, -1));
  io::NpyArray huge =
      io::parse_npy(make_npy("<u8", "(1,)", le_bytes<uint64_t>({~uint64_t{0}})), "u.npy");
  EXPECT_THAT(error_of([&] { huge.to_int64("u.npy"); }), HasSubstr("u.npy"));
}

TEST(Npy, Errors) {
  const std::string good = make_npy("<f4", "(2, 2)", le_bytes<float>({1, 2, 3, 4}));
  EXPECT_THAT(error_of([&] { io::parse_npy("PK\x03\x04 not npy", "bad.npy"); }),
              AllOf(HasSubstr("bad.npy"), HasSubstr("bad magic")));
  EXPECT_THAT(error_of([&] { io::parse_npy(good.substr(0, 40), "short.npy"); }),
              AllOf(HasSubstr("short.npy"), HasSubstr("truncated .npy header")));
  EXPECT_THAT(error_of([&] { io::parse_npy(good.substr(0, good.size() - 3), "cut.npy"); }),
              AllOf(HasSubstr("cut.npy"), HasSubstr("truncated"), HasSubstr("needs 16 bytes")));
  EXPECT_THAT(error_of([&] { io::parse_npy(good + "xx", "long.npy"); }),
              AllOf(HasSubstr("long.npy"), HasSubstr("size mismatch")));
  EXPECT_THAT(
      error_of([&] {
        io::parse_npy(make_npy("<f4", "(2, 2)", le_bytes<float>({1, 2, 3, 4}), 1, "True"), "f.npy");
      }),
      AllOf(HasSubstr("f.npy"), HasSubstr("Fortran order not supported")));
  for (const char* descr : {"<c8", "|O", "<U3", "<f2", "<i3", "f4", "<i16"}) {
    EXPECT_THAT(error_of([&] { io::parse_npy(make_npy(descr, "(1,)", "12345678"), "d.npy"); }),
                AllOf(HasSubstr("d.npy"), HasSubstr("unsupported dtype")))
        << descr;
  }
  std::string v4 = good;
  v4[6] = 4;
  EXPECT_THAT(error_of([&] { io::parse_npy(v4, "v4.npy"); }),
              AllOf(HasSubstr("v4.npy"), HasSubstr("version 4.0")));
  const std::string structured =
      make_npy_raw("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "abcd");
  EXPECT_THAT(error_of([&] { io::parse_npy(structured, "s.npy"); }),
              AllOf(HasSubstr("s.npy"), HasSubstr("structured")));
  EXPECT_THAT(error_of([&] { io::parse_npy(make_npy("<f4", "(2, x)", ""), "h.npy"); }),
              AllOf(HasSubstr("h.npy"), HasSubstr("shape")));
  EXPECT_THAT(error_of([&] { io::read_npy_file("/nonexistent/dir/x.npy"); }),
              HasSubstr("/nonexistent/dir/x.npy"));
}

// --- zip ---------------------------------------------------------------------------------

TEST(Zip, WriteThenRead) {
  ScratchDir dir;
  const std::string p = dir.file("a.zip");
  std::string big(100000, 'q');
  io::ZipWriter w(p);
  w.add("x.npy", io::npy_bytes(Tensor({2}, {1, 2})));
  w.add("stored.bin", std::string("raw\0bytes", 9), false);
  w.add("big.txt", big);
  w.add("empty", "");
  w.commit();
  io::ZipReader r(p);
  EXPECT_EQ(r.path(), p);
  EXPECT_THAT(r.names(), ElementsAre("x.npy", "stored.bin", "big.txt", "empty"));
  EXPECT_TRUE(r.contains("big.txt"));
  EXPECT_FALSE(r.contains("nope"));
  EXPECT_EQ(r.read("stored.bin"), std::string("raw\0bytes", 9));
  EXPECT_EQ(r.read("big.txt"), big);
  EXPECT_EQ(r.read("empty"), "");
  EXPECT_EQ(io::parse_npy(r.read("x.npy"), "x").to_tensor("x"), Tensor({2}, {1, 2}));
  EXPECT_LT(std::filesystem::file_size(p), 2000u);  // big.txt was compressed
}

TEST(Zip, SameContentsGiveSameBytes) {
  ScratchDir dir;
  for (const char* name : {"1.zip", "2.zip"}) {
    io::ZipWriter w(dir.file(name));
    w.add("a", "hello");
    w.add("b", "world", false);
    w.commit();
  }
  EXPECT_EQ(read_file(dir.file("1.zip")), read_file(dir.file("2.zip")));
}

TEST(Zip, EmptyArchive) {
  ScratchDir dir;
  io::ZipWriter(dir.file("e.zip")).commit();
  io::ZipReader r(dir.file("e.zip"));
  EXPECT_TRUE(r.names().empty());
}

TEST(Zip, CommitReplacesExistingFile) {
  ScratchDir dir;
  const std::string p = dir.write("a.zip", "old contents");
  io::ZipWriter w(p);
  w.add("m", "new");
  w.commit();
  EXPECT_EQ(io::ZipReader(p).read("m"), "new");
}

TEST(Zip, FailedCommitLeavesTargetUntouched) {
  ScratchDir dir;
  const std::string p = dir.file("a.zip");
  {
    io::ZipWriter w(p);
    w.add("m", "first");
    w.commit();
  }
  const std::string before = read_file(p);
  io::ZipWriter w(p);
  w.add("dup", "1");
  w.add("dup", "2");  // libzip refuses the second member while writing
  std::string msg = error_of([&] { w.commit(); });
  EXPECT_THAT(msg, AllOf(HasSubstr(p), HasSubstr("dup")));
  EXPECT_EQ(read_file(p), before);
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1) << "temporary files left behind";

  // A target that cannot be replaced (a non-empty folder) also fails cleanly.
  std::filesystem::create_directories(dir.file("folder/sub"));
  io::ZipWriter w2(dir.file("folder"));
  w2.add("m", "x");
  EXPECT_THAT(error_of([&] { w2.commit(); }), HasSubstr(dir.file("folder")));
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("folder/sub")));
}

TEST(Zip, CommitIntoMissingFolderFails) {
  ScratchDir dir;
  io::ZipWriter w(dir.file("no/such/dir/a.zip"));
  w.add("m", "x");
  EXPECT_THAT(error_of([&] { w.commit(); }), HasSubstr("a.zip"));
}

TEST(Zip, ReaderErrors) {
  ScratchDir dir;
  EXPECT_THAT(error_of([&] { io::ZipReader r(dir.file("missing.zip")); }),
              AllOf(HasSubstr("missing.zip"), HasSubstr("no such file")));
  const std::string text = dir.write("text.zip", "this is not a zip archive at all, just text");
  EXPECT_THAT(error_of([&] { io::ZipReader r(text); }),
              AllOf(HasSubstr("text.zip"), HasSubstr("not a zip archive")));
  const std::string empty = dir.write("empty.zip", "");
  EXPECT_THAT(error_of([&] { io::ZipReader r(empty); }),
              AllOf(HasSubstr("empty.zip"), HasSubstr("not a zip archive")));
  EXPECT_THAT(error_of([&] { io::ZipReader r(dir.path().string()); }), HasSubstr("is a directory"));

  const std::string p = dir.file("ok.zip");
  io::ZipWriter w(p);
  w.add("a.npy", "data");
  w.commit();
  io::ZipReader r(p);
  EXPECT_THAT(error_of([&] { r.read("b.npy"); }),
              AllOf(HasSubstr("ok.zip"), HasSubstr("no member 'b.npy'")));
}

TEST(Zip, TruncatedArchive) {
  ScratchDir dir;
  const std::string p = dir.file("t.zip");
  io::ZipWriter w(p);
  w.add("a", std::string(5000, 'a'), false);
  w.add("b", std::string(5000, 'b'), false);
  w.commit();
  std::string bytes = read_file(p);
  const std::string cut = dir.write("cut.zip", bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(error_of([&] { io::ZipReader r(cut); }), HasSubstr("cut.zip"));
}

TEST(Zip, CorruptMember) {
  ScratchDir dir;
  const std::string p = dir.file("c.zip");
  const std::string payload = "0123456789abcdefghijklmnopqrstuvwxyz";
  {
    io::ZipWriter w(p);
    w.add("stored", payload, false);
    w.add("deflated", std::string(3000, 'z') + payload);
    w.commit();
  }
  std::string bytes = read_file(p);
  // Flip a byte of the stored member's data: the CRC check fails.
  size_t at = bytes.find(payload);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] = 'X';
  // And garble the deflate stream of the other member.
  size_t lh = bytes.find("deflated");  // name in the local header; data follows it
  ASSERT_NE(lh, std::string::npos);
  for (size_t i = lh + 8; i < lh + 20; ++i) bytes[i] = static_cast<char>(0xff);
  const std::string bad = dir.write("bad.zip", bytes);
  io::ZipReader r(bad);
  EXPECT_THAT(error_of([&] { r.read("stored"); }),
              AllOf(HasSubstr("bad.zip"), HasSubstr("'stored'"), HasSubstr("corrupt")));
  EXPECT_THAT(error_of([&] { r.read("deflated"); }),
              AllOf(HasSubstr("bad.zip"), HasSubstr("'deflated'"), HasSubstr("corrupt")));
}

TEST(Zip, ReadsNumpyNpz) {
  ScratchDir dir;
  const std::string p = dir.write("pair.npz", from_hex(kNumpyNpz));
  io::ZipReader r(p);
  EXPECT_THAT(r.names(), ElementsAre("x.npy", "y.npy"));
  EXPECT_EQ(io::parse_npy(r.read("x.npy"), "x").to_tensor("x"), Tensor({3, 2}, {0, 1, 2, 3, 4, 5}));
  EXPECT_THAT(io::parse_npy(r.read("y.npy"), "y").to_int64("y"), ElementsAre(2, 0, 1));

  const std::string pc = dir.write("pairc.npz", from_hex(kNumpyNpzCompressed));
  io::ZipReader rc(pc);
  EXPECT_THAT(rc.names(), ElementsAre("X.npy", "Y.npy"));
  EXPECT_EQ(io::parse_npy(rc.read("X.npy"), "X").to_tensor("X"),
            Tensor({3, 2}, {0, 1, 2, 3, 4, 5}));
  EXPECT_THAT(io::parse_npy(rc.read("Y.npy"), "Y").to_int64("Y"),
              ElementsAre(0, 1, 0, 0, 0, 1, 1, 0, 0));
}

// A killed writer's temporaries are removed by the next atomic write of the same output; a
// live writer's are left alone, and nothing stays beside a finished output.
TEST(AtomicWrite, RemovesTheTemporariesOfAKilledWriter) {
  ScratchDir dir;
  const std::string out = dir.file("p.hwp");
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(dead, &status, 0), dead);
  const std::string stale = fmt::format("{}.tmp-{}-0badf00d", out, dead);
  const std::string live = fmt::format("{}.tmp-{}-0000abcd", out, ::getpid());
  const std::string other = dir.write("p.hwp.ckpt.tmp-1-zz", "not a temporary of ours");
  dir.write("p.hwp.tmp-" + std::to_string(dead) + "-0badf00d", "half written");
  dir.write("p.hwp.tmp-" + std::to_string(::getpid()) + "-0000abcd", "being written");
  write_file_atomic(out, "done");
  EXPECT_EQ(read_file(out), "done");
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
  std::filesystem::remove(live);
  write_file_atomic(out, "again");
  size_t beside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("")))
    beside += e.path().filename().string().rfind("p.hwp.tmp", 0) == 0;
  EXPECT_EQ(beside, 0u);
}

// The files in a folder whose names hold ".tmp-" (what an atomic write leaves while it works).
size_t temporaries_in(const ScratchDir& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    n += e.path().filename().string().find(".tmp-") != std::string::npos;
  return n;
}

// A command's declared outputs are replaced together, once it has succeeded: a failure half
// way leaves every one of them as it was and no temporary behind.
TEST(StagedOutputs, AFailedCommandReplacesNoneOfItsOutputs) {
  ScratchDir dir;
  const std::string model = dir.write("m.zip", "precious model");
  const std::string json = dir.write("r.json", "precious json");
  try {
    StagedOutputs stage;
    declare_output(model, "--out");
    declare_output(json, "--json");
    io::ZipWriter zip(model);
    zip.add("a.npy", io::npy_bytes(Tensor({2}, {1.0f, 2.0f})));
    zip.commit();
    EXPECT_EQ(read_file(model), "precious model");  // held back
    throw Error("the command fails after writing its model");
  } catch (const Error&) {
  }
  EXPECT_EQ(read_file(model), "precious model");
  EXPECT_EQ(read_file(json), "precious json");
  EXPECT_EQ(temporaries_in(dir), 0u);
}

TEST(StagedOutputs, ASucceededCommandReplacesThemAllAtItsEnd) {
  ScratchDir dir;
  const std::string out = dir.write("out.txt", "old out");
  const std::string json = dir.write("r.json", "old json");
  const std::string ckpt = dir.write("out.txt.ckpt", "checkpoint");
  {
    StagedOutputs stage;
    declare_output(out, "--out");
    declare_output(dir.path().string() + "/./r.json", "--json");  // the same file, spelt otherwise
    write_file_atomic(out, "first");
    write_file_atomic(out, "new out");  // written twice: the last content wins
    write_file_atomic(json, "new json");
    write_file_atomic(ckpt, "checkpoint 2");  // not declared: lands at once
    EXPECT_EQ(read_file(ckpt), "checkpoint 2");
    remove_after_outputs(ckpt);
    EXPECT_TRUE(std::filesystem::exists(ckpt));  // until the outputs are in place
    EXPECT_EQ(read_file(out), "old out");
    EXPECT_EQ(read_file(json), "old json");
    stage.commit();
  }
  EXPECT_EQ(read_file(out), "new out");
  EXPECT_EQ(read_file(json), "new json");
  EXPECT_FALSE(std::filesystem::exists(ckpt));
  EXPECT_EQ(temporaries_in(dir), 0u);
}

TEST(StagedOutputs, OutputLocationsAreCheckedWhenDeclared) {
  ScratchDir dir;
  EXPECT_EQ(
      error_of([&] { declare_output(dir.file("none/x.hwp"), "--out"); }),
      "--out " + dir.file("none/x.hwp") + ": directory " + dir.file("none") + " does not exist");
  std::filesystem::create_directory(dir.file("sub"));
  EXPECT_EQ(error_of([&] { declare_output(dir.file("sub"), "--json"); }),
            "--json " + dir.file("sub") + ": is a directory");
  declare_output("-", "--json");  // standard output
  declare_output("", "--json");   // none
}

// An error message is one line whatever the input it quotes holds.
TEST(Errors, AreOneLineWithControlCharactersEscaped) {
  EXPECT_STREQ(Error("layer \"fc1\n_relu\"\r\t\x01 bad\n\n").what(),
               "layer \"fc1\\n_relu\"\\r\\t\\x01 bad");
  EXPECT_EQ(one_line("plain, caf\u00e9"), "plain, caf\u00e9");  // UTF-8 kept
  EXPECT_EQ(one_line("bad \xff\xc3 name \xe2\x82"), "bad \\xff\\xc3 name \\xe2\\x82");
  EXPECT_EQ(one_line(one_line("a\nb")), "a\\nb");  // escaping twice changes nothing more
}

TEST(Utf8, WellFormedTextOnly) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("fc1_relu"));
  EXPECT_TRUE(is_utf8("\u00e9\u20ac\U0001F600"));  // 2, 3 and 4 bytes
  EXPECT_FALSE(is_utf8("\xff"));                   // never in UTF-8
  EXPECT_FALSE(is_utf8("\x80x"));                  // continuation first
  EXPECT_FALSE(is_utf8("\xe2\x82"));               // truncated
  EXPECT_FALSE(is_utf8("\xc0\xaf"));               // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));           // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));       // above U+10FFFF
}

// A model's names go into JSON: one that is not UTF-8 is refused, naming it escaped.
TEST(Utf8, AModelWithANameThatIsNotUtf8IsRefused) {
  Model m;
  m.input_shape = {2};
  Layer d;
  d.name = "fc\x93";
  d.units = 1;
  d.weights = {{"kernel", Tensor({2, 1})}, {"bias", Tensor({1})}};
  m.layers = {d};
  EXPECT_EQ(error_of([&] { m.infer_shapes(); }), "layer name 'fc\\x93' is not valid UTF-8 text");
}

// A device is refused by name rather than read for ever.
TEST(Errors, ADeviceIsNotReadAsAFile) {
  EXPECT_EQ(error_of([] { read_file("/dev/zero"); }), "/dev/zero: not a file (a device or socket)");
}

}  // namespace
}  // namespace hwprune
