"""Shrinks a failing model: tries smaller variants (fewer outputs, a node replaced by one of
its operands, one size configuration, smaller extents, plainer input data, fewer run modes),
keeps the first that still fails the same way, and repeats until none does. Variants are
built and run a few to a program, since each build costs seconds. The result is written as
a standalone program (standalone.py)."""

import copy
import os
import re

from generate import generate
from model import Dim, Invalid, prune
from program import program
from standalone import standalone_program

FAIL = re.compile(r'FAIL model (\d+) config (-?\d+) (\S+): (.*)')
CANDIDATES_PER_PROGRAM = 6


def category(mode, message):
    """What kind of failure a FAIL line reports: a smaller model counts only if it fails the
    same way (the same mode, and the same kind of mismatch or exception)."""
    mode = mode.split('/')[0]
    if 'elements differ' in message:
        kind = 'differ'
    elif 'has type' in message:
        kind = 'type'
    elif 'no loom::shape_error' in message:
        kind = 'no-throw'
    elif 'unexpected' in message:
        kind = re.sub(r'[\d\[\],%]+', '', message)[:60]
    else:
        kind = re.sub(r'[\d\[\],%.e+-]+', '', message)[:40]
    return mode, kind


def failures(output):
    """{model name: [(config, mode, message)]} from a program's output."""
    found = {}
    for line in output.splitlines():
        m = FAIL.match(line)
        if m:
            found.setdefault(int(m.group(1)), []).append((int(m.group(2)), m.group(3), m.group(4)))
    return found


def run_models(tools, models, objs, name, extra=()):
    src = os.path.join(tools.build, name + '.cpp')
    exe = os.path.join(tools.build, name)
    with open(src, 'w') as f:
        f.write(program(models))
    error = tools.build_program(src, exe, objs)
    if error:
        return None, error
    r = tools.run([exe] + list(extra))
    return r.stdout + r.stderr, None


def rebuilt(model, edit):
    m = copy.deepcopy(model)
    try:
        edit(m)
        return prune(m)
    except (Invalid, IndexError, ValueError, KeyError):
        return None


def replace_uses(m, old, new):
    for n in m.nodes:
        n.args = [new if a == old else a for a in n.args]
    m.outputs = [new if o == old else o for o in m.outputs]
    if len(set(m.outputs)) != len(m.outputs):
        m.outputs = list(dict.fromkeys(m.outputs))


def candidates(model):
    """Smaller variants of `model`, most reducing first."""
    out = []
    if len(model.outputs) > 1:
        for k, o in enumerate(model.outputs):
            def keep(m, k=k, o=o):
                m.outputs = [o]
                m.inplace = m.inplace if k == 0 else -1
            out.append(keep)
    for i, n in enumerate(model.nodes):
        if n.op == 'input' or n.weak:
            continue
        for a in n.args:
            if not model.nodes[a].weak:
                out.append(lambda m, i=i, a=a: replace_uses(m, i, a))
    if model.configs > 1:
        for c in range(model.configs):
            out.append(lambda m, c=c: restrict_config(m, c))
    dims = []
    for i in model.inputs():
        for d in model.nodes[i].attrs['dims']:
            if d not in dims:
                dims.append(d)
    for d in dims:
        for smaller in smaller_dims(d):
            out.append(lambda m, d=d, s=smaller: replace_dim(m, d, s))
    for i in model.inputs():
        dist = model.nodes[i].attrs['dist']
        if dist['special_rate'] > 0:
            out.append(lambda m, i=i: m.nodes[i].attrs['dist'].update(special_rate=0.0))
        if dist['kind'] in ('uniform', 'magnitudes'):
            out.append(lambda m, i=i: m.nodes[i].attrs['dist'].update(kind='integers', lo=-3, hi=3))
    for i, n in enumerate(model.nodes):
        if n.op == 'scalar':
            out.append(lambda m, i=i: setattr(m.nodes[i], 'op', 'literal'))
    return out


def restrict_config(m, c):
    m.config_ids = (m.config_id(c),)
    for n in m.nodes:
        if n.op == 'input':
            n.attrs['dims'] = tuple(Dim(d.static, (d.sizes[c],)) for d in n.attrs['dims'])
    m.configs = 1


def smaller_dims(d):
    """Smaller extents for d, down to 1 (an empty tensor would hide most failures)."""
    top = max(d.sizes)
    for v in sorted({1, 2, top // 2}):
        if 1 <= v < top:
            yield Dim(None if d.static is None else v, tuple(min(s, v) for s in d.sizes))


def replace_dim(m, old, new):
    for n in m.nodes:
        if n.op == 'input':
            n.attrs['dims'] = tuple(new if d == old else d for d in n.attrs['dims'])


def signature_of(fails):
    config, mode, message = fails[0]
    return category(mode, message)


def shrink_seed(seed, avoid, tools, out_path=None, max_ops=9, grad_rate=0.0, half_rate=0.0):
    """Shrinks the model of `seed` (generated with the same --avoid, --max-ops, --grad-rate
    and --half-rate as when it failed) and writes the standalone program; for a gradient
    failure, the fuzz program of the smallest model (it needs support/ to build)."""
    objs = tools.support_objects()
    model = generate(seed, avoid, 1.0, max_ops, grad_rate, half_rate)
    output, error = run_models(tools, [model], objs, 'shrink_%d' % seed)
    if error:
        print('model %d does not compile; shrinking compile failures is not supported:\n%s'
              % (seed, error[-3000:]))
        return 1
    fails = failures(output).get(seed)
    if not fails:
        print('model %d does not fail' % seed)
        return 0
    want = signature_of(fails)
    print('model %d fails: %s %s' % (seed, fails[0][1], fails[0][2]))
    # Only the failing mode's switches stay on.
    if want[0] != 'inplace':
        model = rebuilt(model, lambda m: setattr(m, 'inplace', -1)) or model
    if want[0] != 'eager':
        model.eager = False
    tag = seed * 1000
    while True:
        variants = [v for v in (rebuilt(model, edit) for edit in candidates(model)) if v is not None]
        found = None
        for start in range(0, len(variants), CANDIDATES_PER_PROGRAM):
            chunk = variants[start:start + CANDIDATES_PER_PROGRAM]
            for v in chunk:
                tag += 1
                v.tag = tag
            output, error = run_models(tools, chunk, objs, 'shrink_%d' % seed)
            if error:
                continue
            results = failures(output)
            for v in chunk:
                f = results.get(v.tag)
                if f and any(category(mode, msg) == want for _, mode, msg in f):
                    found = v
                    break
            if found:
                break
        if not found:
            break
        model = found
        print('  %d nodes, %d configs' % (len(model.nodes), model.configs))
    model.tag = -1
    output, _ = run_models(tools, [model], objs, 'shrink_%d' % seed, ['--dump'])
    fails = failures(output)[seed]
    config, mode, message = next(f for f in fails if category(f[1], f[2]) == want)
    if mode.startswith('gradient'):
        text = program([model])
    else:
        text = standalone_program(model, output, config, mode, message)
    path = out_path or os.path.join(tools.build, 'repro_%d.cpp' % seed)
    with open(path, 'w') as f:
        f.write(text)
    print('minimal model of %d: %s' % (seed, path))
    print(text)
    return 0
