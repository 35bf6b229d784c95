"""Generates, builds and runs batches of fuzz programs, and adds up what they report.
run.sh is its front door; see `run.sh --help`."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from gen import avoid_list, parse_seeds  # noqa: E402
from generate import generate  # noqa: E402
from program import program  # noqa: E402

SUPPORT = ('session', 'harness', 'gradient', 'reference_elementwise', 'reference_reduce',
           'reference_views', 'reference_matmul', 'reference_composites')
SUMMARY = re.compile(r'fuzz: (\d+) models, (\d+) checks, (\d+) mismatches')
GRADIENTS = re.compile(r'(\d+) gradients compared, (\d+) left out, (\d+) refused')


def eigen_include():
    try:
        out = subprocess.run(['pkg-config', '--cflags-only-I', 'eigen3'], capture_output=True,
                             text=True, check=True).stdout.split()
        return [f for f in out if f.startswith('-I')]
    except (OSError, subprocess.CalledProcessError):
        return ['-I/usr/include/eigen3']


class Toolchain:
    """The compiler, its flags, and the support objects built with them."""

    def __init__(self, build, sanitize=False, gpu=False, opt='-O1'):
        self.build = build
        self.gpu = gpu
        includes = ['-I' + os.path.join(ROOT, 'include'), '-I' + os.path.join(HERE, 'support')] + eigen_include()
        common = ['-std=c++20', opt, '-w'] + includes
        self.cxx = [os.environ.get('CXX', 'g++')] + common + ['-march=native', '-fopenmp']
        self.link_flags = ['-fopenmp']
        if sanitize:
            san = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-D_GLIBCXX_ASSERTIONS']
            self.cxx += san
            self.link_flags += san[:2]
        self.nvcc = ['nvcc', '-std=c++20', '--expt-relaxed-constexpr', '-arch=sm_90',
                     '-Xcudafe', '--diag_suppress=20012', opt, '-Xcompiler', '-fopenmp,-march=native'] + \
            includes + ['-w']

    def run(self, cmd):
        return subprocess.run(['nice', '-n', '5'] + cmd, capture_output=True, text=True)

    def support_objects(self):
        objs = []
        for name in SUPPORT:
            src = os.path.join(HERE, 'support', name + '.cpp')
            obj = os.path.join(self.build, name + '.o')
            deps = [src] + [os.path.join(HERE, 'support', h) for h in os.listdir(os.path.join(HERE, 'support'))]
            if not os.path.exists(obj) or os.path.getmtime(obj) < max(map(os.path.getmtime, deps)):
                r = self.run(self.cxx + ['-c', src, '-o', obj])
                if r.returncode:
                    raise SystemExit('fuzz: building %s failed:\n%s' % (src, r.stderr[-4000:]))
            objs.append(obj)
        return objs

    def build_program(self, src, exe, objs):
        """Compiles and links; the compiler's output on failure, else None."""
        obj = exe + '.o'
        if self.gpu:
            r = self.run(self.nvcc + ['-c', src, '-o', obj])
            if r.returncode == 0:
                r = self.run(['nvcc', obj] + objs + ['-lcublas', '-Xcompiler', '-fopenmp', '-o', exe])
        else:
            r = self.run(self.cxx + ['-c', src, '-o', obj])
            if r.returncode == 0:
                r = self.run([self.cxx[0], obj] + objs + self.link_flags + ['-o', exe])
        return None if r.returncode == 0 else r.stdout + r.stderr


class Totals:
    def __init__(self):
        self.models = self.checks = self.mismatches = 0
        self.gradients = [0, 0, 0]  # compared, left out, refused (support/gradient.hpp)
        self.failing, self.compile_failures, self.crashes = set(), [], []

    def add(self, output):
        m = SUMMARY.search(output)
        if m:
            self.models += int(m.group(1))
            self.checks += int(m.group(2))
            self.mismatches += int(m.group(3))
        g = GRADIENTS.search(output)
        if g:
            self.gradients = [t + int(n) for t, n in zip(self.gradients, g.groups())]
        for line in output.splitlines():
            f = re.match(r'FAIL model (\d+)', line)
            if f:
                self.failing.add(int(f.group(1)))


def write_program(models, path, gpu):
    text = program(models, gpu)
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, 'w') as f:
            f.write(text)


