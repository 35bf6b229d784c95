// The DLPack section of docs/guide.md ("DLPack exchange"): its snippet, between
// `// [snippet:NAME]` markers, appears verbatim in the guide (docs_snippets_in_sync); the
// CHECKs hold what the guide says of it.
#include <catch2/catch.hpp>
#include <loom/dlpack.hpp>
#include <loom/loom.hpp>

TEST_CASE("guide: DLPack exchange", "[docs][dlpack]") {
  // [snippet:dlpack]
  loom::tensor<float, loom::extents<loom::dyn, 3>> x(2);
  x.fill(1.5f);

  // Out: the view's elements, not copied. x must outlive the consumer's use of them.
  DLManagedTensor* out = loom::to_dlpack(x.view());
  // ... another framework takes `out` and calls out->deleter(out) when it is done.

  // In: a DLPack tensor taken over as a view, no copy; its deleter runs once, when `in` dies.
  auto in = loom::from_dlpack<const float, loom::extents<loom::dyn, 3>>(out);
  auto total = loom::sum(in.view());  // an eager op on the producer's memory: 9
  // [/snippet:dlpack]
  CHECK(in.data() == x.data());
  CHECK(in.shape().to_string() == "[2, 3]");
  CHECK(total.data()[0] == 9.f);
}
