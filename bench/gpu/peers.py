#!/usr/bin/env python3
"""PyTorch peers of bench_cuda's workloads: float32 on the GPU, and bfloat16 for W1, W4, W5,
W6 and MLP2_gelu (names ending `_bf16`, as bench_cuda's), variants torch_eager and torch_compile
(torch.compile default mode), timed with CUDA events.

    python3 bench/gpu/peers.py [--csv FILE] [--reps 20] [--budget 200] [--only W1,W4]

Writes CSV `name,median_us,bytes,flops` (name = <workload>/<variant>/<size>, the same
names as bench_cuda), one row as soon as it is measured, so a run killed by a timeout
keeps what it had. All eager variants run first, then the compiled ones; a compile that
throws is reported and skipped, and once --budget seconds have passed no further
compile is started. Without torch or without a GPU it says so and exits 0.
"""
import argparse
import math
import os
import statistics
import sys
import time
import warnings

N = 1 << 26  # elements of the element-wise workloads
ROWS, COLS = 16384, 1024  # W4, W5
SMALL_ROWS = 64  # W4, W5 where launches dominate
M, K, NN = 512, 1024, 1024  # W6: X is MxK, W is KxN
SMALL_M = 8  # W6 at batch 8
HIDDEN = 4096  # MLP2_gelu: 1024 -> HIDDEN -> 1024 at batch SMALL_M
TOKENS, D = 256, 64  # attention


def say(*args):
    print(*args, flush=True)


def first_line(e):
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"


def custom_hook_function(v):
    # The C++ workload's custom_hook_function (bench/cpu/w3_seed_allow_in_graph.cpp,
    # examples/seed_allow_in_graph.cpp): r = x * 2; r += 10. Left as a plain function,
    # so torch.compile traces into it and fuses it with the relu; wrapping it in
    # torch.compiler.allow_in_graph would only keep Dynamo from inspecting it (AOT
    # tracing and Inductor still see through it), so the fused kernel is the same.
    return v * 2 + 10


def workloads(torch, dev):
    """(name, size string, fn, make_inputs, bytes, flops) for each workload, f32 first."""
    F = torch.nn.functional

    def w1(x):
        return torch.relu(x) * 2 + 10

    def w2(a, b, c):
        return torch.tanh(a * b + c) * torch.sigmoid(a - c) + 0.5 * torch.exp(-b * b)

    def w3(x):
        y = torch.relu(x)
        return custom_hook_function(y)

    def w4(x):
        return torch.softmax(x, dim=-1)

    def w5(x, gamma, beta):
        return F.layer_norm(x, (COLS,), gamma, beta, eps=1e-5)

    def w6(x, w, b):
        return torch.relu(x @ w + b)

    def mlp2(x, w1, b1, w2, b2):
        return F.gelu(x @ w1 + b1) @ w2 + b2

    def attention(x, wq, wk, wv, gamma, beta):
        # examples/attention_block.hpp's block.
        q, k, v = x @ wq, x @ wk, x @ wv
        p = torch.softmax((q @ k.T) * (1 / math.sqrt(D)), dim=-1)
        return F.layer_norm(p @ v + x, (D,), gamma, beta, eps=1e-5)

    def typed(dtype):
        """The workloads whose values are of `dtype` (bytes counted at its size)."""
        suffix = "" if dtype == torch.float32 else "_bf16"
        size = torch.finfo(dtype).bits // 8

        def randn(*shape, scale=1.0):
            return (torch.randn(*shape, device=dev, dtype=torch.float32) * scale).to(dtype)

        def w4_at(rows):
            return ("W4_softmax" + suffix, f"{rows}x{COLS}", w4, lambda: (randn(rows, COLS),),
                    2 * size * rows * COLS, 0)

        def w5_at(rows):
            return ("W5_layer_norm" + suffix, f"{rows}x{COLS}", w5,
                    lambda: (randn(rows, COLS), randn(COLS), randn(COLS)),
                    2 * size * rows * COLS + 2 * size * COLS, 0)

        def w6_at(m):
            return ("W6_mlp_layer" + suffix, f"{m}x{K}x{NN}", w6,
                    lambda: (randn(m, K), randn(K, NN, scale=1 / math.sqrt(K)), randn(NN)),
                    size * (m * K + K * NN + NN + m * NN), 2 * m * K * NN)

        mlp2_at = ("MLP2_gelu" + suffix, f"{SMALL_M}x{K}x{HIDDEN}x{K}", mlp2,
                   lambda: (randn(SMALL_M, K), randn(K, HIDDEN, scale=1 / math.sqrt(K)),
                            randn(HIDDEN), randn(HIDDEN, K, scale=1 / math.sqrt(HIDDEN)),
                            randn(K)),
                   size * (2 * SMALL_M * K + 2 * K * HIDDEN + HIDDEN + K), 4 * SMALL_M * K * HIDDEN)
        return [("W1_relu_chain" + suffix, str(N), w1, lambda: (randn(N),), 2 * size * N, 0),
                w4_at(ROWS), w4_at(SMALL_ROWS), w5_at(ROWS), w5_at(SMALL_ROWS), w6_at(M),
                w6_at(SMALL_M), mlp2_at], randn

    f32, randn = typed(torch.float32)
    bf16, _ = typed(torch.bfloat16)
    attention_flops = 2 * TOKENS * D * D * 3 + 2 * 2 * TOKENS * TOKENS * D
    return f32[:1] + [
        ("W2_activation_mix", str(N), w2, lambda: (randn(N), randn(N), randn(N)), 4 * 4 * N, 0),
        ("W3_seed_allow_in_graph", str(N), w3, lambda: (randn(N),), 2 * 4 * N, 0),
    ] + f32[1:] + [
        ("attention", f"{TOKENS}x{D}", attention,
         lambda: (randn(TOKENS, D), randn(D, D, scale=0.2), randn(D, D, scale=0.2),
                  randn(D, D, scale=0.2), randn(D), randn(D)),
         4 * (2 * TOKENS * D + 3 * D * D + 2 * D), attention_flops),
    ] + bf16


