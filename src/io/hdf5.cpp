// RAII wrapper over the HDF5 C API (see hdf5.hpp).
#include "hdf5.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <thread>

#include <fmt/format.h>

#include "hwprune/util/error.hpp"

// Present in sanitizer builds: a crashing probe child must not run the fuzzer's death report.
extern "C" void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

namespace hwprune::io::h5 {

namespace {

// Anything bigger is a corrupt file, not a weight tensor.
constexpr int64_t kMaxElements = int64_t{1} << 31;
// How long reading a file in the probe may take.
constexpr int kProbeSeconds = 120;
// More objects than a Keras file has: the probe stops there.
constexpr int kProbeObjects = 20000;

herr_t walk_innermost(unsigned /*n*/, const H5E_error2_t* err, void* out) {
  if (err && err->desc && *err->desc) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  const std::string detail = last_error();
  throw Error(detail.empty() ? fmt::format("{}: {}", file, what)
                             : fmt::format("{}: {} ({})", file, what, detail));
}

// The object's path inside its file ("/fc1/fc1"), for messages.
std::string object_name(hid_t id) {
  const ssize_t n = H5Iget_name(id, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<size_t>(n) + 1, '\0');
  H5Iget_name(id, s.data(), s.size());
  s.resize(static_cast<size_t>(n));
  return s;
}

std::string child_name(const Handle& loc, const std::string& path) {
  std::string base = object_name(loc.id());
  if (base.empty() || base.back() != '/') base += '/';
  return base + path;
}

Handle check(hid_t id, Handle::Closer close, const std::string& file, const std::string& what) {
  if (id < 0) fail(file, what);
  return Handle(id, close, file);
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Dimensions of a simple dataspace (empty for a scalar); Error for anything odd.
std::vector<hsize_t> dims_of(hid_t space, const std::string& file, const std::string& what) {
  const H5S_class_t cls = H5Sget_simple_extent_type(space);
  if (cls == H5S_SCALAR) return {};
  if (cls == H5S_NULL) return {0};
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail(file, what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) fail(file, what);
  return dims;
}

int64_t count_of(const std::vector<hsize_t>& dims, const std::string& file,
                 const std::string& what) {
  int64_t n = 1;
  for (hsize_t d : dims) {
    if (d != 0 && static_cast<uint64_t>(n) > static_cast<uint64_t>(kMaxElements) / d)
      throw Error(fmt::format("{}: {}: too many elements", file, what));
    n *= static_cast<int64_t>(d);
  }
  if (n > kMaxElements) throw Error(fmt::format("{}: {}: too many elements", file, what));
  return n;
}

}  // namespace

Quiet::Quiet() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Quiet::~Quiet() {
  H5Eclear2(H5E_DEFAULT);  // the errors became exceptions
}

Handle::Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_), file_(std::move(o.file_)) {
  o.id_ = H5I_INVALID_HID;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    file_ = std::move(o.file_);
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_) {
    Quiet quiet;
    close_(id_);
  }
  id_ = H5I_INVALID_HID;
}

std::string last_error() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_innermost, &msg);
  return msg;
}

