"""The default `dvc repro`, before and after a change, side by side on fresh copies.

Clones this repository at --baseline and at --candidate (default: HEAD) into a temporary folder,
then for --rounds rounds runs `dvc repro` in a fresh clone of each, alternating which goes first,
with PYTHONDONTWRITEBYTECODE unset and an empty OpenVINO cache (a new machine's first run).
Records the wall time of each stage and of the whole repro, the speed-up (median baseline time /
median candidate time), and whether the reported numbers agree:
  - the FID and KID in both metrics.json files, relative difference;
  - the candidate's best generator scored by the baseline's code against the baseline's reference
    statistics (the baseline's feature path), relative difference from the candidate's FID;
  - whether both trainings ended with the same generator weights.

  python benchmarks/repro_speed.py --baseline 23e9a55 [--json benchmarks/results/repro_speed_cpu.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench import environment, write_json

ROOT = Path(__file__).resolve().parents[1]

SCORE_WITH_THIS_CHECKOUT = """
import json, sys
sys.path.insert(0, "src")
from gansweep.config import load_config
from gansweep.evaluate import score
from gansweep.generators import load_generator
from gansweep.metrics.fid import load_statistics
cfg = load_config()
metrics, _ = score(load_generator(sys.argv[1]), load_statistics("data/stats/reference.npz"), cfg.metrics)
print(json.dumps(metrics))
"""


def clean_env(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["GANSWEEP_CACHE"] = str(cache)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def repro(commit: str, folder: Path) -> dict:
    """A fresh clone at `commit` in `folder`, `dvc repro` run in it; stage and total seconds."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "checkout", "-q", commit], check=True)
    env = clean_env(folder / ".cache")
    stages, current, start = {}, None, time.perf_counter()
    last = start
    with subprocess.Popen(["dvc", "repro"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            if line.startswith("Running stage '"):
                now = time.perf_counter()
                if current:
                    stages[current] = now - last
                current, last = line.split("'")[1], now
    total = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"dvc repro failed at {commit} in {folder}")
    if current:
        stages[current] = time.perf_counter() - last
    return {"commit": commit, "total_s": total, "stages_s": stages, "metrics": json.loads((folder / "metrics.json").read_text())}


def same_weights(first: Path, second: Path) -> bool:
    a, b = (torch.load(p, map_location="cpu", weights_only=True)["state_dict"] for p in (first, second))
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit before the change")
    parser.add_argument("--candidate", default="HEAD")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    commits = {name: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True, check=True).stdout.strip()
               for name, ref in (("baseline", args.baseline), ("candidate", args.candidate))}
    runs = {"baseline": [], "candidate": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            order = ["baseline", "candidate"] if round_ % 2 == 0 else ["candidate", "baseline"]
            for name in order:
                folder = Path(tmp) / f"{name}-{round_}"
                runs[name].append({**repro(commits[name], folder), "folder": str(folder)})
                print(f"round {round_ + 1}: {name} ({commits[name]}): dvc repro {runs[name][-1]['total_s']:.1f} s, "
                      f"FID {runs[name][-1]['metrics']['fid']}", flush=True)
        base, cand = Path(runs["baseline"][0]["folder"]), Path(runs["candidate"][0]["folder"])
        rescored = json.loads(subprocess.run([sys.executable, "-c", SCORE_WITH_THIS_CHECKOUT, str(cand / "models/generator_best.pt")],
                                             cwd=base, env=clean_env(base / ".cache"), capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        weights = {name: same_weights(base / "models" / name, cand / "models" / name) for name in ("generator.pt", "generator_best.pt")}
    b_med = statistics.median(r["total_s"] for r in runs["baseline"])
    c_med = statistics.median(r["total_s"] for r in runs["candidate"])
    bm, cm = runs["baseline"][0]["metrics"], runs["candidate"][0]["metrics"]
    result = {
        "benchmark": "repro_speed", **environment("cpu"), "commits": commits,
        "baseline_total_s": b_med, "candidate_total_s": c_med, "speedup": b_med / c_med,
        "fid_rel_diff_between_runs": abs(cm["fid"] - bm["fid"]) / bm["fid"],
        "kid_rel_diff_between_runs": abs(cm["kid"] - bm["kid"]) / abs(bm["kid"]),
        "candidate_best_generator_fid_by_baseline_code": rescored["fid"],
        "fid_rel_diff_from_baseline_feature_path": abs(cm["fid"] - rescored["fid"]) / rescored["fid"],
        "same_generator_weights": weights,
        "runs": runs,
    }
    stages = list(runs["baseline"][0]["stages_s"])
    print(f"\n{result['device']}, torch {result['torch']}\n")
    print("| stage | baseline s | candidate s |\n|---|---|---|")
    for stage in stages:
        b = statistics.median(r["stages_s"].get(stage, 0) for r in runs["baseline"])
        c = statistics.median(r["stages_s"].get(stage, 0) for r in runs["candidate"])
        print(f"| {stage} | {b:.1f} | {c:.1f} |")
    print(f"| **dvc repro** | **{b_med:.1f}** | **{c_med:.1f}** (x{b_med / c_med:.2f}) |")
    print(f"\nFID baseline {bm['fid']!r}, candidate {cm['fid']!r} (relative difference {result['fid_rel_diff_between_runs']:.2e}); "
          f"candidate's best generator by the baseline's feature path {rescored['fid']!r} "
          f"(relative difference {result['fid_rel_diff_from_baseline_feature_path']:.2e}); same weights: {weights}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
