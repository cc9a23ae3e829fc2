"""Running exported encoder models with ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vendorlink.encoders.base import EncoderError, Feed, Runner, available_cores


class OnnxRunner(Runner):
    """An ONNX Runtime session over one exported encoder model.

    ``threads``: intra-op threads (default: every core this process may use); inter-op
    parallelism is off (one graph at a time). ``device="cuda"`` uses the CUDA execution
    provider and fails clearly when this onnxruntime build has none.
    """

    def __init__(self, path: str | Path, *, threads: int | None = None, device: str = "cpu"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise EncoderError(
                    "device 'cuda' was asked for but this onnxruntime has no CUDA provider; "
                    "install onnxruntime-gpu or use device='cpu'"
                )
            index = int(device.partition(":")[2] or 0)
            providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EncoderError(f"cannot load ONNX model {path}: {exc}") from exc
        self.path = Path(path)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name

    def run(self, feed: Feed) -> np.ndarray:
        missing = [name for name in self.input_names if name not in feed]
        if missing:
            raise EncoderError(f"{self.path} needs inputs {missing}; got {sorted(feed)}")
        inputs = {name: feed[name] for name in self.input_names}
        (rows,) = self.session.run([self.output_name], inputs)
        return np.asarray(rows, dtype=np.float32)
