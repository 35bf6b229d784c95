// loom::save_npy (loom/npy.hpp): the .npy format 1.0 byte for byte: the magic string, the
// version, a header that names dtype, order and shape and ends in '\n' at a multiple of 64
// bytes, then the elements as they lie in memory. (The ONNX tests read such files with
// numpy.load.)
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <loom/loom.hpp>
#include <loom/npy.hpp>
#include <string>
#include <vector>

#include "../common/random_fill.hpp"

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The header of a .npy file, after checking the parts around it; `data` gets the rest.
std::string header_of(const std::string& file, std::string& data) {
  REQUIRE(file.size() >= 10);
  CHECK(file.compare(0, 6, "\x93NUMPY") == 0);
  CHECK(file[6] == 1);
  CHECK(file[7] == 0);
  const std::size_t length =
      static_cast<unsigned char>(file[8]) | std::size_t(static_cast<unsigned char>(file[9])) << 8;
  CHECK((10 + length) % 64 == 0);
  REQUIRE(file.size() >= 10 + length);
  CHECK(file[10 + length - 1] == '\n');
  data = file.substr(10 + length);
  return file.substr(10, length);
}

}  // namespace

TEST_CASE("save_npy writes the format's header and the elements as they are", "[npy]") {
  const auto dir = std::filesystem::temp_directory_path();
  loom::tensor<float, loom::extents<loom::dyn, 3>> f(2);
  loom_test::fill_uniform(f, 1, -5, 5);
  loom::save_npy((dir / "loom_f.npy").string(), f);
  std::string data;
  std::string header = header_of(read_all(dir / "loom_f.npy"), data);
  CHECK(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2,3,), }", 0) == 0);
  REQUIRE(data.size() == 6 * sizeof(float));
  CHECK(std::memcmp(data.data(), f.data(), data.size()) == 0);

  loom::tensor<std::int32_t> i(5);
  loom_test::fill_int(i, 2, -1000, 1000);
  loom::save_npy((dir / "loom_i.npy").string(), i.view());
  header = header_of(read_all(dir / "loom_i.npy"), data);
  CHECK(header.rfind("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", 0) == 0);
  CHECK(std::memcmp(data.data(), i.data(), data.size()) == 0);

  loom::tensor<double, loom::extents<>> d;
  d.data()[0] = -2.5;
  loom::save_npy((dir / "loom_d.npy").string(), d);
  header = header_of(read_all(dir / "loom_d.npy"), data);
  CHECK(header.rfind("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0) == 0);
  CHECK(data.size() == sizeof(double));

  loom::tensor<bool> b(3);
  b.data()[0] = true, b.data()[1] = false, b.data()[2] = true;
  loom::save_npy((dir / "loom_b.npy").string(), b);
  header = header_of(read_all(dir / "loom_b.npy"), data);
  CHECK(header.rfind("{'descr': '|b1'", 0) == 0);
  CHECK(data == std::string("\x01\x00\x01", 3));

  loom::tensor<loom::f16> h(4);
  loom_test::fill_uniform(h, 5, -3, 3);
  loom::save_npy((dir / "loom_h.npy").string(), h);
  header = header_of(read_all(dir / "loom_h.npy"), data);
  CHECK(header.rfind("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", 0) == 0);
  REQUIRE(data.size() == 4 * sizeof(loom::f16));
  CHECK(std::memcmp(data.data(), h.data(), data.size()) == 0);

  for (const char* name : {"loom_f.npy", "loom_i.npy", "loom_d.npy", "loom_b.npy", "loom_h.npy"})
    std::filesystem::remove(dir / name);
  CHECK_THROWS_AS(loom::save_npy("/nonexistent-dir/x.npy", f), loom::error);
}
