"""The GPU check: a TorchScript model that refuses to run off CUDA is scored in the sandbox.

For a machine with an NVIDIA GPU, from the repository root: `python3 scripts/gpu_check.py`.
It needs only the `sandbox` package, numpy, pandas, pyarrow and a CUDA build of torch (no
database, broker or MLflow), so it also runs on a bare GPU machine. It uses bubblewrap when it
works there, else the `process` backend (same uid drop, limits and environment, no namespaces).
It prints one JSON report and exits 0 only when the model ran on the GPU.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    """Run the check and print the report."""
    import torch

    import sandbox
    from sandbox.samples.generate import CLASSES, ID_COLUMN, TARGET

    report: dict[str, object] = {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
    }
    if not torch.cuda.is_available():
        report["verdict"] = "no GPU visible to torch: nothing to check here"
        print(json.dumps(report, indent=2))
        return 2
    report["gpu"] = torch.cuda.get_device_name()

    class OnlyOnCuda(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not x.is_cuda:
                raise RuntimeError("expected a CUDA tensor")
            return self.linear(x)

    backends = sandbox.available_backends()
    backend = "bwrap" if backends.get("bwrap") == "" else "process"
    report["backend"] = backend
    report["bwrap"] = backends.get("bwrap") or "works"
    samples = Path(sandbox.__file__).parent / "samples"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        model = folder / "model.pt"
        torch.jit.script(OnlyOnCuda()).save(str(model))
        model.chmod(0o644)
        request = sandbox.RunRequest(
            model_path=model,
            format=sandbox.SubmissionFormat.TORCHSCRIPT,
            features_path=samples / "features.parquet",
            id_column=ID_COLUMN,
            target=TARGET,
            task="binary",
            classes=list(CLASSES),
            limits=sandbox.Limits(time_s=300, memory_mb=4096),
            device="cuda",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sandbox.run(request, backend=backend, work_dir=folder)
    report["outcome"] = str(result.outcome)
    report["message"] = result.message
    report["kpis"] = result.kpis
    report["logs_tail"] = result.logs[-2000:]
    ok = result.outcome is sandbox.Outcome.OK and result.predictions is not None
    report["verdict"] = "the model ran on CUDA in the sandbox" if ok else "FAILED"
    print(json.dumps(report, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