def time_us(torch, fn, args, reps):
    """Median µs per call. Each of `reps` measurements times a batch of calls between two
    CUDA events; the batch is sized to last >= ~200 µs so small kernels are not timed
    against launch gaps alone."""
    for _ in range(3):
        fn(*args)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn(*args)
    end.record()
    end.synchronize()
    one = max(start.elapsed_time(end) * 1e3, 1e-3)
    batch = max(1, min(1000, math.ceil(200.0 / one)))
    times = []
    for _ in range(reps):
        start.record()
        for _ in range(batch):
            fn(*args)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / batch)
    return statistics.median(times), batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", help="write results here")
    ap.add_argument("--reps", type=int, default=20, help="timed measurements per variant")
    ap.add_argument("--budget", type=float, default=float(os.environ.get("PEERS_BUDGET", 200)),
                    help="seconds after which no further torch.compile is started")
    ap.add_argument("--only", default="", help="comma-separated workload prefixes, e.g. W1,W4")
    ap.add_argument("--no-compile", action="store_true", help="torch_eager only")
    opts = ap.parse_args()
    t0 = time.monotonic()

    out = None
    if opts.csv:
        os.makedirs(os.path.dirname(os.path.abspath(opts.csv)), exist_ok=True)
        out = open(opts.csv, "w")
        out.write("name,median_us,bytes,flops\n")
        out.flush()

    try:
        import torch
    except Exception as e:  # ImportError, or a broken install
        say(f"peers: cannot import torch ({type(e).__name__}: {e}); no PyTorch peers")
        return 0
    if not torch.cuda.is_available():
        say(f"peers: torch {torch.__version__} sees no CUDA device; no PyTorch peers")
        return 0

    # fp32 matmuls, like cuBLAS SGEMM: no TF32. It is PyTorch's default already; touch it
    # only through the legacy flag and only if needed: since 2.9, setting the new
    # fp32_precision API makes Inductor's legacy reads throw ("mix of the legacy and new
    # APIs"), which would fail torch.compile of W6.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if torch.backends.cuda.matmul.allow_tf32:
                torch.backends.cuda.matmul.allow_tf32 = False
            precision = torch.get_float32_matmul_precision()
        except Exception as e:
            precision = f"unknown ({first_line(e)})"
    torch.manual_seed(0)
    dev = torch.device("cuda")
    say(f"peers: torch {torch.__version__}, {torch.cuda.get_device_name(0)}, "
        f"fp32 matmul precision {precision}, reps {opts.reps}, compile budget {opts.budget:.0f}s")

    only = [w for w in opts.only.split(",") if w]
    todo = [w for w in workloads(torch, dev) if not only or any(w[0].startswith(p) for p in only)]
    inputs = {}
    results = []

    def record(workload, variant, size, us, nbytes, flops, batch, note=""):
        name = f"{workload}/{variant}/{size}"
        results.append((name, us, nbytes, flops))
        if out:
            out.write(f"{name},{us:.3f},{nbytes},{flops}\n")
            out.flush()
        rate = f"{flops / us / 1e6:8.2f} TFLOP/s" if flops else f"{nbytes / us / 1e3:8.1f} GB/s"
        say(f"  {name:<48} {us:10.1f} us  {rate}  (batch {batch}){note}")

    say("peers: torch_eager")
    for workload, size, fn, make, nbytes, flops in todo:
        try:
            inputs[workload, size] = make()
            with torch.no_grad():
                us, batch = time_us(torch, fn, inputs[workload, size], opts.reps)
            record(workload, "torch_eager", size, us, nbytes, flops, batch)
        except Exception as e:
            say(f"  {workload}/torch_eager: FAILED: {first_line(e)}")

    if not opts.no_compile:
        say("peers: torch_compile (compiles once per workload, then times)")
        for workload, size, fn, make, nbytes, flops in todo:
            if (workload, size) not in inputs:
                continue
            elapsed = time.monotonic() - t0
            if elapsed > opts.budget:
                say(f"  {workload}/torch_compile: skipped, {elapsed:.0f}s > budget {opts.budget:.0f}s")
                continue
            args = inputs[workload, size]
            try:
                # One static compile per size, as each of loom's sizes is its own model
                # (otherwise the second size recompiles the function for dynamic shapes).
                cfn = torch.compile(fn, dynamic=False)
                tc = time.monotonic()
                with torch.no_grad():
                    got = cfn(*args)
                    torch.cuda.synchronize()
                    compile_s = time.monotonic() - tc
                    want = fn(*args)
                    err = (got - want).abs().float().max().item()
                    scale = max(want.abs().float().max().item(), 1e-30)
                    note = f", compile {compile_s:.1f}s"
                    # bf16 keeps 8 significant bits: a few of its ulps (2^-8 each) apart.
                    rel = 1e-4 if want.dtype == torch.float32 else 4 * 2.0 ** -8
                    if not err <= rel * scale + 1e-5:
                        note += f", WARNING max |compiled - eager| = {err:.3g}"
                    del got, want
                    us, batch = time_us(torch, cfn, args, opts.reps)
                record(workload, "torch_compile", size, us, nbytes, flops, batch, note)
            except Exception as e:
                say(f"  {workload}/torch_compile: FAILED: {first_line(e)}")

    say(f"peers: {len(results)} results in {time.monotonic() - t0:.0f}s"
        + (f", written to {opts.csv}" if opts.csv else ""))
    if out:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