def run_batch(tools, models, objs, args, totals, log):
    name = 'fuzz_%d_%d' % (models[0].seed, models[-1].seed)
    src = os.path.join(tools.build, name + ('.cu' if tools.gpu else '.cpp'))
    exe = os.path.join(tools.build, name)
    write_program(models, src, tools.gpu)
    t0 = time.time()
    error = tools.build_program(src, exe, objs)
    built = time.time() - t0
    if error:
        # Find the models that do not compile, one program each.
        if len(models) == 1:
            totals.compile_failures.append((models[0].seed, error[-3000:]))
            log('COMPILE-FAIL model %d (%s)' % (models[0].seed, src))
            return
        log('%s: does not compile (%s); building its models one by one'
            % (name, error.strip().splitlines()[-1][:200] if error.strip() else 'no output'))
        for m in models:
            run_batch(tools, [m], objs, args, totals, log)
        return
    if tools.gpu and not args.gpu_run:
        log('%s: built in %.0f s (GPU programs are only built here)' % (name, built))
        totals.models += len(models)
        return
    t0 = time.time()
    env = dict(os.environ, ASAN_OPTIONS='detect_leaks=0')
    r = subprocess.run([exe] + args.program_args, capture_output=True, text=True, env=env)
    out = r.stdout + r.stderr
    totals.add(out)
    for line in out.splitlines():
        if line.startswith('FAIL') or 'runtime error' in line or 'ERROR: AddressSanitizer' in line:
            log(line)
    if r.returncode not in (0, 1) or not SUMMARY.search(out):
        totals.crashes.append((name, r.returncode, out[-3000:]))
        log('CRASH %s (exit %d): %s' % (name, r.returncode, out[-2000:]))
    log('%s: built in %.0f s, ran in %.1f s' % (name, built, time.time() - t0))
    if not args.keep:
        for path in (exe, exe + '.o'):
            if os.path.exists(path):
                os.remove(path)


def main():
    p = argparse.ArgumentParser(prog='run.sh', description='Random-model differential fuzzing of loom.')
    p.add_argument('--seeds', help='A..B or a comma-separated list')
    p.add_argument('--jobs', type=int, default=1, help='programs built at once')
    p.add_argument('--batch', type=int, default=25, help='models per program')
    p.add_argument('--build', default=os.path.join(ROOT, 'build-fuzz', 'run'))
    p.add_argument('--sanitize', action='store_true', help='ASan, UBSan and _GLIBCXX_ASSERTIONS')
    p.add_argument('--gpu', action='store_true', help='build for loom::cuda with nvcc')
    p.add_argument('--gpu-run', action='store_true', help='with --gpu: also run (needs a GPU)')
    p.add_argument('--avoid', action='append', help='a known bug pattern to leave out, or `known`')
    p.add_argument('--eager-rate', type=float, default=1.0)
    p.add_argument('--grad-rate', type=float, default=0.0,
                   help='share of models whose loom::grad is checked too (not with --gpu)')
    p.add_argument('--half-rate', type=float, default=0.0,
                   help='share of models with bf16 or f16 values')
    p.add_argument('--max-ops', type=int, default=9, help='ops per model at most (2 to 9)')
    p.add_argument('--keep', action='store_true', help='keep the executables')
    p.add_argument('--shrink', metavar='SEED', type=int, help='shrink the failing model of SEED')
    p.add_argument('--out', help='with --shrink: where to write the standalone program')
    p.add_argument('program_args', nargs='*', help='passed to each program (after --)')
    args = p.parse_args()
    build = os.path.join(args.build, 'sanitize' if args.sanitize else 'gpu' if args.gpu else 'plain')
    os.makedirs(build, exist_ok=True)
    tools = Toolchain(build, args.sanitize, args.gpu)
    avoid = avoid_list(args.avoid)
    if args.shrink is not None:
        from shrink import shrink_seed
        return shrink_seed(args.shrink, avoid, tools, args.out, args.max_ops, args.grad_rate,
                           args.half_rate)
    if not args.seeds:
        p.error('--seeds or --shrink is needed')
    if args.gpu and not shutil.which('nvcc'):
        raise SystemExit('fuzz: --gpu needs nvcc on PATH')
    seeds = parse_seeds(args.seeds)
    objs = tools.support_objects()
    grad_rate = 0.0 if args.gpu else args.grad_rate
    models = [generate(s, avoid, args.eager_rate, args.max_ops, grad_rate, args.half_rate)
              for s in seeds]
    batches = [models[i:i + args.batch] for i in range(0, len(models), args.batch)]
    totals = Totals()
    t0 = time.time()

    def log(line):
        print(line, flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(lambda b: run_batch(tools, b, objs, args, totals, log), batches))
    print('fuzz total: %d models, %d checks, %d mismatches, %d failing models%s, %d compile failures, '
          '%d crashes, %.0f s' % (totals.models, totals.checks, totals.mismatches, len(totals.failing),
                                   (' (' + ' '.join(map(str, sorted(totals.failing))) + ')') if totals.failing else '',
                                   len(totals.compile_failures), len(totals.crashes), time.time() - t0))
    if any(totals.gradients):
        print('gradients: %d compared, %d left out, %d models refused by compile()' % tuple(totals.gradients))
    for seed, err in totals.compile_failures:
        print('--- model %d does not compile:\n%s' % (seed, err))
    return 1 if totals.mismatches or totals.compile_failures or totals.crashes else 0


if __name__ == '__main__':
    sys.exit(main())
