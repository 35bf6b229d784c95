"""A failing model as one standalone program: its inputs and the reference's results (values
and bounds, from a run with --dump) written out as constants, the model run the way that
failed, and the elements that differ printed. It needs only loom (and, where the model calls
them, the fuzzer's callables: compile with -I tests/fuzz/support)."""

import math
import re

from emit_loom import compile_call, extents, model_lambda, type_string, uses_context
from model import CPP_TYPE, static_of

DUMP = re.compile(r'DUMP (\d+) (\S+) (\S+) \[([^\]]*)\] :(.*)\|(.*)')

PRELUDE = '''\
template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};

template <class R>
auto as_tuple(R r) {
  if constexpr (is_tuple<R>::value)
    return r;
  else
    return std::make_tuple(std::move(r));
}

// The dtype and static extents of a result, as the fuzzer writes them: "f32[?, 4]".
template <class Tensor>
int check_type(const char* what, const Tensor&, const char* want) {
  using T = typename Tensor::value_type;
  using E = typename Tensor::extents_type;
  const std::string got = std::string(loom::dtype_name<T>()) + loom::extents_string<E>();
  if (got == want) return 0;
  std::printf("%s has type %s, want %s\n", what, got.c_str(), want);
  return 1;
}

// Each element of `got` must lie within 2 * bound of want (NaN meets NaN, infinity itself);
// an infinite bound means the reference cannot tell.
template <class Tensor>
int check(const char* what, const Tensor& got, const double* want, const double* bound) {
  int bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = double(got.data()[i]), w = want[i], b = bound[i];
    if (std::isinf(b)) continue;
    const bool ok = std::isnan(w) ? std::isnan(g) : std::isinf(w) ? g == w : std::fabs(g - w) <= 2 * b;
    if (!ok && bad++ < 10) std::printf("%s[%zu]: got %.9g, want %.9g +- %.3g\\n", what, i, g, w, 2 * b);
  }
  return bad;
}
'''


def number(v):
    if math.isnan(v):
        return 'NAN'
    if math.isinf(v):
        return 'INFINITY' if v > 0 else '-INFINITY'
    return repr(v)


def array(name, values):
    body = ', '.join(number(v) for v in values) or '0'
    return 'const double %s[] = {%s};' % (name, body)


def parse_dump(output, config):
    tensors = {}
    for line in output.splitlines():
        m = DUMP.match(line)
        if m and int(m.group(1)) == config:
            dims = [int(x) for x in m.group(4).split(',') if x.strip()]
            values = [float(x) for x in m.group(5).split()]
            bounds = [float(x) for x in m.group(6).split()]
            tensors[m.group(2)] = (dims, values, bounds)
    return tensors


def standalone_program(model, output, config, mode, message):
    data = parse_dump(output, config)
    lines = ['// A loom bug found by the random-model fuzzer (tests/fuzz), model %d, shrunk.' % model.seed,
             '// The fuzzer reported: %s: %s' % (mode, message),
             '// Build: g++ -std=c++20 -O1 -march=native -fopenmp -Iinclude -Itests/fuzz/support '
             '-I/usr/include/eigen3 THIS.cpp',
             '#include <loom/loom.hpp>', '', '#include <cmath>', '#include <cstdio>', '#include <string>', '#include <tuple>',
             '#include <type_traits>']
    if uses_context(model) or any(n.op in ('opaque', 'opaque_call') for n in model.nodes):
        lines.append('#include "callables.hpp"')
    lines += ['', PRELUDE, 'int main() {']
    if uses_context(model):
        lines.append('  fz::context ctx;')
    lines += model_lambda(model)
    lines.append('  ' + compile_call(model))
    names = []
    for i in model.inputs():
        n = model.nodes[i]
        k = n.attrs['index']
        dims, values, _ = data['x%d' % k]
        args = '' if None not in static_of(n.shape) else '(%s)' % ', '.join(map(str, dims))
        lines.append('  loom::tensor<%s, %s> x%d%s;' % (CPP_TYPE[n.dtype], extents(n.shape), k, args))
        lines.append('  ' + array('x%d_values' % k, values))
        lines.append('  for (std::size_t i = 0; i < x%d.size(); ++i) x%d.data()[i] = static_cast<%s>(x%d_values[i]);'
                     % (k, k, CPP_TYPE[n.dtype], k))
        names.append('x%d' % k)
    args = ', '.join(names)
    lines.append('  int bad = 0;')
    lines.append('  try {')
    kind = mode.split('/')[0]
    if kind == 'eager':
        lines.append('    auto out = as_tuple(f(%s));' % args)
    elif kind == 'inplace' and len(model.outputs) == 1:
        j = model.inplace
        lines.append('    auto buffer = x%d;' % j)
        lines.append('    m.run(buffer, %s);' % ', '.join('buffer' if k == j else a for k, a in enumerate(names)))
        lines.append('    auto out = std::make_tuple(buffer);')
    else:
        threads = mode.split('/')[1] if '/' in mode else '1'
        lines.append('    m.set_threads(%s);' % threads)
        lines.append('    auto out = as_tuple(m(%s));' % args)
    if 'no loom::shape_error' in message:
        lines.append('    std::printf("no loom::shape_error thrown\\n");')
        lines.append('    bad = 1;')
    for o in range(len(model.outputs)):
        if 'want%d' % o not in data:
            continue
        _, values, bounds = data['want%d' % o]
        lines.append('    ' + array('want%d' % o, values))
        lines.append('    ' + array('bound%d' % o, bounds))
        lines.append('    bad += check("output %d", std::get<%d>(out), want%d, bound%d);' % (o, o, o, o))
        if kind != 'inplace':
            lines.append('    bad += check_type("output %d", std::get<%d>(out), "%s");'
                         % (o, o, type_string(model.nodes[model.outputs[o]])))
    lines += ['  } catch (const std::exception& e) {',
              '    std::printf("exception: %s\\n", e.what());',
              '    bad = 1;' if 'no loom::shape_error' not in message else '    bad = std::string(e.what()).find("empty") == std::string::npos;',
              '  }',
              '  std::printf(bad ? "MISMATCH\\n" : "ok\\n");',
              '  return bad ? 1 : 0;', '}', '']
    return '\n'.join(lines)
