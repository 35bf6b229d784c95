// The exporters: the text dump (every node kind with its parameters), to_jaxpr (exact text,
// as jax.make_jaxpr would print the model) and to_dot (one cluster per fusion group, checked
// for structure and rendered with Graphviz where `dot` is installed).
#include <catch2/catch.hpp>
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>

#include <unistd.h>

using Catch::Matchers::Contains;
using loom::dyn;
using loom::extents;

// Declares the name the exporters show for it.
struct doubler_with_a_long_type_name {
  static constexpr std::string_view name = "doubler";
  float operator()(float x) const { return x * 2; }
};

// A stateful F whose data member happens to be called `name`: shown by its type.
struct labelled {
  std::string name = "a label";
  float operator()(float x) const { return x * 2; }
};

// Global (not in an anonymous namespace), so that the exporters print the plain name.
struct custom_hook_function {
  float operator()(float x) const {
    float r = x * 2;
    r += 10;
    return r;
  }
};

namespace {

// Divides a tensor by its largest magnitude: needs the whole tensor, so it is a barrier.
struct normalise {
  using granularity = loom::whole_tensor;
  template <class E>
  void operator()(loom::tensor_view<const float, E> in, loom::tensor_view<float, E> out) const {
    float top = 0;
    for (float v : in) top = std::max(top, std::abs(v));
    for (std::size_t i = 0; i < in.size(); ++i) out.data()[i] = top > 0 ? in.data()[i] / top : 0;
  }
};

auto seed_model = [](auto x) {
  return loom::allow_in_graph<custom_hook_function>{}(loom::relu(x));
};

auto softmax = [](auto x) {
  auto e = loom::exp(x - loom::max(x, loom::axes<-1>, loom::keepdims));
  return e / loom::sum(e, loom::axes<-1>, loom::keepdims);
};

auto seed() {
  return loom::compile(seed_model, loom::input<float, extents<dyn>>{});
}

auto softmax_rows() {
  return loom::compile(softmax, loom::input<float, extents<dyn, 1024>>{});
}

// A GEMM, a hook on its result and a whole-tensor call on the scaled activation.
auto layer() {
  return loom::compile(
      [](auto x, auto w) {
        auto y = loom::hook(loom::matmul(x, w), [](auto) {});
        return loom::allow_in_graph<normalise>{}(loom::relu(y) * 0.5f);
      },
      loom::input<float, extents<dyn, 8>>{},
      loom::input<float, extents<8, 4>>{});
}

// Every view, a literal, a cast, a barrier and reductions without keepdims.
auto views() {
  return loom::compile(
      [](auto x) {
        auto t = loom::permute<1, 0>(loom::slice<1, 1, -1, 2>(x));
        auto r = loom::reshape<extents<dyn>>(loom::fusion_barrier(t * loom::lit<2.f>));
        auto b = loom::broadcast_to<extents<3, dyn>>(loom::mean(x, loom::axes<0>));
        return std::make_tuple(loom::cast<double>(r), loom::argmax(b, loom::axes<1>), b);
      },
      loom::input<float, extents<dyn, 6>>{});
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Where the DOT statement of node i starts; its line; and the cluster it is drawn in (-1:
// outside every cluster).
std::string statement_of(std::size_t i) {
  return "  n" + std::to_string(i) + " [label=";
}
std::string dot_line(const std::string& dot, std::size_t i) {
  const std::size_t at = dot.find(statement_of(i));
  return at == std::string::npos ? "" : dot.substr(at, dot.find('\n', at) - at);
}
int dot_cluster(const std::string& dot, std::size_t i) {
  const std::size_t at = dot.find(statement_of(i));
  const std::size_t open = dot.rfind("subgraph cluster_", at), close = dot.rfind("\n  }\n", at);
  if (open == std::string::npos || (close != std::string::npos && close > open)) return -1;
  return std::stoi(dot.substr(open + std::string_view("subgraph cluster_").size()));
}

template <class Model>
void check_dot_structure(const Model& m) {
  using G = typename Model::graph_type;
  using plan = loom::fusion_plan<G>;
  const std::string dot = loom::to_dot(m);
  CHECK(dot.rfind("digraph loom {\n", 0) == 0);
  CHECK(count(dot, "subgraph cluster_") == plan::group_count);
  std::size_t edges = 0;
  for (std::size_t i = 0; i < G::node_count; ++i) {
    CAPTURE(i);
    CHECK(count(dot, statement_of(i)) == 1);
    const auto kind = plan::nodes[i].kind;
    if (kind == loom::node_kind::input) {
      CHECK(dot_cluster(dot, i) == -1);
      CHECK_THAT(dot_line(dot, i), Contains("shape=invhouse"));
    }
    if (kind == loom::node_kind::opaque || kind == loom::node_kind::opaque_call)
      CHECK_THAT(dot_line(dot, i), Contains("shape=box, style=filled"));
    edges += plan::nodes[i].arity;
  }
  CHECK(count(dot, " -> ") == edges);
  for (std::size_t o : G::outputs) CHECK_THAT(dot_line(dot, o), Contains("peripheries=2"));
}

}  // namespace

TEST_CASE("the text dump of the seed model", "[export][text]") {
  CHECK(loom::graph_to_text(seed().graph()) ==
        R"(  %0 = input 0 : f32[?]
  %1 = relu %0 : f32[?]
  %2 = opaque<custom_hook_function> %1 : f32[?]  [element-wise, pure, fused as a call]
  return %2
)");
}

TEST_CASE("the text dump prints reductions with their axes", "[export][text]") {
  CHECK(loom::graph_to_text(softmax_rows().graph()) ==
        R"(  %0 = input 0 : f32[?, 1024]
  %1 = max[axes=(1), keepdims] %0 : f32[?, 1]
  %2 = sub %0 %1 : f32[?, 1024]
  %3 = exp %2 : f32[?, 1024]
  %4 = sum[axes=(1), keepdims] %3 : f32[?, 1]
  %5 = div %3 %4 : f32[?, 1024]
  return %5
)");
}

TEST_CASE("the text dump prints matmul, hooks and whole-tensor calls", "[export][text]") {
  CHECK(loom::graph_to_text(layer().graph()) ==
        R"(  %0 = input 0 : f32[?, 8]
  %1 = input 1 : f32[8, 4]
  %2 = matmul %0 %1 : f32[?, 4]
  %3 = hook %2 : f32[?, 4]  [calls back once per run]
  %4 = relu %3 : f32[?, 4]
  %5 = scalar 0.5 (run-time parameter) : f32[]
  %6 = mul %4 %5 : f32[?, 4]
  %7 = opaque_call<{anonymous}::normalise> %6 : f32[?, 4]  [whole-tensor, pure, barrier]
  return %7
)");
}

TEST_CASE("the text dump prints views, casts and barriers with their parameters",
          "[export][text]") {
  CHECK(loom::graph_to_text(views().graph()) ==
        R"(  %0 = input 0 : f32[?, 6]
  %1 = slice[axis=1, start=1, stop=-1, step=2] %0 : f32[?, 2]
  %2 = permute[order=(1, 0)] %1 : f32[2, ?]
  %3 = literal 2 : f32[]
  %4 = mul %2 %3 : f32[2, ?]
  %5 = fusion_barrier %4 : f32[2, ?]
  %6 = reshape[extents=(?)] %5 : f32[?]
  %7 = cast[dtype=f64] %6 : f64[?]
  %8 = mean[axes=(0)] %0 : f32[6]
  %9 = broadcast_to[extents=(3, ?)] %8 : f32[3, ?]
  %10 = argmax[axes=(1)] %9 : i32[3]
  return %7 %10 %9
)");
}

TEST_CASE("to_jaxpr of the seed model", "[export][jaxpr]") {
  CHECK(loom::to_jaxpr(seed()) == R"({ lambda ; a:f32[?]. let
    b:f32[?] = relu a
    c:f32[?] = opaque[fn=custom_hook_function pure=True] b
  in (c,) })");
}

TEST_CASE("to_jaxpr of a softmax written from primitives", "[export][jaxpr]") {
  CHECK(loom::to_jaxpr(softmax_rows()) == R"({ lambda ; a:f32[?,1024]. let
    b:f32[?,1] = reduce_max[axes=(1,) keepdims=True] a
    c:f32[?,1024] = sub a b
    d:f32[?,1024] = exp c
    e:f32[?,1] = reduce_sum[axes=(1,) keepdims=True] d
    f:f32[?,1024] = div d e
  in (f,) })");
}

