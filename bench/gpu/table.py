#!/usr/bin/env python3
"""One table from bench_cuda's and peers.py's CSVs (header name,median_us,bytes,flops;
name = <workload>/<variant>/<size>).

    python3 bench/gpu/table.py build-gpu/out/bench_cuda.csv build-gpu/out/peers.csv

Per workload and size, each variant's median time, achieved GB/s (bytes/median), or
TFLOP/s instead where flops > 0, and
  ref    achieved bandwidth / that of the workload's memcpy_limit row at the same size;
         where there is no memcpy_limit row but a cublas_only one (W6): time of
         cublas_only / time of the variant. 1.00 = as fast as the reference.
  vs tc  time of torch_compile / time of the variant (>1: faster than torch.compile).
loom_host rows (the host's time per call at the small sizes) get neither.
Missing or unreadable files are reported and skipped.
"""
import csv
import math
import sys

REF_BW = "memcpy_limit"
REF_TIME = "cublas_only"
PEER = "torch_compile"
HOST = "loom_host"  # the host's time per call: no bandwidth, no ratio to the GPU's times


def read(path):
    rows = []
    try:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                try:
                    workload, variant, size = r["name"].strip().split("/", 2)
                    rows.append({
                        "workload": workload, "variant": variant, "size": size,
                        "us": float(r["median_us"]),
                        "bytes": float(r.get("bytes") or 0),
                        "flops": float(r.get("flops") or 0),
                        "src": path,
                    })
                except (KeyError, ValueError, AttributeError) as e:
                    print(f"table: {path}: skipping row {r!r}: {e}", file=sys.stderr)
    except OSError as e:
        print(f"table: {path}: {e.strerror}, skipped", file=sys.stderr)
    return rows


def order(variant):
    if variant in (REF_BW, REF_TIME):
        return (0, variant)
    if variant.startswith("loom"):
        return (1, variant)
    if variant.startswith("torch"):
        return (3, variant)
    return (2, variant)


def size_key(size):
    try:
        return tuple(int(p) for p in size.split("x"))
    except ValueError:
        return (math.inf,)


def fmt(x, spec):
    if x is None or not math.isfinite(x):
        return "-".rjust(int(spec.split(".")[0]))
    return format(x, spec)


def main(paths):
    rows = [r for p in paths for r in read(p)]
    if not rows:
        print("table: no results")
        return 0
    groups = {}
    for r in rows:
        groups.setdefault((r["workload"], r["size"]), {})[r["variant"]] = r  # last one wins
    head = f"{'workload':<24} {'size':<14} {'variant':<22} {'median_us':>11} {'GB/s':>8} {'TFLOP/s':>8} {'ref':>6} {'vs tc':>6}"
    print(head)
    print("-" * len(head))
    for workload, size in sorted(groups, key=lambda k: (k[0], size_key(k[1]))):
        g = groups[(workload, size)]
        ref_bw = ref_us = None
        if REF_BW in g and g[REF_BW]["us"] > 0:
            ref_bw = g[REF_BW]["bytes"] / g[REF_BW]["us"] / 1e3
        elif REF_TIME in g:
            ref_us = g[REF_TIME]["us"]
        peer_us = g[PEER]["us"] if PEER in g else None
        for variant in sorted(g, key=order):
            r = g[variant]
            us = r["us"]
            ok = us > 0 and math.isfinite(us) and variant != HOST
            gbs = r["bytes"] / us / 1e3 if ok and r["bytes"] > 0 and r["flops"] <= 0 else None
            tfs = r["flops"] / us / 1e6 if ok and r["flops"] > 0 else None
            ref = None
            if ok and ref_bw and r["bytes"] > 0:
                ref = r["bytes"] / us / 1e3 / ref_bw
            elif ok and ref_us:
                ref = ref_us / us
            vs = peer_us / us if ok and peer_us else None
            print(f"{workload:<24} {size:<14} {variant:<22} {fmt(us, '11.1f')} {fmt(gbs, '8.1f')} "
                  f"{fmt(tfs, '8.2f')} {fmt(ref, '6.2f')} {fmt(vs, '6.2f')}")
        print()
    print("ref: GB/s over memcpy_limit's GB/s (W6: cublas_only time over the variant's); "
          "vs tc: torch_compile time over the variant's")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