bool is_hdf5_file(const std::string& path) {
  static const std::string kSignature("\x89HDF\r\n\x1a\n", 8);
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  for (uint64_t offset = 0; offset + 8 <= size; offset = offset ? offset * 2 : 512) {
    std::string buf(8, '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(buf.data(), 8)) return false;
    if (buf == kSignature) return true;
  }
  return false;
}

namespace {

Handle open_unprobed(const std::string& path) {
  Quiet quiet;
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) fail(path, "not a readable HDF5 file");
  return Handle(id, H5Fclose, path);
}

herr_t collect_attribute(hid_t /*obj*/, const char* name, const H5A_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

// Reads what the readers may touch: every string attribute, group and dataset, depth first
// (at most kProbeObjects objects: links may form cycles).
void walk(const Handle& obj, int depth, int& visited) {
  if (++visited > kProbeObjects) return;
  std::vector<std::string> attributes;
  hsize_t idx = 0;
  if (H5Aiterate2(obj.id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attribute, &attributes) < 0)
    fail(obj.file(), "cannot list attributes");
  for (const auto& a : attributes) {
    try {
      read_strings(obj, a);
    } catch (const Error&) {  // not a string attribute, or unreadable: the reader will say
    }
  }
  if (depth > 32 || H5Iget_type(obj.id()) == H5I_DATASET) return;
  for (const auto& name : children(obj)) {
    if (is_group(obj, name)) {
      walk(open_group(obj, name), depth + 1, visited);
    } else if (is_dataset(obj, name)) {
      read_tensor(obj, name);
      walk(check(H5Dopen2(obj.id(), name.c_str(), H5P_DEFAULT), H5Dclose, obj.file(), name),
           depth + 1, visited);
    }
  }
}

// A corrupt file can crash libhdf5 itself (1.10.8: a bad free while iterating the links of a
// damaged group, found by fuzz_keras_h5). A child process reads the whole file first; if it
// dies, the file is refused with an Error instead of taking this process with it.
void probe_in_child(const std::string& path) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return;  // cannot fork: read it here
  if (pid == 0) {
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) std::signal(sig, SIG_DFL);
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
    int code = 0;
    try {
      Quiet quiet;
      int visited = 0;
      walk(open_unprobed(path), 0, visited);
    } catch (...) {
      code = 3;  // an error HDF5 reports: the reader in this process will name it
    }
    ::_exit(code);
  }
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::microseconds(50);
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(kProbeSeconds)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      throw Error(
          fmt::format("{}: the HDF5 library did not finish reading it in {} s (a corrupt "
                      "file?)",
                      path, kProbeSeconds));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3)) return;
  throw Error(fmt::format("{}: the HDF5 library crashed reading it ({}): the file is corrupt", path,
                          WIFSIGNALED(status)
                              ? std::string(strsignal(WTERMSIG(status)))
                              : fmt::format("exit status {}", WEXITSTATUS(status))));
}

}  // namespace

Handle open_file(const std::string& path) {
  probe_in_child(path);
  return open_unprobed(path);
}

Handle create_file(const std::string& path, const std::string& label) {
  Quiet quiet;
  const std::string name = label.empty() ? path : label;
  Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, name, "cannot create HDF5 properties");
  if (H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0)
    fail(name, "cannot set the HDF5 file format");
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id());
  if (id < 0) fail(name, "cannot create HDF5 file");
  return Handle(id, H5Fclose, name);
}

void close_file(Handle& file) {
  Quiet quiet;
  const std::string path = file.file();
  const hid_t id = file.release();
  if (id >= 0 && H5Fclose(id) < 0) fail(path, "cannot write HDF5 file");
}

