// Private RAII wrapper over the HDF5 C API for the Keras .h5 reader and writer: handles are
// closed in destructors, HDF5's error-stack printing is silenced and failures become Error.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "hwprune/ir/tensor.hpp"

namespace hwprune::io::h5 {

// Turns off HDF5's automatic error printing and clears the error stack when done. Every
// function below holds one, so callers need not. Printing stays off for the process:
// hwprune turns every HDF5 failure into an Error, and HDF5 1.10 prints a spurious "infinite
// loop closing library" at exit after a failed open of a corrupt file if printing is back on.
class Quiet {
 public:
  Quiet();
  ~Quiet();
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;
};

// An open HDF5 identifier (file, group, dataset, attribute, type or space) with the function
// that closes it, and the path of the file it belongs to (for messages).
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close, std::string file)
      : id_(id), close_(close), file_(std::move(file)) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept;
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  const std::string& file() const { return file_; }
  explicit operator bool() const { return id_ >= 0; }
  void reset();
  hid_t release() {  // gives up ownership
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
  std::string file_;
};

// The innermost message on HDF5's current error stack ("file signature not found"), or "".
std::string last_error();

// Whether the file at `path` carries the HDF5 signature (at offset 0 or, after a user block, at
// 512, 1024, 2048, ...). Read directly rather than with H5Fis_hdf5, which upsets HDF5 1.10's
// shutdown after a later failed open.
bool is_hdf5_file(const std::string& path);
// Opens an existing file read-only. Error "<path>: not a readable HDF5 file (...)".
Handle open_file(const std::string& path);
// Creates (truncates) a file in the HDF5 1.8 format, so attributes above 64 KiB are allowed.
// Messages name `label` (the final path when writing to a temporary file) if given.
Handle create_file(const std::string& path, const std::string& label = "");
// Closes the file and reports a failure to flush it (the destructor cannot).
void close_file(Handle& file);

// Whether `path` (relative, '/'-separated) names an existing object below `loc`.
bool exists(const Handle& loc, const std::string& path);
bool is_group(const Handle& loc, const std::string& path);
bool is_dataset(const Handle& loc, const std::string& path);
Handle open_group(const Handle& loc, const std::string& path);
// Creates a group (and any missing intermediate groups).
Handle create_group(const Handle& loc, const std::string& path);
// Names of the direct children of a group, in name order.
std::vector<std::string> children(const Handle& group);

bool has_attr(const Handle& obj, const std::string& name);
// A string attribute, scalar or 1-D, fixed-length or variable-length. A numeric attribute
// with no elements (how Keras writes an empty list) gives {}; any other type is an Error.
std::vector<std::string> read_strings(const Handle& obj, const std::string& name);
// One string: a scalar or single-element string attribute.
std::string read_string(const Handle& obj, const std::string& name);
// Writes a 1-D fixed-length (null-padded ASCII) string array, as h5py writes numpy bytes;
// an empty list is written as an empty float64 array, as Keras does.
void write_strings(const Handle& obj, const std::string& name,
                   const std::vector<std::string>& values);
// Writes a scalar fixed-length string.
void write_string(const Handle& obj, const std::string& name, const std::string& value);

// Reads a floating-point dataset (any float width, converted to float32) of any rank.
Tensor read_tensor(const Handle& loc, const std::string& path);
// Writes a little-endian float32 dataset with the tensor's shape.
void write_tensor(const Handle& loc, const std::string& name, const Tensor& t);

}  // namespace hwprune::io::h5