TEST_CASE("to_jaxpr binds run-time scalars as constvars", "[export][jaxpr]") {
  CHECK(loom::to_jaxpr(layer()) == R"({ lambda a:f32[]; b:f32[?,8] c:f32[8,4]. let
    d:f32[?,4] = matmul b c
    e:f32[?,4] = hook d
    f:f32[?,4] = relu e
    g:f32[?,4] = mul f a
    h:f32[?,4] = opaque_call[fn={anonymous}::normalise pure=True] g
  in (h,) })");
}

TEST_CASE("to_jaxpr writes literals inline and every result", "[export][jaxpr]") {
  CHECK(loom::to_jaxpr(views()) == R"({ lambda ; a:f32[?,6]. let
    b:f32[?,2] = slice[axis=1 start=1 stop=-1 step=2] a
    c:f32[2,?] = permute[order=(1, 0)] b
    d:f32[2,?] = mul c 2.0:f32[]
    e:f32[2,?] = fusion_barrier d
    f:f32[?] = reshape[extents=(?,)] e
    g:f64[?] = cast[dtype=f64] f
    h:f32[6] = reduce_mean[axes=(0,) keepdims=False] a
    i:f32[3,?] = broadcast_to[extents=(3, ?)] h
    j:i32[3] = argmax[axes=(1,) keepdims=False] i
  in (g, j, i) })");
}