bool exists(const Handle& loc, const std::string& path) {
  Quiet quiet;
  std::string prefix;
  const auto parts = split_path(path);
  if (parts.empty()) return false;
  for (const auto& part : parts) {
    prefix += prefix.empty() ? part : "/" + part;
    if (H5Lexists(loc.id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Oexists_by_name(loc.id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

namespace {
bool is_type(const Handle& loc, const std::string& path, H5O_type_t type) {
  if (!exists(loc, path)) return false;
  Quiet quiet;
  H5O_info_t info;
  if (H5Oget_info_by_name(loc.id(), path.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == type;
}
}  // namespace

bool is_group(const Handle& loc, const std::string& path) {
  return is_type(loc, path, H5O_TYPE_GROUP);
}

bool is_dataset(const Handle& loc, const std::string& path) {
  return is_type(loc, path, H5O_TYPE_DATASET);
}

Handle open_group(const Handle& loc, const std::string& path) {
  Quiet quiet;
  const std::string what = fmt::format("cannot open group '{}'", child_name(loc, path));
  return check(H5Gopen2(loc.id(), path.c_str(), H5P_DEFAULT), H5Gclose, loc.file(), what);
}

Handle create_group(const Handle& loc, const std::string& path) {
  Quiet quiet;
  const std::string what = fmt::format("cannot create group '{}'", child_name(loc, path));
  Handle lcpl = check(H5Pcreate(H5P_LINK_CREATE), H5Pclose, loc.file(), what);
  if (H5Pset_create_intermediate_group(lcpl.id(), 1) < 0) fail(loc.file(), what);
  return check(H5Gcreate2(loc.id(), path.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
               loc.file(), what);
}

namespace {
herr_t collect_child(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> children(const Handle& group) {
  Quiet quiet;
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(group.id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_child, &names) < 0)
    fail(group.file(), fmt::format("cannot list group '{}'", object_name(group.id())));
  return names;
}

bool has_attr(const Handle& obj, const std::string& name) {
  Quiet quiet;
  return H5Aexists(obj.id(), name.c_str()) > 0;
}

std::vector<std::string> read_strings(const Handle& obj, const std::string& name) {
  Quiet quiet;
  const std::string what =
      fmt::format("cannot read attribute '{}' of '{}'", name, object_name(obj.id()));
  Handle attr = check(H5Aopen(obj.id(), name.c_str(), H5P_DEFAULT), H5Aclose, obj.file(), what);
  Handle type = check(H5Aget_type(attr.id()), H5Tclose, obj.file(), what);
  Handle space = check(H5Aget_space(attr.id()), H5Sclose, obj.file(), what);
  const int64_t n = count_of(dims_of(space.id(), obj.file(), what), obj.file(), what);
  const H5T_class_t cls = H5Tget_class(type.id());
  if (cls != H5T_STRING) {
    if (n == 0 && (cls == H5T_FLOAT || cls == H5T_INTEGER)) return {};
    throw Error(fmt::format("{}: attribute '{}' of '{}' does not hold strings", obj.file(), name,
                            object_name(obj.id())));
  }
  std::vector<std::string> out;
  if (n == 0) return out;
  const htri_t vlen = H5Tis_variable_str(type.id());
  if (vlen < 0) fail(obj.file(), what);
  if (vlen) {
    Handle mem = check(H5Tcopy(H5T_C_S1), H5Tclose, obj.file(), what);
    if (H5Tset_size(mem.id(), H5T_VARIABLE) < 0) fail(obj.file(), what);
    std::vector<char*> buf(static_cast<size_t>(n), nullptr);
    if (H5Aread(attr.id(), mem.id(), buf.data()) < 0) fail(obj.file(), what);
    for (char* s : buf) out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(mem.id(), space.id(), H5P_DEFAULT, buf.data());
  } else {
    const size_t size = H5Tget_size(type.id());
    if (size == 0) fail(obj.file(), what);
    Handle mem = check(H5Tcopy(type.id()), H5Tclose, obj.file(), what);
    std::vector<char> buf(size * static_cast<size_t>(n) + 1, '\0');
    if (H5Aread(attr.id(), mem.id(), buf.data()) < 0) fail(obj.file(), what);
    const bool space_pad = H5Tget_strpad(type.id()) == H5T_STR_SPACEPAD;
    for (int64_t i = 0; i < n; ++i) {
      const char* p = buf.data() + static_cast<size_t>(i) * size;
      std::string s(p, strnlen(p, size));
      if (space_pad)
        while (!s.empty() && s.back() == ' ') s.pop_back();
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string read_string(const Handle& obj, const std::string& name) {
  auto values = read_strings(obj, name);
  if (values.size() != 1)
    throw Error(fmt::format("{}: attribute '{}' of '{}' should hold one string, holds {}",
                            obj.file(), name, object_name(obj.id()), values.size()));
  return values[0];
}

namespace {
void write_fixed_strings(const Handle& obj, const std::string& name,
                         const std::vector<std::string>& values, bool scalar) {
  Quiet quiet;
  const std::string what =
      fmt::format("cannot write attribute '{}' of '{}'", name, object_name(obj.id()));
  size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  Handle type = check(H5Tcopy(H5T_C_S1), H5Tclose, obj.file(), what);
  if (H5Tset_size(type.id(), width) < 0 || H5Tset_strpad(type.id(), H5T_STR_NULLPAD) < 0)
    fail(obj.file(), what);
  const hsize_t n = values.size();
  Handle space = scalar ? check(H5Screate(H5S_SCALAR), H5Sclose, obj.file(), what)
                        : check(H5Screate_simple(1, &n, nullptr), H5Sclose, obj.file(), what);
  std::vector<char> buf(width * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i)
    std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  if (H5Aexists(obj.id(), name.c_str()) > 0 && H5Adelete(obj.id(), name.c_str()) < 0)
    fail(obj.file(), what);
  Handle attr =
      check(H5Acreate2(obj.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
            H5Aclose, obj.file(), what);
  if (H5Awrite(attr.id(), type.id(), buf.data()) < 0) fail(obj.file(), what);
}
}  // namespace

void write_strings(const Handle& obj, const std::string& name,
                   const std::vector<std::string>& values) {
  if (!values.empty()) return write_fixed_strings(obj, name, values, false);
  Quiet quiet;
  const std::string what =
      fmt::format("cannot write attribute '{}' of '{}'", name, object_name(obj.id()));
  const hsize_t zero = 0;
  Handle space = check(H5Screate_simple(1, &zero, nullptr), H5Sclose, obj.file(), what);
  Handle attr = check(
      H5Acreate2(obj.id(), name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, obj.file(), what);
}

void write_string(const Handle& obj, const std::string& name, const std::string& value) {
  write_fixed_strings(obj, name, {value}, true);
}

Tensor read_tensor(const Handle& loc, const std::string& path) {
  Quiet quiet;
  const std::string full = child_name(loc, path);
  const std::string what = fmt::format("cannot read dataset '{}'", full);
  Handle ds = check(H5Dopen2(loc.id(), path.c_str(), H5P_DEFAULT), H5Dclose, loc.file(), what);
  Handle type = check(H5Dget_type(ds.id()), H5Tclose, loc.file(), what);
  if (H5Tget_class(type.id()) != H5T_FLOAT)
    throw Error(
        fmt::format("{}: dataset '{}' does not hold floating-point values", loc.file(), full));
  Handle space = check(H5Dget_space(ds.id()), H5Sclose, loc.file(), what);
  const auto dims = dims_of(space.id(), loc.file(), what);
  const int64_t n = count_of(dims, loc.file(), what);
  Shape shape;
  for (hsize_t d : dims) shape.push_back(static_cast<int64_t>(d));
  std::vector<float> data(static_cast<size_t>(n));
  if (n > 0 && H5Dread(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    fail(loc.file(), what);
  return Tensor(std::move(shape), std::move(data));
}

void write_tensor(const Handle& loc, const std::string& name, const Tensor& t) {
  Quiet quiet;
  const std::string what = fmt::format("cannot write dataset '{}'", child_name(loc, name));
  std::vector<hsize_t> dims;
  for (int64_t d : t.shape) dims.push_back(static_cast<hsize_t>(d));
  Handle space = dims.empty()
                     ? check(H5Screate(H5S_SCALAR), H5Sclose, loc.file(), what)
                     : check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                             H5Sclose, loc.file(), what);
  Handle ds = check(H5Dcreate2(loc.id(), name.c_str(), H5T_IEEE_F32LE, space.id(), H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT),
                    H5Dclose, loc.file(), what);
  if (t.numel() > 0 &&
      H5Dwrite(ds.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.ptr()) < 0)
    fail(loc.file(), what);
}

}  // namespace hwprune::io::h5
