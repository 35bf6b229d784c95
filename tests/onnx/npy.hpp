#pragma once

// Writes a host tensor as a NumPy .npy file (format 1.0): the ONNX tests hand inputs and loom's
// outputs to onnxruntime's Python side this way.

#include <loom/loom.hpp>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace loom_onnx_test {

template <class T>
constexpr const char* npy_descr() {
  if constexpr (std::is_same_v<T, float>)
    return "<f4";
  else if constexpr (std::is_same_v<T, double>)
    return "<f8";
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return "<i4";
  else
    return "|b1";
}

template <class T>
void write_npy(const std::string& path, const T* data, const loom::shape& s) {
  std::string shape = "(";
  for (std::size_t d = 0; d < s.rank; ++d) shape += std::to_string(s.dims[d]) + ",";
  shape += ")";
  std::string header = std::string("{'descr': '") + npy_descr<T>() +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6), version (2) and length (2) first; the header ends in '\n' at a multiple of 64.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  const unsigned char lead[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(reinterpret_cast<const char*>(lead), 8);
  const std::uint16_t length = static_cast<std::uint16_t>(header.size());
  const unsigned char le[2] = {static_cast<unsigned char>(length & 0xff),
                               static_cast<unsigned char>(length >> 8)};
  out.write(reinterpret_cast<const char*>(le), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(data), std::streamsize(s.size() * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace loom_onnx_test
