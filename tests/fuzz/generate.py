"""Random loom models from a seed: the same seed always gives the same model.

A model starts from a base shape (rank 0-4, static and dynamic extents, with run-time
values per size configuration: small, edge cases such as 0 and sizes off the SIMD width, and
sometimes large enough to cross loom's parallel threshold) and grows op by op; each op picks
operands from the values built so far (preferring recent ones, sometimes reusing older ones
to make a DAG) or new inputs whose shapes broadcast against them. Every op goes through
model.infer_node, so what loom would refuse is never kept.
"""

import copy
import random

from model import (ARITHMETIC_BINARY, ARITHMETIC_UNARY, COMPARISONS, DTYPES, FLOATING_BINARY,
                   FLOATING_UNARY, FLOATS, HALVES, OPAQUE, Dim, Invalid, Model, Node, infer,
                   infer_node, numel, prune, used_nodes)

# Known loom bugs, each a pattern the generator can leave out (see --avoid).
KNOWN_BUGS = {
    # Every bug the fuzzer found is fixed (docs/reliability.md); a new one gets a name here and
    # a check in Generator (`if 'name' in self.avoid: ...`) until its fix lands.
}

STATIC_SIZES = (1, 2, 3, 4, 5, 7, 8, 16, 17, 33, 63, 65)
SMALL_SIZES = (1, 2, 3, 4, 5)
EDGE_SIZES = (0, 1, 3, 7, 17, 63, 65, 130)
PARALLEL_THRESHOLD = 32768  # loom::cpu::parallel_threshold
# A broadcast of two large extents against each other ([n, 1] with [1, n]) squares them: the
# reference holds two doubles per element, and model 14446's 3e9 did not fit in memory. The
# largest value of the CMake corpus has 17.6 million.
MAX_ELEMENTS = 1 << 25

# Tracing builds nested expression types that hold an operand once per use, and composites
# use theirs several times (softmax: six), so a composite of a composite multiplies the type's
# size, and loom's compile time and memory with it (one such model took 5 GB to compile).
# The generator keeps the expanded size of each value under a budget.
EXPANSION = {'softmax': (6, 10), 'log_softmax': (6, 10), 'logsumexp': (7, 12),
             'layer_norm': (4, 8), 'gelu_tanh': (5, 10), 'cross_entropy': (6, 14)}
TREE_BUDGET = 120

THEMES = {
    # op family: weight, per theme
    'elementwise': dict(unary=4, binary=6, compare=2, where=2, cast=1, reduce=1, view=1, opaque=1),
    'reduce': dict(unary=2, binary=3, compare=1, where=1, cast=1, reduce=5, view=1, composite=1),
    'view': dict(unary=2, binary=3, reduce=1, view=6, cast=1, barrier=1),
    'matmul': dict(unary=2, binary=3, matmul=4, reduce=1, composite=2, view=1),
    'composite': dict(unary=1, binary=2, composite=5, reduce=1, view=1),
    'opaque': dict(unary=2, binary=3, opaque=4, call=2, hook=2, barrier=1, reduce=1),
    'mixed': dict(unary=3, binary=4, compare=1, where=1, cast=1, reduce=2, view=2, matmul=1,
                  composite=1, opaque=1, call=1, hook=1, barrier=1),
}


