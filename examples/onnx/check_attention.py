"""Runs attention.onnx (written by attention_onnx) in onnxruntime on the inputs it wrote and
prints the largest difference to loom's result. Run it in the directory attention_onnx ran in:

    ./attention_onnx && python3 check_attention.py
"""
import sys

import numpy as np
import onnx
import onnxruntime

model = onnx.load("attention.onnx")
onnx.checker.check_model(model, full_check=True)
session = onnxruntime.InferenceSession("attention.onnx", providers=["CPUExecutionProvider"])
feeds = {name: np.load(f"{name}.npy") for name in ("x", "wq", "wk", "wv", "gamma", "beta")}
(y,) = session.run(["y"], feeds)
loom_y = np.load("loom_y.npy")
worst = float(np.max(np.abs(y.astype(np.float64) - loom_y)))
print(f"{y.shape[0]} tokens: max |onnxruntime - loom| = {worst:.3g}")
sys.exit(0 if worst < 1e-4 else 1)
