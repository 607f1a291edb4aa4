// NumPy .npy arrays (format versions 1.0-3.0): parse from bytes, convert to float32
// tensors or integer labels, and write float32 arrays. Used by the dataset loaders and the
// native model file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hwprune/ir/tensor.hpp"

namespace hwprune::io {

struct NpyArray {
  char kind = 'f';          // 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool
  int item_size = 4;        // bytes per element
  bool big_endian = false;  // data as stored; converters swap bytes when needed
  Shape shape;
  std::string data;  // raw element bytes, C order

  int64_t numel() const;
  // Any supported numeric dtype -> float32 (C order). `what` names the source in errors.
  Tensor to_tensor(const std::string& what) const;
  // Integer or bool arrays, or float arrays whose values are all exact integers;
  // otherwise Error naming `what`.
  std::vector<int64_t> to_int64(const std::string& what) const;
};

// Parses a whole .npy file image. Supported dtypes: f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, either
// byte order; Fortran order, object/structured dtypes and truncated data throw Error naming
// `what` and the problem.
NpyArray parse_npy(std::string_view bytes, const std::string& what);
NpyArray read_npy_file(const std::string& path);

// A .npy image ('<f4', C order, format 1.0) of a tensor.
std::string npy_bytes(const Tensor& t);                                         // float32
std::string npy_bytes(const std::vector<int64_t>& values, const Shape& shape);  // int64

}  // namespace hwprune::io
