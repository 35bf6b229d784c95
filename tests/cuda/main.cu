// The main() of the CUDA tests. Where no CUDA device is usable every test is reported
// skipped (exit code 77, which CTest counts as skipped) with the reason; listing the tests
// (for CTest's discovery at build time) needs no device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <loom/backends/cuda/check.hpp>

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing = listing || std::strncmp(argv[i], "--list", 6) == 0;
  if (!listing) {
    try {
      loom::cuda::require_device();
    } catch (const loom::cuda_error& e) {
      std::printf("skipped: %s\n", e.what());
      return 77;
    }
  }
  return Catch::Session().run(argc, argv);
}
