"""C++ for the reference side of a model: one call of the reference interpreter
(support/reference.hpp) per node, with the dtypes model.infer derived, and the
expectations (results, side effects) a case is checked against."""

from emit_loom import SLICE_TO_END, cpp_value, type_string
from model import CPP_TYPE, arithmetic, axes_mask, promote

DT = {'bool': 'fz::ref::dtype::boolean', 'i32': 'fz::ref::dtype::i32',
      'f32': 'fz::ref::dtype::f32', 'f64': 'fz::ref::dtype::f64',
      'bf16': 'fz::ref::dtype::bf16', 'f16': 'fz::ref::dtype::f16'}
REDUCTION = {k: 'fz::ref::reduction::' + k for k in ('sum', 'mean', 'prod', 'max', 'min')}


def uint_list(values):
    return '{%s}' % ', '.join('fz::ref::any' if v is None else str(v) for v in values)


class ReferenceEmitter:
    """`leaf` spells input k's reference tensor: from the case's tensor x<k>, or from the
    argument of the reference function the gradient check calls."""

    def __init__(self, model, leaf='fz::leaf(x%d)'):
        self.model = model
        self.leaf = leaf
        self.lines = []
        self.temps = 0

    def emit(self, text):
        self.lines.append(text)

    def temp(self, expr):
        self.temps += 1
        self.emit('const fz::ref::tensor t%d = %s;' % (self.temps, expr))
        return 't%d' % self.temps

    def operand(self, i, k):
        """Operand k of node i: its tensor, or a weak scalar as the dtype it adopts."""
        node = self.model.nodes[i]
        arg = self.model.nodes[node.args[k]]
        if arg.weak:
            value = cpp_value(arg.attrs['ctype'], arg.attrs['value'])
            return self.temp('fz::adopted<%s>(%s)' % (CPP_TYPE[node.adopted[k]], value))
        return 'r%d' % node.args[k]

    def map(self, fn, result, compute, operands, params=''):
        return 'fz::ref::map(fz::ref::fn::%s, %s, %s, {%s}%s)' % (
            fn, DT[result], DT[compute], ', '.join('&' + o for o in operands), params)

    def node(self, i):
        n = self.model.nodes[i]
        a = n.attrs
        op = n.op
        ops = [self.operand(i, k) for k in range(len(n.args))]
        rank = len(self.model.nodes[n.args[0]].shape) if n.args else 0
        if op == 'input':
            return self.leaf % a['index']
        if op in ('unary', 'binary'):
            return self.map(a['fn'], n.dtype, n.compute, ops)
        if op == 'cast':
            return self.map('cast', n.dtype, n.compute, ops)
        if op == 'where':
            return 'fz::ref::where(%s, %s)' % (DT[n.dtype], ', '.join(ops))
        if op == 'reduce':
            mask = axes_mask(rank, a['axes'])
            keep = 'true' if a['keepdims'] else 'false'
            if a['kind'] == 'argmax':
                return 'fz::ref::argmax(%s, %d, %s)' % (ops[0], mask, keep)
            return 'fz::ref::reduce(%s, %s, %s, %s, %d, %s)' % (
                REDUCTION[a['kind']], DT[n.dtype], DT[n.compute], ops[0], mask, keep)
        if op == 'reshape':
            return 'fz::ref::reshape(%s, %s)' % (ops[0], uint_list(a['dims']))
        if op == 'broadcast_to':
            return 'fz::ref::broadcast_to(%s, %s)' % (ops[0], uint_list(a['dims']))
        if op in ('permute', 'transpose'):
            perm = a['perm'] if op == 'permute' else list(range(rank - 2)) + [rank - 1, rank - 2]
            return 'fz::ref::permute(%s, %s)' % (ops[0], uint_list(perm))
        if op == 'slice':
            end = SLICE_TO_END if a['end'] is None else a['end']
            return 'fz::ref::slice(%s, %d, %d, %d, %d)' % (ops[0], a['axis'], a['begin'], end, a['step'])
        if op == 'matmul':
            return 'fz::ref::matmul(%s, %s, %s)' % (DT[n.dtype], ops[0], ops[1])
        if op in ('softmax', 'log_softmax'):
            return 'fz::ref::%s(%s, %d)' % (op, ops[0], axes_mask(rank, a.get('axes') or [-1]))
        if op == 'logsumexp':
            return 'fz::ref::logsumexp(%s, %d, %s)' % (
                ops[0], axes_mask(rank, a.get('axes') or [-1]), 'true' if a.get('keepdims') else 'false')
        if op == 'gelu_tanh':
            return self.map('gelu_tanh', n.dtype, n.dtype, ops)
        if op == 'layer_norm':
            return self.layer_norm(n, ops)
        if op == 'mse_loss':
            return self.mse_loss(n, ops)
        if op == 'cross_entropy':
            return self.cross_entropy(n, ops)
        if op == 'opaque':
            params = ''
            if a['fn'] == 'affine':
                params = ', {double(%s), double(%s)}' % (
                    cpp_value('float', a['scale']), cpp_value('float', a['shift']))
            fn = 'twice' if a['fn'] == 'tally' else a['fn']
            return self.map(fn, n.dtype, n.compute, ops, params)
        if op == 'opaque_call':
            return 'fz::ref::reverse_last(%s)' % ops[0] if a['fn'] == 'reverse_last' else ops[0]
        if op in ('hook', 'barrier'):
            return ops[0]
        raise AssertionError(op)

    # Composites the reference builds from its own primitives, as loom's guide defines them.

    def layer_norm(self, n, ops):
        x = self.model.nodes[n.args[0]]
        core = 'fz::ref::layer_norm(%s, %r)' % (ops[0], n.attrs['eps'])
        if len(ops) == 1:
            return core
        g, b = (self.model.nodes[k] for k in n.args[1:])
        t1 = arithmetic(promote(x.dtype, g.dtype))
        scaled = self.temp(self.map('mul', t1, t1, [self.temp(core), ops[1]]))
        return self.map('add', n.dtype, n.dtype, [scaled, ops[2]])

    def mse_loss(self, n, ops):
        t = n.dtype
        diff = self.temp(self.map('sub', t, t, ops))
        sq = self.temp(self.map('square', t, t, [diff]))
        return 'fz::ref::reduce(%s, %s, %s, %s, %s.shape.size() ? (1u << %s.shape.size()) - 1 : 0, false)' % (
            REDUCTION['mean'], DT[t], DT[t], sq, sq, sq)

    def cross_entropy(self, n, ops):
        t = n.dtype
        logits = self.model.nodes[n.args[0]]
        ls = self.temp('fz::ref::log_softmax(%s, %d)' % (ops[0], 1 << (len(logits.shape) - 1)))
        prod = self.temp(self.map('mul', t, t, [ops[1], ls]))
        rows = self.temp('fz::ref::reduce(%s, %s, %s, %s, 1u << (%s.shape.size() - 1), false)' % (
            REDUCTION['sum'], DT[t], DT[t], prod, prod))
        mean = self.temp('fz::ref::reduce(%s, %s, %s, %s, (1u << %s.shape.size()) - 1, false)' % (
            REDUCTION['mean'], DT[t], DT[t], rows, rows))
        return self.map('neg', t, t, [mean])

    def values(self, effects=False):
        """Lines that compute every node; with `effects`, also what each case expects of its
        hooks and impure calls."""
        for i, n in enumerate(self.model.nodes):
            if n.weak:
                continue
            self.emit('const fz::ref::tensor r%d = %s;' % (i, self.node(i)))
            if effects and n.op == 'hook':
                self.emit('want.hooks.push_back({%d, r%d});' % (n.attrs['slot'], i))
            if effects and n.attrs.get('impure'):
                per_run = 'r%d.size()' % i if n.op == 'opaque' else '1'
                self.emit('want.calls.push_back({%d, long(%s)});' % (n.attrs['slot'], per_run))
        return self.lines

    def body(self):
        """Lines that compute every node and fill `want`."""
        self.values(effects=True)
        self.emit('want.outputs = {%s};' % ', '.join('r%d' % o for o in self.model.outputs))
        return self.lines


def expectation_lines(model):
    types = ', '.join('"%s"' % type_string(model.nodes[o]) for o in model.outputs)
    lines = ['fz::expectation want;', 'want.types = {%s};' % types, 'try {']
    lines += ['  ' + line for line in ReferenceEmitter(model).body()]
    lines += ['} catch (const fz::ref::no_value&) {', '  want.throws = true;', '}']
    return lines


def reference_function(model):
    """`const fz::reference_fn reference = ...;`: the model's reference as a function of its
    inputs' tensors, giving node i's tensor at position i (an empty one for a scalar)."""
    lines = ['const fz::reference_fn reference = [](const std::vector<fz::ref::tensor>& x) {']
    lines += ['  ' + line for line in ReferenceEmitter(model, 'x[%d]').values()]
    nodes = ', '.join('fz::ref::tensor{}' if n.weak else 'r%d' % i
                      for i, n in enumerate(model.nodes))
    lines += ['  return std::vector<fz::ref::tensor>{%s};' % nodes, '};']
    return lines
