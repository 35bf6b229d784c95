#!/usr/bin/env python3
"""Writes C++ programs of random loom models, each checked against the fuzzer's reference
interpreter.

  gen.py --seeds 1..300 --batch 75 --out DIR    DIR/fuzz_1_75.cpp, ... (one model per seed)
  gen.py --seeds 17 --describe                  prints what the model of seed 17 holds
  gen.py --seeds 1..10 --gpu --out DIR          .cu programs for the CUDA backend

--avoid NAME (repeatable, or `known`) leaves out a pattern of a known loom bug; --eager-rate
sets the share of models that also run eagerly (eager mode instantiates a loop per op, and a
one-node compiled model per view, matmul or call, which costs compile time); --half-rate the
share of models whose f32 values are partly stored as bf16 or f16.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import KNOWN_BUGS, generate  # noqa: E402
from program import describe, program  # noqa: E402


def parse_seeds(text):
    seeds = []
    for part in text.split(','):
        if '..' in part:
            lo, hi = part.split('..')
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def avoid_list(names):
    out = set()
    for n in names or ():
        if n == 'known':
            out.update(KNOWN_BUGS)
        elif n not in KNOWN_BUGS:
            raise SystemExit('gen.py: unknown --avoid %s (known: %s)' % (n, ', '.join(KNOWN_BUGS)))
        else:
            out.add(n)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seeds', required=True, help='A..B, or a comma-separated list')
    p.add_argument('--batch', type=int, default=25, help='models per program')
    p.add_argument('--out', default='.', help='directory for the programs')
    p.add_argument('--avoid', action='append', help='a known bug pattern to leave out, or `known`')
    p.add_argument('--eager-rate', type=float, default=1.0)
    p.add_argument('--grad-rate', type=float, default=0.0,
                   help='share of models whose loom::grad is checked too (not with --gpu)')
    p.add_argument('--half-rate', type=float, default=0.0,
                   help='share of models with bf16 or f16 values')
    p.add_argument('--max-ops', type=int, default=9, help='ops per model at most (2 to 9)')
    p.add_argument('--gpu', action='store_true', help='programs for loom::cuda (nvcc)')
    p.add_argument('--describe', action='store_true', help='print the models, write nothing')
    p.add_argument('--list', action='store_true', help='print the paths it would write, write nothing')
    args = p.parse_args()

    seeds = parse_seeds(args.seeds)
    avoid = avoid_list(args.avoid)
    ext = '.cu' if args.gpu else '.cpp'
    if args.list:
        for start in range(0, len(seeds), args.batch):
            chunk = seeds[start:start + args.batch]
            print(os.path.join(args.out, 'fuzz_%d_%d%s' % (chunk[0], chunk[-1], ext)))
        return
    # The CUDA backend takes no gradients' models here.
    grad_rate = 0.0 if args.gpu else args.grad_rate
    models = [generate(s, avoid, args.eager_rate, args.max_ops, grad_rate, args.half_rate)
              for s in seeds]
    if args.describe:
        for m in models:
            print(describe(m))
        return
    os.makedirs(args.out, exist_ok=True)
    for start in range(0, len(models), args.batch):
        chunk = models[start:start + args.batch]
        path = os.path.join(args.out, 'fuzz_%d_%d%s' % (chunk[0].seed, chunk[-1].seed, ext))
        text = program(chunk, args.gpu)
        # Leave an unchanged file alone, so that a rebuild recompiles nothing.
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, 'w') as f:
                f.write(text)
        print(path)


if __name__ == '__main__':
    main()
