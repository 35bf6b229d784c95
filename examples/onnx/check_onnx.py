"""Runs an ONNX model that an example here wrote (attention_onnx: attention.onnx, seed_onnx:
seed.onnx) in onnxruntime, on the inputs it wrote as <input name>.npy, and prints the largest
difference of each output to loom's result, loom_<output name>.npy. Run it in the directory
the example ran in:

    ./attention_onnx && python3 check_onnx.py attention.onnx
"""
import sys

import numpy as np
import onnx
import onnxruntime

path = sys.argv[1]
onnx.checker.check_model(onnx.load(path), full_check=True)
session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
feeds = {i.name: np.load(f"{i.name}.npy") for i in session.get_inputs()}
worst = 0.0
for out, got in zip(session.get_outputs(), session.run(None, feeds)):
    diff = float(np.max(np.abs(got.astype(np.float64) - np.load(f"loom_{out.name}.npy"))))
    print(f"{path}: {out.name} {got.shape}: max |onnxruntime - loom| = {diff:.3g}")
    worst = max(worst, diff)
sys.exit(0 if worst < 1e-4 else 1)
