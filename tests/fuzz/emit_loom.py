"""C++ for the loom side of a model: the generic lambda (traced by loom::compile and called
with tensors in eager mode) and the input declarations."""

from model import CPP_TYPE, FLOATS, SCALAR_DTYPE, sizes_of, static_of

OPERATORS = {'add': '+', 'sub': '-', 'mul': '*', 'div': '/', 'lt': '<', 'le': '<=',
             'gt': '>', 'ge': '>=', 'eq': '==', 'ne': '!='}
REDUCE_FN = {'sum': 'sum', 'mean': 'mean', 'max': 'max', 'min': 'min', 'prod': 'prod',
             'argmax': 'argmax'}
SLICE_TO_END = 1000000  # an End past every extent: slice<A, B, End, Step> clamps it


def extents(shape):
    return 'loom::extents<%s>' % ', '.join(
        'loom::dyn' if s is None else str(s) for s in static_of(shape))


def first_config_extents(shape):
    """The extents of the first size configuration, every one static."""
    return 'loom::extents<%s>' % ', '.join(str(s) for s in sizes_of(shape, 0))


def input_decl(node, extents_of=extents):
    return 'loom::input<%s, %s>{}' % (CPP_TYPE[node.dtype], extents_of(node.shape))


def tensor_type(node):
    return 'loom::tensor<%s, %s>' % (CPP_TYPE[node.dtype], extents(node.shape))


def type_string(node):
    """How fz::type_of prints a result's dtype and static extents."""
    return '%s[%s]' % (node.dtype, ', '.join('?' if s is None else str(s)
                                             for s in static_of(node.shape)))


def cpp_value(ctype, value):
    if ctype == 'bool':
        return 'true' if value else 'false'
    if ctype == 'int':
        return str(int(value))
    text = repr(float(value))
    return text + 'f' if ctype == 'float' else text


def axes_list(axes):
    return 'loom::axes<%s>' % ', '.join(str(a) for a in axes)


def name(model, i):
    n = model.nodes[i]
    if n.op == 'input':
        return 'x%d' % n.attrs['index']
    if n.op == 'scalar':
        return 's%d' % i
    if n.op == 'literal':
        return 'loom::lit<%s>' % cpp_value(n.attrs['ctype'], n.attrs['value'])
    return 'v%d' % i


def expression(model, i):
    n = model.nodes[i]
    a = n.attrs
    args = [name(model, k) for k in n.args]
    op = n.op
    if op == 'unary':
        if a['fn'] == 'neg' and a.get('spelling'):
            return '-' + args[0]
        return 'loom::%s(%s)' % (a['fn'], args[0])
    if op == 'cast':
        return 'loom::cast<%s>(%s)' % (CPP_TYPE[a['to']], args[0])
    if op == 'binary':
        if a['fn'] in OPERATORS:
            return '%s %s %s' % (args[0], OPERATORS[a['fn']], args[1])
        return 'loom::%s(%s, %s)' % (a['fn'], args[0], args[1])
    if op == 'where':
        return 'loom::where(%s)' % ', '.join(args)
    if op == 'reduce':
        options = []
        if a['axes'] is not None:
            options.append(axes_list(a['axes']))
        if a['keepdims']:
            options.insert(0 if a.get('keep_first') else len(options), 'loom::keepdims')
        return 'loom::%s(%s)' % (REDUCE_FN[a['kind']], ', '.join(args + options))
    if op == 'reshape':
        dims = ', '.join('loom::dyn' if d is None else str(d) for d in a['dims'])
        return 'loom::reshape<loom::extents<%s>>(%s)' % (dims, args[0])
    if op == 'broadcast_to':
        dims = ', '.join('loom::dyn' if d is None else str(d) for d in a['dims'])
        return 'loom::broadcast_to<loom::extents<%s>>(%s)' % (dims, args[0])
    if op == 'permute':
        return 'loom::permute<%s>(%s)' % (', '.join(map(str, a['perm'])), args[0])
    if op == 'transpose':
        return 'loom::transpose(%s)' % args[0]
    if op == 'slice':
        if a['end'] is None and a['step'] == 1:
            params = '%d, %d' % (a['axis'], a['begin'])
        else:
            end = SLICE_TO_END if a['end'] is None else a['end']
            params = '%d, %d, %d, %d' % (a['axis'], a['begin'], end, a['step'])
        return 'loom::slice<%s>(%s)' % (params, args[0])
    if op == 'matmul':
        return 'loom::matmul(%s, %s)' % tuple(args)
    if op in ('softmax', 'log_softmax', 'logsumexp'):
        options = [axes_list(a['axes'])] if a.get('axes') else []
        if a.get('keepdims'):
            options.append('loom::keepdims')
        return 'loom::%s(%s)' % (op, ', '.join(args + options))
    if op == 'layer_norm':
        return 'loom::layer_norm(%s, %r)' % (', '.join(args), a['eps'])
    if op in ('gelu_tanh', 'mse_loss', 'cross_entropy'):
        return 'loom::%s(%s)' % (op, ', '.join(args))
    if op == 'opaque':
        state = ''
        if a['fn'] == 'affine':
            state = '{%s, %s}' % (cpp_value('float', a['scale']), cpp_value('float', a['shift']))
        elif a['fn'] == 'tally':
            state = '{&ctx.calls[%d]}' % a['slot']
        return 'loom::allow_in_graph<fz::%s>{%s}(%s)' % (a['fn'], state, ', '.join(args))
    if op == 'opaque_call':
        state = '{&ctx.calls[%d]}' % a['slot'] if a['fn'] == 'record' else ''
        return 'loom::allow_in_graph<fz::%s>{%s}(%s)' % (a['fn'], state, args[0])
    if op == 'hook':
        return 'loom::hook(%s, fz::probe{&ctx.hooks[%d]})' % (args[0], a['slot'])
    if op == 'barrier':
        return 'loom::fusion_barrier(%s)' % args[0]
    raise AssertionError(op)


