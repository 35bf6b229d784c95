"""The fuzzer's model AST: a list of nodes in topological order, and loom's rules for their
dtypes and shapes, as the user guide states them (promotion, weak scalars, broadcasting,
reductions, views, matmul, composites).

A shape is a tuple of Dim: the static extent loom sees at compile time (None for loom::dyn)
and the run-time extent in each size configuration of the model. `infer` derives every
node's dtype and shape from the inputs and raises Invalid where loom would refuse the
model, so the generator and the shrinker only keep models that should compile and run.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# The dtypes the generator draws from. Half-precision dtypes come in afterwards, by
# generate.with_halves, so that models without them keep their random walk.
DTYPES = ('bool', 'i32', 'f32', 'f64')
HALVES = ('bf16', 'f16')
CPP_TYPE = {'bool': 'bool', 'i32': 'std::int32_t', 'f32': 'float', 'f64': 'double',
            'bf16': 'loom::bf16', 'f16': 'loom::f16'}
SCALAR_DTYPE = {'bool': 'bool', 'int': 'i32', 'float': 'f32', 'double': 'f64'}
FLOATS = ('f32', 'f64')
FLOATING = HALVES + FLOATS
# The guide's promotion order: bool < i32 < bf16, f16 < f32 < f64.
PROMOTION_RANK = {'bool': 0, 'i32': 1, 'bf16': 2, 'f16': 2, 'f32': 3, 'f64': 4}

ARITHMETIC_UNARY = ('neg', 'abs', 'square', 'relu')
FLOATING_UNARY = ('exp', 'log', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'gelu')
ARITHMETIC_BINARY = ('add', 'sub', 'mul', 'minimum', 'maximum')
FLOATING_BINARY = ('div', 'pow')
COMPARISONS = ('lt', 'le', 'gt', 'ge', 'eq', 'ne')
REDUCTIONS = ('sum', 'mean', 'max', 'min', 'prod', 'argmax')
# Element-wise allow_in_graph callables of support/callables.hpp: the dtypes they take (a
# half-precision value reaches them as a float, and their result is rounded to its dtype).
OPAQUE = {'softsign': FLOATING, 'affine': FLOATING, 'blend': FLOATING, 'widen': DTYPES + HALVES,
          'int_mix': ('i32',), 'tally': ('i32',) + FLOATING}
IMPURE = ('tally', 'record')
WHOLE_TENSOR = ('reverse_last', 'record')


class Invalid(Exception):
    """The op does not apply to these operands: loom would refuse it, or it would not run."""


def promote(a, b):
    if {a, b} == set(HALVES):
        return 'f32'   # bf16 with f16: neither holds the other's values
    return a if PROMOTION_RANK[a] >= PROMOTION_RANK[b] else b


def arithmetic(t):
    return 'i32' if t == 'bool' else t


def floating(t):
    return t if t in FLOATING else 'f32'


def weak_promote(strong, scalar):
    """The dtype a C++ scalar of dtype `scalar` takes beside tensors of dtype `strong`."""
    if scalar in FLOATS and strong not in FLOATING:
        return 'f32'
    if strong == 'bool' and scalar != 'bool':
        return 'i32'
    return strong


@dataclass(frozen=True)
class Dim:
    static: Optional[int]   # None: loom::dyn
    sizes: Tuple[int, ...]  # the run-time extent in each size configuration


@dataclass
class Node:
    op: str
    args: List[int] = field(default_factory=list)
    attrs: Dict = field(default_factory=dict)
    # Derived by infer():
    dtype: str = ''
    shape: Tuple[Dim, ...] = ()
    compute: str = ''                                    # dtype the operands convert to
    adopted: Dict[int, str] = field(default_factory=dict)  # weak operand -> its dtype

    @property
    def weak(self):
        return self.op in ('scalar', 'literal')


@dataclass
class Model:
    seed: int
    configs: int
    nodes: List[Node]
    outputs: List[int]
    inplace: int = -1   # the input that output 0 may overwrite in m.run(x, ...), or -1
    eager: bool = True
    # A shrunk model keeps its seed (which, with config_ids and each input's data_id, names
    # its data) and is told apart from its siblings by its tag.
    tag: int = -1
    config_ids: Tuple[int, ...] = ()
    grad: bool = False  # also check loom::grad of the model against finite differences

    def name(self):
        return self.seed if self.tag < 0 else self.tag

    def config_id(self, c):
        return self.config_ids[c] if self.config_ids else c

    def inputs(self):
        return [i for i, n in enumerate(self.nodes) if n.op == 'input']


def static_of(shape):
    return tuple(d.static for d in shape)


def sizes_of(shape, config):
    return tuple(d.sizes[config] for d in shape)


def numel(shape, config):
    n = 1
    for d in shape:
        n *= d.sizes[config]
    return n


def broadcast_dim(a, b):
    """loom's static rule (extents.hpp) and NumPy's run-time rule, in every configuration."""
    ea, eb = a.static, b.static
    if ea == eb or eb == 1:
        static = ea
    elif ea == 1:
        static = eb
    elif ea is None:
        static = eb
    elif eb is None:
        static = ea
    else:
        raise Invalid('static extents do not broadcast')
    sizes = []
    for x, y in zip(a.sizes, b.sizes):
        if x != y and x != 1 and y != 1:
            raise Invalid('run-time extents do not broadcast')
        sizes.append(y if x == 1 else x)
    if static is not None and any(s != static for s in sizes):
        raise Invalid('a dyn extent against a static one differs at run time')
    return Dim(static, tuple(sizes))


def broadcast(*shapes):
    rank = max((len(s) for s in shapes), default=0)
    result = None
    for s in shapes:
        padded = (None,) * (rank - len(s)) + tuple(s)
        if result is None:
            result = list(padded)
            continue
        for d in range(rank):
            if padded[d] is None:
                continue
            result[d] = padded[d] if result[d] is None else broadcast_dim(result[d], padded[d])
    if result is None:
        return ()
    configs = len(next(d for s in shapes for d in s).sizes) if rank else 0
    return tuple(d if d is not None else Dim(1, (1,) * configs) for d in result)


def axes_mask(rank, axes):
    """The bit mask of loom::axes<...> over `rank` axes; None means every axis."""
    if axes is None:
        return (1 << rank) - 1
    mask = 0
    for a in axes:
        if not -rank <= a < rank:
            raise Invalid('axis out of range')
        bit = 1 << (a % rank if rank else 0)
        if mask & bit:
            raise Invalid('axis named twice')
        mask |= bit
    return mask


def reduced_shape(shape, mask, keepdims):
    out = []
    for d, dim in enumerate(shape):
        if not (mask >> d) & 1:
            out.append(dim)
        elif keepdims:
            out.append(Dim(1, (1,) * len(dim.sizes)))
    return tuple(out)


def clamp_slice(n, begin, end, step):
    def clamp(i):
        if i < 0:
            i += n
        return max(0, min(n, i))
    b = clamp(begin)
    e = n if end is None else clamp(end)
    return b, (e - b + step - 1) // step if e > b else 0


def _strong(model, node):
    return [model.nodes[a] for a in node.args if not model.nodes[a].weak]


def _adopt(model, node, strong_args):
    """loom's weak scalars: each takes the promotion of the strong operands' dtypes."""
    if not strong_args:
        raise Invalid('an op needs a traced operand')
    strong = strong_args[0].dtype
    for n in strong_args[1:]:
        strong = promote(strong, n.dtype)
    types = []
    node.adopted = {}
    for k, a in enumerate(node.args):
        arg = model.nodes[a]
        if arg.weak:
            node.adopted[k] = weak_promote(strong, SCALAR_DTYPE[arg.attrs['ctype']])
            types.append(node.adopted[k])
        else:
            types.append(arg.dtype)
    return types


def _float_operand(x):
    if x.dtype not in FLOATING:
        raise Invalid('needs a floating-point operand')


def _infer_view(node, x, configs):
    op, a = node.op, node.attrs
    rank = len(x.shape)
    if op in ('permute', 'transpose'):
        if rank < 2 and op == 'transpose':
            raise Invalid('transpose needs rank 2')
        perm = a['perm'] if op == 'permute' else list(range(rank - 2)) + [rank - 1, rank - 2]
        if sorted(perm) != list(range(rank)):
            raise Invalid('not a permutation')
        return tuple(x.shape[p] for p in perm)
    if op == 'reshape':
        dims = a['dims']
        if sum(d is None for d in dims) > 1 or len(dims) > 4:
            raise Invalid('reshape: more than one dyn')
        known = 1
        for d in dims:
            known *= 1 if d is None else d
        static_in = static_of(x.shape)
        if None not in static_in and None not in dims:
            total = 1
            for d in static_in:
                total *= d
            if total != known:
                raise Invalid('reshape: element counts differ')
        n_cfg = configs
        inferred = []
        for c in range(n_cfg):
            size = numel(x.shape, c)
            if None in dims:
                inner = 0 if known == 0 else size // known
                if inner * known != size:
                    raise Invalid('reshape does not fit at run time')
                inferred.append(inner)
            elif size != known:
                raise Invalid('reshape does not fit at run time')
        return tuple(Dim(None, tuple(inferred)) if d is None else Dim(d, (d,) * n_cfg) for d in dims)
    if op == 'broadcast_to':
        dims = a['dims']
        if len(dims) < rank or len(dims) > 4:
            raise Invalid('broadcast_to: rank')
        lead = len(dims) - rank
        n_cfg = configs
        out = []
        for d, to in enumerate(dims):
            frm = x.shape[d - lead] if d >= lead else Dim(1, (1,) * n_cfg)
            if to is None and d < lead:
                raise Invalid('broadcast_to: dyn on a new axis')
            if to is not None and frm.static not in (None, 1, to):
                raise Invalid('broadcast_to: static extents')
            sizes = tuple(s if to is None else to for s in frm.sizes)
            if any(f not in (1, t) for f, t in zip(frm.sizes, sizes)):
                raise Invalid('broadcast_to does not fit at run time')
            out.append(Dim(to, sizes))
        return tuple(out)
    if op == 'slice':
        axis = a['axis']
        if axis >= rank:
            raise Invalid('slice axis')
        if a['step'] <= 0:
            raise Invalid('slice step')
        dim = x.shape[axis]
        sizes = tuple(clamp_slice(s, a['begin'], a['end'], a['step'])[1] for s in dim.sizes)
        static = None if dim.static is None else clamp_slice(dim.static, a['begin'], a['end'], a['step'])[1]
        return x.shape[:axis] + (Dim(static, sizes),) + x.shape[axis + 1:]
    raise AssertionError(op)


def _infer_matmul(a, b):
    if a.dtype != b.dtype or a.dtype not in FLOATING:
        raise Invalid('matmul: one floating dtype')
    ra, rb = len(a.shape), len(b.shape)
    if ra not in (2, 3) or rb not in (2, 3):
        raise Invalid('matmul: rank')
    k1, k2 = a.shape[-1], b.shape[-2]
    if k1.static is not None and k2.static is not None and k1.static != k2.static:
        raise Invalid('matmul: inner extents')
    if k1.sizes != k2.sizes:
        raise Invalid('matmul: inner extents at run time')
    shape = (a.shape[-2], b.shape[-1])
    if ra == 3 or rb == 3:
        one = Dim(1, (1,) * len(k1.sizes))
        ba, bb = (a.shape[0] if ra == 3 else one), (b.shape[0] if rb == 3 else one)
        if ba.static is not None and bb.static is not None and ba.static != bb.static \
                and 1 not in (ba.static, bb.static):
            raise Invalid('matmul: batch extents')
        if any(x != y and 1 not in (x, y) for x, y in zip(ba.sizes, bb.sizes)):
            raise Invalid('matmul: batch at run time')
        s = ba.static, bb.static
        static = s[1] if s[0] == 1 else s[0] if s[1] == 1 else s[1] if s[0] is None else s[0]
        sizes = tuple(y if x == 1 else x for x, y in zip(ba.sizes, bb.sizes))
        if static is not None and any(v != static for v in sizes):
            raise Invalid('matmul: batch extent differs at run time')
        shape = (Dim(static, sizes),) + shape
    return shape


def infer_node(model, node):
    op, a = node.op, node.attrs
    args = [model.nodes[i] for i in node.args]
    node.compute = ''
    node.adopted = {}
    if op == 'input':
        node.dtype, node.shape = a['dtype'], tuple(a['dims'])
    elif op in ('scalar', 'literal'):
        node.dtype, node.shape = 'weak', ()
    elif op == 'unary':
        x = args[0]
        node.dtype = arithmetic(x.dtype) if a['fn'] in ARITHMETIC_UNARY else floating(x.dtype)
        node.compute, node.shape = node.dtype, x.shape
    elif op == 'cast':
        node.dtype, node.compute, node.shape = a['to'], args[0].dtype, args[0].shape
    elif op in ('binary', 'opaque'):
        types = _adopt(model, node, _strong(model, node))
        p = types[0]
        for t in types[1:]:
            p = promote(p, t)
        node.shape = broadcast(*[x.shape for x in args])
        if op == 'opaque':
            fn = a['fn']
            if any(t not in OPAQUE[fn] for t in types):
                raise Invalid('opaque: dtype')
            if len(args) != (2 if fn == 'blend' else 1):
                raise Invalid('opaque: arity')
            node.dtype = 'f64' if fn == 'widen' else types[0]
            node.compute = types[0]
        elif a['fn'] in COMPARISONS:
            node.dtype, node.compute = 'bool', p
        elif a['fn'] in FLOATING_BINARY:
            node.dtype = node.compute = floating(p)
        else:
            node.dtype = node.compute = arithmetic(p)
    elif op == 'where':
        # The guide: "where(c, a, b) gives the promotion of a and b"; weak a or b adopt it.
        c, x, y = args
        if c.weak:
            raise Invalid('where: the condition is a tensor here')
        strong = [n for n in (x, y) if not n.weak] or [c]
        types = _adopt(model, node, strong)
        node.adopted.pop(0, None)
        node.dtype = node.compute = promote(types[1], types[2])
        node.shape = broadcast(*[n.shape for n in args])
    elif op == 'reduce':
        x = args[0]
        mask = axes_mask(len(x.shape), a['axes'])
        kind = a['kind']
        if kind == 'argmax' and bin(mask).count('1') > 1 and mask != (1 << len(x.shape)) - 1:
            raise Invalid('argmax: one axis or all')
        node.dtype = {'mean': floating(x.dtype), 'argmax': 'i32'}.get(kind, arithmetic(x.dtype))
        node.compute = floating(x.dtype) if kind == 'mean' else arithmetic(x.dtype)
        node.shape = reduced_shape(x.shape, mask, a['keepdims'])
    elif op in ('reshape', 'permute', 'transpose', 'broadcast_to', 'slice'):
        node.dtype, node.shape = args[0].dtype, _infer_view(node, args[0], model.configs)
    elif op == 'matmul':
        node.dtype, node.shape = args[0].dtype, _infer_matmul(args[0], args[1])
    elif op in ('softmax', 'log_softmax', 'logsumexp', 'gelu_tanh'):
        x = args[0]
        _float_operand(x)
        node.dtype = x.dtype
        if op == 'gelu_tanh':
            node.shape = x.shape
        else:
            if not x.shape:
                raise Invalid('composite of rank 0')
            mask = axes_mask(len(x.shape), a.get('axes') or [-1])
            keep = op != 'logsumexp' or a.get('keepdims', False)
            node.shape = reduced_shape(x.shape, mask, keep) if op == 'logsumexp' else x.shape
    elif op == 'layer_norm':
        x = args[0]
        _float_operand(x)
        if not x.shape:
            raise Invalid('layer_norm of rank 0')
        node.dtype, node.shape = x.dtype, x.shape
        if len(args) == 3:
            for g in args[1:]:
                if g.weak or g.dtype == 'bool':
                    raise Invalid('layer_norm: gamma and beta are tensors')
            node.dtype = arithmetic(promote(promote(x.dtype, args[1].dtype), args[2].dtype))
            node.shape = broadcast(x.shape, args[1].shape, args[2].shape)
    elif op == 'mse_loss':
        p, t = args
        _float_operand(p)
        _float_operand(t)
        broadcast(p.shape, t.shape)
        node.dtype, node.shape = promote(p.dtype, t.dtype), ()
    elif op == 'cross_entropy':
        logits, target = args
        _float_operand(logits)
        _float_operand(target)
        if not logits.shape or len(target.shape) > len(logits.shape):
            raise Invalid('cross_entropy: shapes')
        broadcast(logits.shape, target.shape)
        node.dtype, node.shape = promote(logits.dtype, target.dtype), ()
    elif op == 'opaque_call':
        x = args[0]
        if x.weak:
            raise Invalid('whole-tensor call on a scalar')
        node.dtype, node.shape = x.dtype, x.shape
    elif op in ('hook', 'barrier'):
        if args[0].weak:
            raise Invalid('hook of a scalar')
        node.dtype, node.shape = args[0].dtype, args[0].shape
    else:
        raise AssertionError(op)
    if op not in ('scalar', 'literal') and any(n.weak for n in args) and op not in ('binary', 'opaque', 'where'):
        raise Invalid(op + ' takes no scalar')
    if len(node.shape) > 4:
        raise Invalid('rank above 4')


def infer(model):
    """Derives every node's dtype and shape; raises Invalid where loom would refuse."""
    for i, node in enumerate(model.nodes):
        if any(a >= i for a in node.args):
            raise Invalid('not topological')
        infer_node(model, node)
    if not model.outputs or any(model.nodes[o].weak for o in model.outputs):
        raise Invalid('outputs must be traced values')
    if len(set(model.outputs)) != len(model.outputs):
        raise Invalid('an output twice')
    if model.inplace >= 0:
        out, inp = model.nodes[model.outputs[0]], model.nodes[model.inputs()[model.inplace]]
        if out.dtype != inp.dtype or [d.sizes for d in out.shape] != [d.sizes for d in inp.shape]:
            raise Invalid('in-place: the output is not the input\'s dtype and shape')
    return model


def used_nodes(model):
    """The nodes the outputs depend on (tracing keeps only those)."""
    used = set()
    stack = list(model.outputs)
    while stack:
        i = stack.pop()
        if i not in used:
            used.add(i)
            stack.extend(model.nodes[i].args)
    return used


def prune(model):
    """Drops the nodes no output uses, renumbering the rest (inputs keep their order)."""
    used = used_nodes(model)
    keep = [i for i in range(len(model.nodes)) if i in used]
    old_inputs = model.inputs()
    new_index = {old: new for new, old in enumerate(keep)}
    nodes = []
    for old in keep:
        n = model.nodes[old]
        nodes.append(Node(n.op, [new_index[a] for a in n.args], dict(n.attrs)))
    inputs_kept = [i for i in old_inputs if i in used]
    inplace = -1
    if model.inplace >= 0 and old_inputs[model.inplace] in used:
        inplace = inputs_kept.index(old_inputs[model.inplace])
    for k, i in enumerate(inputs_kept):
        nodes[new_index[i]].attrs['index'] = k
    pruned = Model(model.seed, model.configs, nodes, [new_index[o] for o in model.outputs],
                   inplace, model.eager, model.tag, model.config_ids, model.grad)
    return infer(pruned)
