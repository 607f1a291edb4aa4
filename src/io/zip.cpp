#include "hwprune/io/zip.hpp"

#include <zip.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"
#include "hwprune/util/fs.hpp"

namespace hwprune::io {

namespace {

std::string zip_error_text(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  return text;
}

// Fixed member timestamp (2000-01-01) so that equal contents give byte-identical archives.
constexpr time_t kMemberMtime = 946684800;

}  // namespace

struct ZipReader::Impl {
  zip_t* za = nullptr;
  ~Impl() {
    if (za) zip_discard(za);
  }
};

ZipReader::ZipReader(const std::string& path) : path_(path), impl_(std::make_unique<Impl>()) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(fmt::format("{}: no such file", path));
  if (fs::is_directory(status)) throw Error(fmt::format("{}: is a directory", path));
  if (fs::is_regular_file(status) && fs::file_size(path, ec) == 0 && !ec)
    throw Error(fmt::format("{}: not a zip archive (empty file)", path));
  int code = 0;
  impl_->za = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (!impl_->za) {
    if (code == ZIP_ER_NOZIP) throw Error(fmt::format("{}: not a zip archive", path));
    throw Error(fmt::format("{}: cannot open zip archive ({})", path, zip_error_text(code)));
  }
}

ZipReader::~ZipReader() = default;

std::vector<std::string> ZipReader::names() const {
  std::vector<std::string> out;
  zip_int64_t n = zip_get_num_entries(impl_->za, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(impl_->za, static_cast<zip_uint64_t>(i), 0);
    if (name) out.emplace_back(name);
  }
  return out;
}

bool ZipReader::contains(const std::string& name) const {
  return zip_name_locate(impl_->za, name.c_str(), 0) >= 0;
}

std::string ZipReader::read(const std::string& name) const {
  zip_int64_t index = zip_name_locate(impl_->za, name.c_str(), 0);
  if (index < 0) throw Error(fmt::format("{}: no member '{}' in the archive", path_, name));
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(impl_->za, static_cast<zip_uint64_t>(index), 0, &st) != 0 ||
      !(st.valid & ZIP_STAT_SIZE))
    throw Error(
        fmt::format("{}: cannot stat member '{}' ({})", path_, name, zip_strerror(impl_->za)));
  zip_file_t* zf = zip_fopen_index(impl_->za, static_cast<zip_uint64_t>(index), 0);
  if (!zf)
    throw Error(
        fmt::format("{}: cannot open member '{}' ({})", path_, name, zip_strerror(impl_->za)));
  std::string out;
  // The recorded size may be forged; grow as data actually arrives.
  out.reserve(static_cast<size_t>(std::min<zip_uint64_t>(st.size, zip_uint64_t{1} << 30)));
  char buf[1 << 16];
  while (true) {
    zip_int64_t got = zip_fread(zf, buf, sizeof buf);
    if (got < 0) {
      std::string why = zip_file_strerror(zf);
      zip_fclose(zf);
      throw Error(fmt::format("{}: member '{}' is corrupt ({})", path_, name, why));
    }
    if (got == 0) break;
    out.append(buf, static_cast<size_t>(got));
    if (out.size() > st.size) break;
  }
  zip_fclose(zf);
  if (out.size() != st.size)
    throw Error(fmt::format("{}: member '{}' is corrupt or truncated (read {} bytes, expected {})",
                            path_, name, out.size(), st.size));
  return out;
}

ZipWriter::ZipWriter(std::string path) : path_(std::move(path)) {}

void ZipWriter::add(const std::string& name, std::string bytes, bool compress) {
  members_.push_back(Member{name, std::move(bytes), compress});
}

void ZipWriter::commit() {
  write_via_temp(path_, [&](const std::string& tmp) {
    if (members_.empty()) {
      // libzip deletes archives without members instead of writing them; write the 22-byte
      // end-of-central-directory record of an empty archive ourselves.
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << std::string("PK\x05\x06", 4) << std::string(18, '\0');
      out.close();
      if (!out) throw Error(fmt::format("{}: cannot write", path_));
      return;
    }
    int code = 0;
    zip_t* za = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!za)
      throw Error(fmt::format("{}: cannot create zip archive ({})", path_, zip_error_text(code)));
    auto fail = [&](const std::string& what) {
      std::string msg = fmt::format("{}: {} ({})", path_, what, zip_strerror(za));
      zip_discard(za);
      throw Error(msg);
    };
    for (const Member& m : members_) {
      zip_source_t* src = zip_source_buffer(za, m.bytes.data(), m.bytes.size(), 0);
      if (!src) fail(fmt::format("cannot add member '{}'", m.name));
      zip_int64_t index = zip_file_add(za, m.name.c_str(), src, ZIP_FL_ENC_UTF_8);
      if (index < 0) {
        zip_source_free(src);
        fail(fmt::format("cannot add member '{}'", m.name));
      }
      const auto idx = static_cast<zip_uint64_t>(index);
      if (zip_set_file_compression(za, idx, m.compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0)
        fail(fmt::format("cannot set compression of member '{}'", m.name));
      if (zip_file_set_mtime(za, idx, kMemberMtime, 0) != 0)
        fail(fmt::format("cannot set the time of member '{}'", m.name));
    }
    if (zip_close(za) != 0) fail("cannot write zip archive");
  });
}

}  // namespace hwprune::io
