// Placeholder: proves the toolchain, Eigen and Boost.Hana are wired up.
#include <Eigen/Core>
#include <boost/hana.hpp>
#include <catch2/catch.hpp>

namespace hana = boost::hana;

TEST_CASE("smoke: hana and Eigen are usable") {
  constexpr auto t = hana::make_tuple(1, 'a', 2.0);
  STATIC_REQUIRE(hana::size(t) == hana::size_c<3>);

  // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
  Eigen::Matrix2d a;
  a << 1, 2, 3, 4;
  Eigen::Matrix2d b;
  b << 5, 6, 7, 8;
  Eigen::Matrix2d expected;
  expected << 19, 22, 43, 50;
  REQUIRE((a * b).isApprox(expected));
}
