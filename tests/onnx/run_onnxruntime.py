"""Runs every model onnx_export_test wrote in onnxruntime and compares with loom's outputs.

Usage: run_onnxruntime.py CASES_DIR

Each case directory holds model.onnx, tolerance.txt ("rel abs") and, for each input set K,
K_<graph input name>.npy (written as K_inputJ.npy for model input J) and K_outputJ.npy (loom's
results). Every model must pass onnx.checker with full_check; every output of onnxruntime must
match loom's: exactly for integer and bool outputs, within |got - want| <= abs + rel * |want|
for floating-point ones (NaN where loom has NaN). A model onnxruntime has no kernel for (it
implements Erf in f32 only) is reported as not run, and is no failure: the checker has passed
it. Exits 1 if any case failed, after printing all of them.
"""
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime
import onnxruntime_extensions

import custom_ops  # noqa: F401 (registers the custom ops the cases' allow_in_graph nodes need)


def input_file(case, k, name, position):
    by_name = case / f"{k}_{name}.npy"
    return by_name if by_name.exists() else case / f"{k}_input{position}.npy"


def check_case(case):
    model = onnx.load(str(case / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    rel, abs_ = (float(v) for v in (case / "tolerance.txt").read_text().split())
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.register_custom_ops_library(onnxruntime_extensions.get_library_path())
    try:
        session = onnxruntime.InferenceSession(
            str(case / "model.onnx"), options, providers=["CPUExecutionProvider"])
    except onnxruntime.capi.onnxruntime_pybind11_state.NotImplemented as e:
        return 0, [], str(e).split(" : ")[-1]
    problems = []
    sets = sorted({p.name.split("_", 1)[0] for p in case.glob("*_output0.npy")})
    for k in sets:
        feeds = {i.name: np.load(input_file(case, k, i.name, n))
                 for n, i in enumerate(session.get_inputs())}
        got = session.run(None, feeds)
        for j, g in enumerate(got):
            want = np.load(case / f"{k}_output{j}.npy")
            where = f"{case.name}: set {k}, output {j}"
            if g.shape != want.shape:
                problems.append(f"{where}: shape {g.shape}, loom {want.shape}")
            elif g.dtype != want.dtype:
                problems.append(f"{where}: dtype {g.dtype}, loom {want.dtype}")
            elif want.dtype.kind in "biu":
                if not np.array_equal(g, want):
                    bad = np.argwhere(g != want)[0]
                    problems.append(f"{where}: at {tuple(bad)} {g[tuple(bad)]}, loom {want[tuple(bad)]}")
            else:
                w, d = want.astype(np.float64), g.astype(np.float64)
                ok = np.isclose(d, w, rtol=rel, atol=abs_, equal_nan=True) | (w == d)
                if not ok.all():
                    bad = tuple(np.argwhere(~ok)[0])
                    problems.append(f"{where}: at {bad} {d[bad]!r}, loom {w[bad]!r} "
                                    f"(rel {rel}, abs {abs_})")
    return len(sets), problems, None


def main():
    root = pathlib.Path(sys.argv[1])
    cases = sorted(p for p in root.iterdir() if (p / "model.onnx").exists())
    if not cases:
        print(f"no cases under {root}: run onnx_export_test first")
        return 1
    failed = False
    for case in cases:
        sets, problems, missing = check_case(case)
        for p in problems:
            print("FAIL", p)
        failed = failed or bool(problems)
        if missing:
            print(f"{case.name}: checked, not run: onnxruntime has no kernel: {missing}")
        else:
            print(f"{case.name}: {sets} input sets, {'FAILED' if problems else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
