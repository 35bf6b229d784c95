"""A C++ program from models: one function per model that compiles it with loom, builds
its inputs for each size configuration, computes the reference and runs every mode
(support/harness.hpp), and a main that runs them all."""

from emit_loom import (CPP_TYPE, compile_call, extents, first_config_extents, gradient_model,
                       gradient_operands, model_lambda)
from emit_reference import expectation_lines, reference_function
from model import sizes_of

DIST_KIND = {'uniform': 'fz::dist::uniform', 'integers': 'fz::dist::integers',
             'bools': 'fz::dist::bools', 'magnitudes': 'fz::dist::magnitudes'}


def describe(model):
    ops = sorted({n.attrs.get('fn') or n.attrs.get('kind') or n.op
                  for n in model.nodes if n.op not in ('input', 'scalar', 'literal')})
    return 'model %d: %d nodes, %d inputs, %d outputs; %s' % (
        model.name(), len(model.nodes), len(model.inputs()), len(model.outputs), ' '.join(ops))


def dist_literal(d):
    return 'fz::dist{%s, %r, %r, %r}' % (DIST_KIND[d['kind']], float(d['lo']), float(d['hi']),
                                         float(d['special_rate']))


def input_lines(model):
    lines = []
    for i in model.inputs():
        n = model.nodes[i]
        k = n.attrs['index']
        shapes = ', '.join('{%s}' % ', '.join(map(str, sizes_of(n.shape, c)))
                           for c in range(model.configs))
        lines.append('static const std::vector<std::size_t> x%d_shape[] = {%s};' % (k, shapes))
    return lines


def case_inputs(model, prefix='x', config='config', extents_of=extents, specials=True):
    lines = []
    for i in model.inputs():
        n = model.nodes[i]
        k = n.attrs['index']
        d = dict(n.attrs['dist'], special_rate=n.attrs['dist']['special_rate'] if specials else 0)
        lines.append('const auto %s%d = fz::input<%s, %s>(x%d_shape[%s], %s, fz::data_seed(%d, config_id[%s], %d));'
                     % (prefix, k, CPP_TYPE[n.dtype], extents_of(n.shape), k, config,
                        dist_literal(d), model.seed, config, n.attrs.get('data_id', k)))
    return lines


def gradient_check(model):
    """Lines that check loom::grad of the model on the first size configuration's inputs
    (support/gradient.hpp); a loom::trace_error from compiling it is counted, not failed
    (the guide's run-time scalars that a gradient cannot tell apart)."""
    wrt, losses = gradient_operands(model)
    cotangents = []
    for j, p in enumerate(losses):
        shape = model.nodes[model.outputs[p]].shape
        cotangents.append(
            'const auto c%d = fz::input<double, %s>({%s}, fz::dist{fz::dist::uniform, -1.0, 1.0, 0.0}, fz::data_seed(%d, config_id[0], %d));'
            % (j, first_config_extents(shape), ', '.join(str(s) for s in sizes_of(shape, 0)),
               model.seed, 1000 + j))
    all_f64 = all('f32' not in (n.dtype, n.compute) for n in model.nodes if not n.weak)
    spec = 'fz::gradient_spec{{%s}, {%s}, %s}' % (
        ', '.join(map(str, wrt)), ', '.join(str(model.outputs[p]) for p in losses),
        'true' if all_f64 else 'false')
    args = ', '.join('g%d' % k for k in range(len(model.inputs())))
    # Without NaN, infinities and extremes, whose derivatives mean little.
    body = gradient_model(model) + case_inputs(model, 'g', '0', first_config_extents, False)
    body += cotangents + reference_function(model)
    body.append('fz::check_gradient(s, %d, gm, reference, %s, std::tie(%s), std::tie(%s));' % (
        model.name(), spec, args, ', '.join('c%d' % j for j in range(len(losses)))))
    return (['if (s.opt.grad) {', '  try {'] + ['    ' + line for line in body] +
            ['  } catch (const loom::trace_error& e) {',
             '    s.skip_gradient(%d, e.what());' % model.name(), '  }', '}'])


def model_function(model):
    args = ', '.join('x%d' % k for k in range(len(model.inputs())))
    body = ['// ' + describe(model), 'void model_%d(fz::session& s) {' % model.name(),
            '  fz::context ctx;', '  try {']
    body += model_lambda(model)
    body.append('  ' + compile_call(model))
    body += ['  ' + line for line in input_lines(model)]
    body.append('  static const int config_id[] = {%s};' % ', '.join(
        str(model.config_id(c)) for c in range(model.configs)))
    body.append('  for (int config = 0; config < %d; ++config) {' % model.configs)
    body += ['    ' + line for line in case_inputs(model)]
    body += ['    ' + line for line in expectation_lines(model)]
    body.append('    fz::run_case<%d, %s>(s, %d, config, ctx, m, f, want%s);' % (
        model.inplace, 'true' if model.eager else 'false', model.name(), ', ' + args if args else ''))
    body.append('  }')
    if model.grad:
        body += ['  ' + line for line in gradient_check(model)]
    body += ['  } catch (const std::exception& e) {  // from compile()',
             '    s.begin(%d, -1, "compile");' % model.name(),
             '    s.fail(std::string("compile() threw: ") + e.what());', '  }',
             '  ++s.models;', '}', '']
    return body


def program(models, gpu=False):
    lines = ['// Generated by tests/fuzz/gen.py: random loom models checked against a reference.',
             '// Run with --model SEED for one model, --verbose to see each case.']
    if gpu:
        lines.append('#define FZ_GPU 1')
    lines += ['#include "harness.hpp"', '', 'namespace {', '']
    for m in models:
        lines += model_function(m)
    lines += ['}  // namespace', '', 'int main(int argc, char** argv) {',
              '  fz::session s(argc, argv);']
    lines += ['  if (s.wants(%d)) model_%d(s);' % (m.name(), m.name()) for m in models]
    lines += ['  return s.finish();', '}', '']
    return '\n'.join(lines)