def uses_context(model):
    return any(n.op == 'hook' or n.attrs.get('impure') for n in model.nodes)


def model_lambda(model, indent='  '):
    """`auto f = [captures](auto x0, ...) { ... };` as lines."""
    captures = ['&ctx'] if uses_context(model) else []
    for i, n in enumerate(model.nodes):
        if n.op == 'scalar':
            captures.append('s%d = %s' % (i, cpp_value(n.attrs['ctype'], n.attrs['value'])))
    params = ', '.join('auto x%d' % k for k in range(len(model.inputs())))
    lines = ['auto f = [%s](%s) {' % (', '.join(captures), params)]
    for i, n in enumerate(model.nodes):
        if n.op in ('input', 'scalar', 'literal'):
            continue
        lines.append('  auto v%d = %s;' % (i, expression(model, i)))
    outs = [name(model, o) for o in model.outputs]
    result = outs[0] if len(outs) == 1 else 'std::make_tuple(%s)' % ', '.join(outs)
    lines.append('  return %s;' % result)
    lines.append('};')
    return [indent + line for line in lines]


def compile_call(model):
    decls = ', '.join(input_decl(model.nodes[i]) for i in model.inputs())
    return 'auto m = loom::compile(f%s);' % (', ' + decls if decls else '')


def scalar_dtype(node):
    return SCALAR_DTYPE[node.attrs['ctype']]


def gradient_operands(model):
    """The inputs differentiated (positions among the inputs) and the outputs that enter the
    loss (positions among the outputs): the floating-point ones."""
    wrt = [k for k, i in enumerate(model.inputs()) if model.nodes[i].dtype in FLOATS]
    losses = [p for p, o in enumerate(model.outputs) if model.nodes[o].dtype in FLOATS]
    return wrt, losses


def gradient_model(model):
    """Lines that define `gm`: loom::grad of sum(output * cotangent) over the model's
    floating-point outputs, compiled with the first size configuration's static extents."""
    wrt, losses = gradient_operands(model)
    xs = ['x%d' % k for k in range(len(model.inputs()))]
    cs = ['c%d' % j for j in range(len(losses))]
    terms = ' + '.join('loom::sum(std::get<%d>(o) * c%d)' % (p, j) for j, p in enumerate(losses))
    decls = [input_decl(model.nodes[i], first_config_extents) for i in model.inputs()]
    decls += ['loom::input<double, %s>{}' % first_config_extents(model.nodes[model.outputs[p]].shape)
              for p in losses]
    return ['auto loss = [f](%s) {' % ', '.join('auto ' + a for a in xs + cs),
            '  const auto o = fz::as_tuple(f(%s));' % ', '.join(xs),
            '  return %s;' % terms,
            '};',
            'auto gm = loom::compile(loom::grad(loss, loom::wrt<%s>), %s);' % (
                ', '.join(map(str, wrt)), ', '.join(decls))]