class Generator:
    def __init__(self, seed, avoid=(), eager_rate=1.0, max_ops=9, grad_rate=0.0):
        self.rng = random.Random(seed)
        self.seed = seed
        self.avoid = set(avoid)
        self.eager_rate = eager_rate
        self.grad_rate = grad_rate
        self.max_ops = max_ops
        self.configs = 2 if self.rng.random() < 0.65 else 3
        self.model = Model(seed, self.configs, [], [])
        self.slots = {'calls': 0, 'hooks': 0}
        self.consumed = set()
        self.tree = []   # the expanded expression size of each node

    # --- building blocks ------------------------------------------------------------------

    def add(self, op, args=(), **attrs):
        sizes = [self.tree[a] for a in args]
        factor, extra = EXPANSION.get(op, (1, 1))
        tree = factor * sizes[0] + sum(sizes[1:]) + extra if sizes else 1
        if tree > TREE_BUDGET:
            raise Invalid('the traced expression would be too large to compile quickly')
        node = Node(op, list(args), attrs)
        self.model.nodes.append(node)
        try:
            infer_node(self.model, node)
            if any(numel(node.shape, c) > MAX_ELEMENTS for c in range(self.configs)):
                raise Invalid('the value would be too large to hold')
        except Invalid:
            self.model.nodes.pop()
            raise
        self.consumed.update(args)
        self.tree.append(tree)
        return len(self.model.nodes) - 1

    def node(self, i):
        return self.model.nodes[i]

    def pool(self):
        return [i for i, n in enumerate(self.model.nodes)
                if not n.weak and not (n.attrs.get('impure') and i in self.consumed)]

    def pick(self, accept=lambda n: True):
        cands = [i for i in self.pool() if accept(self.node(i))]
        if not cands:
            raise Invalid('no operand fits')
        if self.rng.random() < 0.6:
            return max(cands)
        return self.rng.choice(cands)

    def constant(self):
        r = self.rng
        ctype = r.choice(('float', 'float', 'double', 'int', 'bool') if r.random() < 0.1
                         else ('float', 'float', 'double', 'int'))
        value = {'float': (0.5, 2.0, -1.5, 0.1, 3.0, 1e-3, 100.0, 0.0),
                 'double': (0.25, -2.5, 1e-2, 7.0),
                 'int': (2, 3, -1, 0, 7),
                 'bool': (True, False)}[ctype]
        op = 'literal' if r.random() < 0.3 else 'scalar'
        return self.add(op, ctype=ctype, value=r.choice(value))

    # --- shapes and inputs ----------------------------------------------------------------

    def base_shape(self):
        r = self.rng
        rank = r.choices((0, 1, 2, 3, 4), (1, 4, 7, 5, 3))[0]
        dims, total_static = [], 1
        for _ in range(rank):
            if r.random() < 0.5 and total_static < 512:
                s = r.choice(STATIC_SIZES)
                total_static *= s
                dims.append(Dim(s, (s,) * self.configs))
            else:
                sizes = [r.choice(SMALL_SIZES), r.choice(EDGE_SIZES if r.random() < 0.5 else SMALL_SIZES)]
                dims.append(Dim(None, tuple(sizes)))
        dyn = [d for d, dim in enumerate(dims) if dim.static is None]
        if self.configs == 3:
            # The third configuration: large where a dynamic extent allows it.
            big = r.choice(dyn) if dyn else None
            for d in dyn:
                sizes = list(dims[d].sizes)
                sizes.append(sizes[0] if d != big else 0)
                dims[d] = Dim(None, tuple(sizes))
            if big is not None:
                rest = 1
                for d, dim in enumerate(dims):
                    rest *= dim.sizes[2] if d != big else 1
                target = r.randint(PARALLEL_THRESHOLD + 1, 2 * PARALLEL_THRESHOLD)
                sizes = list(dims[big].sizes)
                sizes[2] = max(1, target // max(rest, 1))
                dims[big] = Dim(None, tuple(sizes))
        # Zero-sized configurations are edge cases: at most one axis, not always.
        return tuple(dims)

    def variant(self, shape):
        """A shape that broadcasts against `shape`: leading axes dropped, some extents 1."""
        r = self.rng
        drop = r.choice((0, 0, 0, 1, 2)) if shape else 0
        out = []
        for dim in shape[min(drop, len(shape)):]:
            roll = r.random()
            if roll < 0.2:
                dyn_one = r.random() < 0.3
                out.append(Dim(None if dyn_one else 1, (1,) * self.configs))
            elif dim.static is not None and roll < 0.3:
                out.append(Dim(None, dim.sizes))   # a dyn extent that is static elsewhere
            elif dim.static is None and len(set(dim.sizes)) == 1 and roll < 0.4:
                out.append(Dim(dim.sizes[0], dim.sizes))
            else:
                out.append(dim)
        return tuple(out)

    def new_input(self, shape, dtype=None):
        r = self.rng
        if dtype is None:
            dtype = r.choices(DTYPES, (1, 2, 6, 2))[0]
        index = len(self.model.inputs())
        return self.add('input', index=index, data_id=index, dtype=dtype, dims=tuple(shape), dist=None)

    def second_operand(self, x, accept=lambda n: True):
        r = self.rng
        roll = r.random()
        if roll < 0.25:
            return self.constant()
        if roll < 0.55:
            try:
                return self.pick(lambda n: accept(n) and self.broadcasts(n.shape, self.node(x).shape))
            except Invalid:
                pass
        return self.new_input(self.variant(self.node(x).shape), self.node(x).dtype if r.random() < 0.5 else None)

    @staticmethod
    def broadcasts(a, b):
        from model import broadcast
        try:
            broadcast(a, b)
            return True
        except Invalid:
            return False

    def float_operand(self):
        x = self.pick()
        if self.node(x).dtype not in FLOATS:
            x = self.add('cast', [x], to=self.rng.choice(FLOATS))
        return x

    def axes(self, rank, single=False):
        r = self.rng
        if rank == 0 or r.random() < 0.2:
            return None
        if single:
            chosen = [r.randrange(rank)]
        else:
            chosen = r.sample(range(rank), r.randint(1, rank))
        return [a - rank if r.random() < 0.4 else a for a in chosen]

    # --- op families --------------------------------------------------------------------

    def op_unary(self):
        x = self.pick()
        fn = self.rng.choice(ARITHMETIC_UNARY + FLOATING_UNARY)
        return self.add('unary', [x], fn=fn, spelling=self.rng.random() < 0.5)

    def op_cast(self):
        x = self.pick()
        to = self.rng.choice([t for t in DTYPES if t != self.node(x).dtype])
        return self.add('cast', [x], to=to)

    def op_binary(self, fns=ARITHMETIC_BINARY + FLOATING_BINARY):
        x = self.pick()
        y = self.second_operand(x)
        fn = self.rng.choice(fns)
        args = [x, y] if self.rng.random() < 0.7 else [y, x]
        return self.add('binary', args, fn=fn, spelling=self.rng.random() < 0.5)

    def op_compare(self):
        return self.op_binary(COMPARISONS)

    def op_where(self):
        r = self.rng
        try:
            # A non-bool condition is converted (non-zero is true).
            c = self.pick(lambda n: n.dtype == 'bool' or r.random() < 0.25)
        except Invalid:
            c = self.op_compare()
        a = self.second_operand(c)
        b = self.constant() if r.random() < 0.4 else self.second_operand(c)
        return self.add('where', [c, a, b])

    def op_reduce(self):
        r = self.rng
        x = self.pick()
        kind = r.choice(('sum', 'mean', 'max', 'min', 'prod', 'argmax'))
        rank = len(self.node(x).shape)
        return self.add('reduce', [x], kind=kind, axes=self.axes(rank, single=kind == 'argmax'),
                        keepdims=r.random() < 0.5, keep_first=r.random() < 0.5)

    def op_view(self):
        r = self.rng
        x = self.pick()
        shape = self.node(x).shape
        rank = len(shape)
        kind = r.choice(('reshape', 'permute', 'transpose', 'broadcast_to', 'slice'))
        if kind == 'permute':
            perm = list(range(rank))
            r.shuffle(perm)
            return self.add('permute', [x], perm=perm)
        if kind == 'transpose':
            return self.add('transpose', [x])
        if kind == 'slice':
            if not rank:
                raise Invalid('slice of rank 0')
            axis = r.randrange(rank)
            step = r.choice((1, 1, 2, 3))
            begin = r.choice((0, 1, -1, -3, 2, 100))
            end = r.choice((None, None, -1, 3, 1, -100, 1000))
            return self.add('slice', [x], axis=axis, begin=begin, end=end, step=step)
        if kind == 'broadcast_to':
            lead = r.choice((0, 0, 1, 2))
            dims = [r.choice((2, 3)) for _ in range(lead)]
            for dim in shape:
                if dim.static == 1 or set(dim.sizes) == {1}:
                    dims.append(r.choice((1, 2, 3, None)))
                elif dim.static is not None:
                    dims.append(r.choice((dim.static, None)))
                else:
                    dims.append(None)
            return self.add('broadcast_to', [x], dims=dims)
        return self.add('reshape', [x], dims=self.reshape_target(shape))

    def reshape_target(self, shape):
        """Merges or splits axes so that at most one extent is dyn."""
        r = self.rng
        dims = [d.static for d in shape]
        move = r.choice(('flatten', 'merge', 'split', 'unit'))
        if move == 'flatten' or not dims:
            return [None] if None in dims or r.random() < 0.5 else [self.product(dims)]
        if move == 'unit':
            at = r.randrange(len(dims) + 1)
            dims = dims[:at] + [1] + dims[at:]
        elif move == 'merge' and len(dims) >= 2:
            at = r.randrange(len(dims) - 1)
            pair = dims[at:at + 2]
            dims[at:at + 2] = [None if None in pair else pair[0] * pair[1]]
        elif move == 'split':
            at = r.randrange(len(dims))
            d = dims[at]
            if d is not None and d % 2 == 0:
                dims[at:at + 1] = [2, d // 2]
            elif d is not None and d % 3 == 0:
                dims[at:at + 1] = [d // 3, 3]
        while dims.count(None) > 1:
            i = dims.index(None)
            j = dims.index(None, i + 1)
            dims[i] = None
            del dims[j]
            dims = dims if len(dims) <= 4 else dims[:4]
        if r.random() < 0.3 and None not in dims and dims:
            dims[r.randrange(len(dims))] = None   # inferred
        return dims

    @staticmethod
    def product(dims):
        p = 1
        for d in dims:
            p *= d
        return p

    def op_matmul(self):
        r = self.rng
        a = self.pick(lambda n: len(n.shape) in (2, 3) and n.dtype in FLOATS)
        an = self.node(a)
        k = an.shape[-1]
        if k.static is None and len(set(k.sizes)) == 1 and r.random() < 0.3:
            k = Dim(k.sizes[0], k.sizes)
        n_static = r.choice((1, 3, 4, 8, 17, None))
        n = Dim(n_static, (n_static,) * self.configs) if n_static else \
            Dim(None, tuple(r.choice((1, 2, 5, 9)) for _ in range(self.configs)))
        batch = ()
        if r.random() < 0.3:
            batch = (an.shape[0],) if len(an.shape) == 3 and r.random() < 0.7 else \
                (Dim(1, (1,) * self.configs),) if len(an.shape) == 3 else (Dim(2, (2,) * self.configs),)
        if r.random() < 0.3:   # a transposed operand, read in place
            w = self.new_input(batch + (n, k), an.dtype)
            b = self.add('transpose', [w])
        else:
            b = self.new_input(batch + (k, n), an.dtype)
        product = self.add('matmul', [a, b])
        return self.epilogue(product, a) if r.random() < 0.6 else product

    def epilogue(self, product, a):
        """What usually follows a GEMM, fused as its epilogue: a bias, an activation, a
        residual."""
        r = self.rng
        out = product
        p = self.node(product)
        if r.random() < 0.7:
            bias = self.new_input(p.shape[-1:], p.dtype)
            out = self.add('binary', [out, bias], fn='add')
        if r.random() < 0.6:
            out = self.add('unary', [out], fn=r.choice(('relu', 'gelu', 'sigmoid', 'tanh')))
        if r.random() < 0.4 and [d.sizes for d in self.node(a).shape] == [d.sizes for d in p.shape]:
            out = self.add('binary', [out, a], fn='add')
        return out

    def op_composite(self):
        r = self.rng
        kind = r.choice(('softmax', 'log_softmax', 'logsumexp', 'layer_norm', 'gelu_tanh',
                         'mse_loss', 'cross_entropy'))
        x = self.float_operand()
        shape = self.node(x).shape
        rank = len(shape)
        if kind in ('softmax', 'log_softmax', 'logsumexp'):
            axes = self.axes(rank) if r.random() < 0.4 else None
            if axes is None and rank:
                axes = None
            attrs = dict(axes=axes)
            if kind == 'logsumexp':
                attrs['keepdims'] = r.random() < 0.5
            return self.add(kind, [x], **attrs)
        if kind == 'layer_norm':
            eps = r.choice((1e-5, 1e-3, 0.1))
            if r.random() < 0.5 or not shape:
                return self.add('layer_norm', [x], eps=eps)
            last = shape[-1:]
            g = self.new_input(last, self.node(x).dtype)
            b = self.new_input(last, self.node(x).dtype)
            return self.add('layer_norm', [x, g, b], eps=eps)
        if kind == 'gelu_tanh':
            return self.add('gelu_tanh', [x])
        if kind == 'mse_loss':
            t = self.second_operand(x, accept=lambda n: n.dtype in FLOATS)
            if self.node(t).weak or self.node(t).dtype not in FLOATS:
                t = self.new_input(shape, self.node(x).dtype)
            return self.add('mse_loss', [x, t])
        t = self.new_input(shape, self.node(x).dtype)
        self.node(t).attrs['role'] = 'probabilities'
        return self.add('cross_entropy', [x, t])

    def op_opaque(self):
        r = self.rng
        x = self.pick()
        dtype = self.node(x).dtype
        fns = [f for f, types in OPAQUE.items() if dtype in types]
        if not fns:
            raise Invalid('no callable for this dtype')
        fn = r.choice(fns)
        args = [x]
        attrs = dict(fn=fn)
        if fn == 'blend':
            args.append(self.second_operand(x, accept=lambda n: n.dtype in FLOATS))
        if fn == 'affine':
            attrs.update(scale=r.choice((1.5, -0.5, 2.0)), shift=r.choice((0.25, -1.0, 0.0)))
        if fn == 'tally':
            attrs.update(slot=self.take_slot('calls'), impure=True)
        return self.add('opaque', args, **attrs)

    def take_slot(self, kind):
        if self.slots[kind] >= 8:
            raise Invalid('no slot left')
        self.slots[kind] += 1
        return self.slots[kind] - 1

    def op_call(self):
        x = self.pick()
        if self.rng.random() < 0.5:
            return self.add('opaque_call', [x], fn='reverse_last')
        return self.add('opaque_call', [x], fn='record', slot=self.take_slot('calls'), impure=True)

    def op_hook(self):
        return self.add('hook', [self.pick()], slot=self.take_slot('hooks'))

    def op_barrier(self):
        return self.add('barrier', [self.pick()])

    # --- the model ----------------------------------------------------------------------

    def generate(self):
        r = self.rng
        theme = r.choice(list(THEMES))
        weights = THEMES[theme]
        base = self.base_shape()
        if theme == 'matmul' and len(base) not in (2, 3):
            base = base[-2:] if len(base) > 3 else base + (Dim(3, (3,) * self.configs),) * (2 - len(base))
        self.new_input(base, r.choice(FLOATS) if theme in ('matmul', 'composite') else None)
        steps = r.randint(2, 9)
        steps = min(steps, self.max_ops)
        done = 0
        for _ in range(steps * 6):
            if done == steps:
                break
            family = r.choices(list(weights), list(weights.values()))[0]
            try:
                getattr(self, 'op_' + family)()
                done += 1
            except Invalid:
                continue
        self.choose_outputs()
        model = prune(self.model)
        self.choose_inplace(model)
        self.choose_data(model)
        model.eager = r.random() < self.eager_rate
        model = infer(model)
        model.grad = r.random() < self.grad_rate and differentiable(model)
        return model

    def choose_outputs(self):
        r = self.rng
        candidates = [i for i, n in enumerate(self.model.nodes) if not n.weak and n.op != 'input']
        if not candidates:
            candidates = [i for i, n in enumerate(self.model.nodes) if not n.weak]
        outs = [candidates[-1]]
        for _ in range(r.choice((0, 0, 1, 2))):
            o = r.choice(candidates)
            if o not in outs:
                outs.append(o)
        self.model.outputs = outs

    def choose_inplace(self, model):
        if self.rng.random() < 0.4:
            return
        inputs = model.inputs()
        for pos, o in enumerate(model.outputs):
            out = model.nodes[o]
            for k, i in enumerate(inputs):
                inp = model.nodes[i]
                if out.dtype == inp.dtype and [d.sizes for d in out.shape] == [d.sizes for d in inp.shape] \
                        and o != i:
                    model.outputs.insert(0, model.outputs.pop(pos))
                    model.inplace = k
                    return

    def choose_data(self, model):
        r = self.rng
        sensitive = any(n.op in ('matmul', 'softmax', 'log_softmax', 'logsumexp', 'layer_norm',
                                 'cross_entropy', 'mse_loss') or
                        (n.op == 'reduce' and n.attrs['kind'] == 'prod') for n in model.nodes)
        for i in model.inputs():
            n = model.nodes[i]
            t = n.attrs['dtype']
            rate = 0.0 if (sensitive and r.random() < 0.7) or r.random() < 0.4 else \
                r.choice((0.02, 0.05, 0.1))
            if t == 'bool':
                d = dict(kind='bools', lo=r.choice((0.5, 0.2, 0.8)), hi=1)
            elif t == 'i32':
                span = r.choice((10, 10, 1000, 2 ** 31 - 1))
                d = dict(kind='integers', lo=-span, hi=span)
            elif n.attrs.get('role') == 'probabilities':
                d = dict(kind='uniform', lo=0, hi=1)
                rate = 0.0
            else:
                kind = r.choices(('uniform', 'integers', 'magnitudes'), (6, 1, 1))[0]
                if kind == 'uniform':
                    span = r.choice((1, 3, 3, 10, 100))
                    d = dict(kind='uniform', lo=-span, hi=span)
                elif kind == 'integers':
                    d = dict(kind='integers', lo=-3, hi=3)   # exact ties
                else:
                    d = dict(kind='magnitudes', lo=1e-3, hi=1e3)
            d['special_rate'] = rate
            n.attrs['dist'] = d


def differentiable(model):
    """Whether the gradient check applies: a floating-point input and output, no callable
    whose derivative a static member cannot give (affine's slope is its state), and no empty
    value in the first size configuration, where the check runs with every extent static.
    A reshape or broadcast_to with a `dyn` extent would bring one back, which a gradient
    through a broadcast refuses to compile unless named (the guide's rule), so such models
    are left out too."""
    nodes = model.nodes
    return (any(nodes[i].dtype in FLOATS for i in model.inputs()) and
            any(nodes[o].dtype in FLOATS for o in model.outputs) and
            not any(n.op == 'opaque' and n.attrs['fn'] == 'affine' for n in nodes) and
            not any(n.op in ('reshape', 'broadcast_to') and None in n.attrs['dims']
                    for n in nodes) and
            all(d.sizes[0] > 0 for n in nodes for d in n.shape))


def with_halves(model, rng):
    """The model with values stored in half precision: some of its f32 inputs and casts to
    f32 become bf16 or f16 (mostly one of them for the model; where the two meet they
    promote to f32). Models without gradient checks, since the check's tolerance is for f32
    and f64. The model itself where no variant is valid (no f32 value, or half values only
    where loom takes none)."""
    spots = [i for i, n in enumerate(model.nodes)
             if (n.op == 'input' and n.attrs['dtype'] == 'f32') or n.attrs.get('to') == 'f32']
    for _ in range(8 if spots else 0):
        m = copy.deepcopy(model)
        usual = rng.choice(HALVES)
        chosen = [i for i in spots if rng.random() < 0.75] or [rng.choice(spots)]
        for i in chosen:
            node = m.nodes[i]
            node.attrs['dtype' if node.op == 'input' else 'to'] = \
                usual if rng.random() < 0.8 else rng.choice(HALVES)
        m.grad = False
        for inplace in (m.inplace, -1):
            m.inplace = inplace
            try:
                return infer(m)
            except Invalid:
                continue
    return model


def generate(seed, avoid=(), eager_rate=1.0, max_ops=9, grad_rate=0.0, half_rate=0.0):
    """The model of `seed`; a seed whose random walk fails retries with a derived seed. A
    share `half_rate` of models hold half-precision values (their own random stream decides
    which and where, so that the other models stay as they were)."""
    for attempt in range(20):
        try:
            g = Generator(seed * 1000 + attempt if attempt else seed, avoid, eager_rate, max_ops,
                          grad_rate)
            model = g.generate()
            model.seed = seed
            break
        except Invalid:
            continue
    else:
        raise RuntimeError('no model for seed %d' % seed)
    halves = random.Random('halves %d' % seed)
    if half_rate > 0 and halves.random() < half_rate:
        model = with_halves(model, halves)
    return model
