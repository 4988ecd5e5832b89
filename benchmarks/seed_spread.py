"""How much FID moves with the training seed alone, at the default params: the noise a choice must
beat before it can be called better.

    python benchmarks/seed_spread.py [--seeds 0,1,2,3,4]   (from the project root)

Each seed is a real DVC experiment, `dvc exp run -n seed-<k> -S train.seed=<k>`, so it is the
pipeline's own number (data, reference statistics and everything else as in params.yaml) and stays
in `dvc exp show` and MLflow. The table goes to docs/seed_spread.md, rewritten after every seed.
params.yaml is restored at the end. To run it again, first `dvc exp remove seed-0 seed-1 ...`.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch

OUT = Path("docs/seed_spread.md")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    seeds = [int(s) for s in parser.parse_args().seeds.split(",")]
    params = Path("params.yaml").read_text()
    rows = []
    try:
        for seed in seeds:
            start = time.time()
            subprocess.run(["dvc", "exp", "run", "-n", f"seed-{seed}", "-S", f"train.seed={seed}"], check=True)
            metrics = json.loads(Path("metrics.json").read_text())
            run_id = json.loads(Path("run.json").read_text())["run_id"]
            rows.append((seed, metrics, time.time() - start, run_id))
            write(rows)
    finally:
        Path("params.yaml").write_text(params)
        subprocess.run(["dvc", "repro"], check=False)  # the workspace back at params.yaml (from DVC's run cache)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def write(rows):
    fids = [m["fid"] for _, m, _, _ in rows]
    m = rows[0][1]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({platform.machine()}, {cpu_model()}, {os.cpu_count()} cores)"
    summary = (
        f"mean {statistics.mean(fids):.2f}, sd {statistics.stdev(fids):.2f}, min {min(fids):.2f}, max {max(fids):.2f} "
        f"over {len(fids)} seeds" if len(fids) > 1 else f"{fids[0]:.2f} (one seed)"
    )
    lines = [
        "# FID spread over training seeds, default params",
        "",
        "Made by `python benchmarks/seed_spread.py` on a fresh clone after `dvc repro`, on "
        f"{device}, torch {torch.__version__}: every seed is `dvc exp run -S train.seed=<k>` with the shipped "
        f"params.yaml; FID of the best generator (selected on its own sample, see README), {m['generated_images']} "
        f"generated vs {m['reference_images']} {m['dataset']} {m['reference_split']} images, {m['convention']}.",
        "",
        f"**FID {summary}.**",
        "",
        "| train.seed | FID | KID (x1e3) | precision / recall | best epoch | seconds | MLflow run |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *[
            f"| {seed} | {m['fid']:.2f} | {m['kid'] * 1e3:.2f} +- {m['kid_std'] * 1e3:.2f} | "
            f"{m['precision']:.3f} / {m['recall']:.3f} | {m['best_epoch']} | {secs:.0f} | `{run_id[:8]}` |"
            for seed, m, secs, run_id in rows
        ],
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
