// Tensors, views, the buffer pool, and zero-copy Eigen interop in both storage orders.
#include <Eigen/Core>
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

using loom::dyn;

TEST_CASE("tensors take every extent or only the dynamic ones", "[tensor]") {
  loom::tensor<float, loom::extents<dyn, 4>> a(3), b(3, 4);
  CHECK(a.shape() == b.shape());
  CHECK(a.shape().to_string() == "[3, 4]");
  CHECK(a.size() == 12);
  CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  REQUIRE_THROWS_AS((loom::tensor<float, loom::extents<dyn, 4>>(3, 5)), loom::shape_error);
  loom::tensor<int, loom::extents<>> scalar;
  scalar() = 7;
  CHECK(scalar.size() == 1);
  CHECK(scalar() == 7);
}

TEST_CASE("fill sets every element", "[tensor]") {
  loom::tensor<double, loom::extents<2, dyn>> t(3);
  t.fill(2.5);
  for (double v : t) CHECK(v == 2.5);
  CHECK(t.size() == 6);
}

TEST_CASE("copies are deep, moves are free", "[tensor]") {
  loom::tensor<float, loom::extents<dyn>> a(10);
  for (std::size_t i = 0; i < 10; ++i) a(i) = float(i);
  auto b = a;
  b(0) = 42;
  CHECK(a(0) == 0);
  const float* p = a.data();
  auto c = std::move(a);
  CHECK(c.data() == p);
  CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): the moved-from state is empty
  CHECK(a.begin() == a.end());
  loom::tensor_view<float> empty;
  CHECK(empty.size() == 0);
}

TEST_CASE("a tensor converts to views with dynamic extents", "[tensor]") {
  loom::tensor<float, loom::extents<2, 3>> t;
  t.fill(4.f);
  loom::tensor_view<const float, loom::extents<dyn, dyn>> v = t;
  loom::tensor_view<float, loom::extents<2, dyn>> w = t;
  CHECK(v.shape().to_string() == "[2, 3]");
  w(1, 2) = 5.f;
  CHECK(v(1, 2) == 5.f);
  // A view of a temporary would dangle: the conversion is deleted for rvalues.
  STATIC_REQUIRE(!std::is_convertible_v<loom::tensor<float, loom::extents<2, 3>>&&,
                                        loom::tensor_view<const float, loom::extents<2, 3>>>);
}

TEST_CASE("eager temporaries reuse pooled buffers", "[tensor][pool]") {
  loom::tensor<float, loom::extents<dyn>> x(4096);
  for (std::size_t i = 0; i < x.size(); ++i) x(i) = float(i) - 2000.f;
  const float* first;
  {
    auto y = loom::relu(x);
    first = y.data();
  }
  auto z = loom::relu(x);
  CHECK(z.data() == first);
  CHECK(z(4095) == 2095.f);
  auto& pool = loom::buffer_pool::instance();
  const std::size_t before = pool.cached_bytes();
  { loom::tensor<float, loom::extents<dyn>> scratch(1000); }
  CHECK(pool.cached_bytes() == before + 4032);  // 4000 bytes, rounded up to 64
  pool.trim();
  CHECK(pool.cached_bytes() == 0);
}

TEST_CASE("row-major Eigen data is viewed without a copy", "[tensor][eigen]") {
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m(3, 5);
  m.setRandom();
  auto v = loom::from_eigen(m);
  REQUIRE(v.shape().to_string() == "[3, 5]");
  CHECK(v.data() == m.data());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) CHECK(v(i, j) == m(i, j));
  const auto doubled = v * 2.f;  // eager op on the view
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) CHECK(doubled(i, j) == 2 * m(i, j));
}

TEST_CASE("column-major Eigen data is viewed only as its explicit transpose", "[tensor][eigen]") {
  Eigen::MatrixXf m(3, 5);  // column-major
  m.setRandom();
  auto t = loom::from_eigen_transposed(m);
  REQUIRE(t.shape().to_string() == "[5, 3]");
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) CHECK(t(j, i) == m(i, j));
}

TEST_CASE("to_eigen maps tensors, and layouts convert on assignment", "[tensor][eigen]") {
  loom::tensor<float, loom::extents<dyn, dyn>> t(2, 3);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) t(i, j) = float(10 * i + j);
  auto map = loom::to_eigen(t);
  CHECK(map.data() == t.data());
  const Eigen::MatrixXf col_major = map;  // Eigen converts the layout; values keep (i, j)
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) CHECK(col_major(i, j) == t(i, j));
  Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(7, -1, 1);
  auto view = loom::from_eigen<1>(v);
  const auto sq = loom::square(view);
  auto back = loom::to_eigen(sq);
  CHECK(back.isApprox(v.array().square().matrix()));
}

TEST_CASE("Eigen views refuse strided data", "[tensor][eigen]") {
  Eigen::MatrixXf m(3, 3);  // column-major: a row is strided, a column is contiguous
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m(i, j) = float(3 * i + j);
  auto row = m.row(1);
  REQUIRE_THROWS_AS(loom::from_eigen<1>(row), loom::shape_error);
  REQUIRE_THROWS_WITH(loom::from_eigen<1>(row), Catch::Contains("inner stride 3"));
  auto col = m.col(1);
  auto v = loom::from_eigen<1>(col);
  for (int i = 0; i < 3; ++i) CHECK(v(i) == m(i, 1));
  Eigen::VectorXf x = Eigen::VectorXf::LinSpaced(5, 0, 4);
  auto as_matrix = loom::from_eigen(x);  // a column vector is a (5 x 1) row-major matrix
  REQUIRE(as_matrix.shape().to_string() == "[5, 1]");
  CHECK(as_matrix(4, 0) == 4.f);
  Eigen::Matrix<float, 4, 4, Eigen::RowMajor> big;
  auto block = big.block(0, 0, 2, 2);
  REQUIRE_THROWS_AS(loom::from_eigen(block), loom::shape_error);
}
