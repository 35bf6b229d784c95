#pragma once

#include <bit>
#include <cstdint>
#include <fstream>
#include <string>
#include <type_traits>

#include "loom/core/errors.hpp"
#include "loom/core/shape.hpp"
#include "loom/tensor/tensor.hpp"

namespace loom {

namespace npy_detail {
template <class T>
constexpr const char* descr() {
  if constexpr (std::is_same_v<T, float>)
    return "<f4";
  else if constexpr (std::is_same_v<T, double>)
    return "<f8";
  else if constexpr (std::is_same_v<T, f16>)
    return "<f2";
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return "<i4";
  else
    return "|b1";
}
}  // namespace npy_detail

// Writes a host view's elements to `path` as a NumPy .npy file (format 1.0, C order), which
// numpy.load reads: how a program hands its tensors to Python, for example to check an
// exported ONNX model in onnxruntime. loom::error where the file cannot be written.
template <class T, extents_type E>
void save_npy(const std::string& path, const tensor_view<T, E>& v) {
  using V = std::remove_const_t<T>;
  static_assert(std::endian::native == std::endian::little,
                "loom: save_npy writes little-endian .npy files from little-endian hosts only");
  static_assert(!std::is_same_v<V, bf16>,
                "loom: save_npy: NumPy has no bf16 dtype; cast the tensor to f32 first");
  std::string shape = "(";
  for (std::size_t d = 0; d < v.shape().rank; ++d) shape += std::to_string(v.extent(d)) + ",";
  std::string header = std::string("{'descr': '") + npy_detail::descr<V>() +
                       "', 'fortran_order': False, 'shape': " + shape + "), }";
  // After the magic string (6 bytes), the version (2) and the header's length (2), the header
  // ends in '\n' at a multiple of 64 bytes, as the format asks.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  const unsigned char lead[10] = {0x93,
                                  'N',
                                  'U',
                                  'M',
                                  'P',
                                  'Y',
                                  1,
                                  0,
                                  static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(lead), sizeof lead);
  out << header;
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(V)));
  if (!out.flush()) throw error("loom: save_npy: cannot write " + path);
}

// The same for a tensor (its view).
template <dtype T, extents_type E>
void save_npy(const std::string& path, const tensor<T, E>& t) {
  save_npy(path, t.view());
}

}  // namespace loom
