"""The custom ops of onnx_export_test's allow_in_graph callables, for onnxruntime, through
onnxruntime-extensions' Python ops: the same functions as the C++ callables, op for op."""
import numpy as np
from onnxruntime_extensions import PyCustomOpDef, onnx_op


@onnx_op(op_type="test.loom::ClippedExp",
         inputs=[PyCustomOpDef.dt_float], outputs=[PyCustomOpDef.dt_float])
def clipped_exp(x):
    return np.exp(np.minimum(x, np.float32(2))).astype(np.float32)


@onnx_op(op_type="test.loom::RunningSum",
         inputs=[PyCustomOpDef.dt_float], outputs=[PyCustomOpDef.dt_float])
def running_sum(x):
    return np.cumsum(x, dtype=np.float32)