TEST_CASE("to_jaxpr of a model that returns its input has no equations", "[export][jaxpr]") {
  auto m = loom::compile([](auto x, auto y) { return std::make_tuple(y, x); },
                         loom::input<float, extents<dyn>>{},
                         loom::input<std::int32_t, extents<3>>{});
  CHECK(loom::to_jaxpr(m) == "{ lambda ; a:f32[?] b:i32[3]. let  in (b, a) }");
}

TEST_CASE("jaxpr variables are named as jax names them", "[export][jaxpr]") {
  CHECK(loom::detail::jaxpr_var_name(0) == "a");
  CHECK(loom::detail::jaxpr_var_name(25) == "z");
  CHECK(loom::detail::jaxpr_var_name(26) == "ba");
  CHECK(loom::detail::jaxpr_var_name(27) == "bb");
  CHECK(loom::detail::jaxpr_var_name(26 * 26) == "baa");
}

TEST_CASE("to_dot draws one cluster per fusion group", "[export][dot]") {
  check_dot_structure(seed());
  check_dot_structure(softmax_rows());
  check_dot_structure(layer());
  check_dot_structure(views());
}

TEST_CASE("to_dot labels clusters with how the group runs and why it ends", "[export][dot]") {
  const std::string dot = loom::to_dot(layer());
  CHECK_THAT(dot,
             Contains("subgraph cluster_1 {\n    label=\"group 1: call\\nends: a call runs "
                      "alone, between fused groups (at %6)\";\n    style=dashed;\n    n3 "
                      "[label=\"%3 hook\\nf32[?, 4]\", shape=octagon];\n  }"));
  CHECK_THAT(dot_line(dot, 2), Contains("label=\"%2 matmul\\nf32[?, 4]\""));
  CHECK(dot_cluster(dot, 2) == 0);
  CHECK(dot_cluster(dot, 5) == 2);  // the scalar is read into registers where it is used
  CHECK(dot_cluster(dot, 7) == 3);
}

TEST_CASE("to_dot fills element-wise and whole-tensor opaque nodes differently", "[export][dot]") {
  const std::string fused = dot_line(loom::to_dot(seed()), 2);
  const std::string call = dot_line(loom::to_dot(layer()), 7);
  CHECK_THAT(fused, Contains("%2 opaque<custom_hook_function>\\nf32[?]\\noutput 0"));
  CHECK_THAT(call, Contains("%7 opaque_call<{anonymous}::normalise>"));
  const auto fill = [](const std::string& line) {
    return line.substr(line.find("fillcolor="));
  };
  CHECK(fill(fused) != fill(call));
}

TEST_CASE("to_dot draws a recomputed value in the first group that computes it", "[export][dot]") {
  // exp(x) stays in registers: group 0 computes it for the hook's operand, and group 2, after
  // the hook, computes it again for e + 1.
  auto m = loom::compile(
      [](auto x) {
        auto e = loom::exp(x);
        return std::make_tuple(loom::hook(e * 2.f, [](auto) {}), e + 1.f);
      },
      loom::input<float, extents<dyn>>{});
  using plan = loom::fusion_plan<decltype(m)::graph_type>;
  STATIC_REQUIRE(plan::group_count == 3);
  REQUIRE(plan::per_step.computes[0][1]);
  REQUIRE(plan::per_step.computes[2][1]);
  const std::string dot = loom::to_dot(m);
  CHECK_THAT(dot_line(dot, 1), Contains("%1 exp"));
  CHECK(dot_cluster(dot, 1) == 0);
  check_dot_structure(m);
}

TEST_CASE("to_dot leaves views that are read in place outside the clusters", "[export][dot]") {
  using plan = loom::fusion_plan<decltype(views())::graph_type>;
  const std::string dot = loom::to_dot(views());
  CHECK(dot_cluster(dot, 1) == -1);  // slice
  CHECK(dot_cluster(dot, 2) == -1);  // permute
  // broadcast_to, materialised as an output: in the group of the step that writes it.
  CHECK(dot_cluster(dot, 9) == int(plan::group_of_step(plan::step_of[9])));
}

TEST_CASE("the exporters show an F by the name it declares", "[export]") {
  const auto m =
      loom::compile([](auto x) { return loom::allow_in_graph<doubler_with_a_long_type_name>{}(x); },
                    loom::input<float, extents<dyn>>{});
  CHECK_THAT(loom::explain(m), Contains("%1 = opaque<doubler> %0"));
  CHECK_THAT(loom::to_dot(m), Contains("%1 opaque<doubler>\\nf32[?]"));
  CHECK_THAT(loom::to_jaxpr(m), Contains("opaque[fn=doubler pure=True] a"));
  const auto stateful = loom::compile([](auto x) { return loom::allow_in_graph<labelled>{}(x); },
                                      loom::input<float, extents<dyn>>{});
  CHECK_THAT(loom::explain(stateful), Contains("%1 = opaque<labelled> %0"));
}

TEST_CASE("to_dot escapes quotes and backslashes in labels", "[export][dot]") {
  CHECK(loom::detail::dot_quote("a<\"b\">\\c\nd") == R"("a<\"b\">\\c\nd")");
}

TEST_CASE("Graphviz renders what to_dot writes", "[export][dot][graphviz]") {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    WARN("skipped: Graphviz's `dot` is not installed (scripts/install-deps.sh installs it)");
    return;
  }
  const auto render = [](const std::string& name, const std::string& dot) {
    const auto base = std::filesystem::temp_directory_path() /
                      ("loom_export_test_" + std::to_string(::getpid()) + "_" + name);
    const std::string in = base.string() + ".dot", out = base.string() + ".svg";
    std::ofstream(in) << dot;
    const int rc = std::system(("dot -Tsvg '" + in + "' -o '" + out + "'").c_str());
    std::ostringstream svg;
    svg << std::ifstream(out).rdbuf();
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    CAPTURE(name, dot);
    REQUIRE(rc == 0);
    return svg.str();
  };
  const std::string softmax_svg = render("softmax", loom::to_dot(softmax_rows()));
  for (int i = 0; i < 6; ++i) CHECK_THAT(softmax_svg, Contains("<title>n" + std::to_string(i)));
  CHECK_THAT(softmax_svg, Contains("<title>cluster_0</title>"));
  CHECK_THAT(softmax_svg, Contains("%1 max[axes=(1), keepdims]"));

  const std::string layer_svg = render("layer", loom::to_dot(layer()));
  for (int g = 0; g < 4; ++g)
    CHECK_THAT(layer_svg, Contains("<title>cluster_" + std::to_string(g) + "</title>"));
  CHECK_THAT(layer_svg, Contains("%7 opaque_call&lt;{anonymous}::normalise&gt;"));

  const std::string views_svg = render("views", loom::to_dot(views()));
  CHECK_THAT(views_svg, Contains("%1 slice[axis=1, start=1, stop=&#45;1, step=2]"));
}
