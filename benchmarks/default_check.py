"""The shipped default against an earlier one, as a new user meets them: fresh clones, `dvc repro`.

    python benchmarks/default_check.py --baseline 5e8a1fe [--seeds 0,1,2] [--rounds 2]

For each of --baseline and --candidate (default HEAD): a fresh `git clone` at that commit, `dvc repro`
with PYTHONDONTWRITEBYTECODE unset and an empty OpenVINO cache (a new machine's first run), timed
per stage, alternating which goes first, --rounds times; then in the first clone of each, one
`dvc exp run -S train.seed=<k>` per further seed (the same data and statistics, another training
seed). Writes docs/default.md (machine, commits, wall times and their ratio, FID and KID per seed
with mean and sd, the commands) and docs/default_samples.png (seed 0's samples.png of both, side by
side). Clones live in benchmarks/out/default_check/ (git-ignored); delete it to start over.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import environment

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "default_check"
DOC, SAMPLES = ROOT / "docs" / "default.md", ROOT / "docs" / "default_samples.png"


def env_for(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MLFLOW_TRACKING_URI")}
    env["GANSWEEP_CACHE"] = str(folder / ".cache")  # an empty OpenVINO cache: the first run on a new machine
    return env


def clone(commit: str, folder: Path) -> None:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "checkout", "-q", commit], check=True)


def timed(command: list[str], folder: Path) -> tuple[float, dict]:
    """Runs a dvc command in `folder`; its wall time and the seconds of each stage it ran."""
    stages, current, start = {}, None, time.perf_counter()
    last = start
    with subprocess.Popen(command, cwd=folder, env=env_for(folder), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            if line.startswith("Running stage '"):
                now = time.perf_counter()
                if current:
                    stages[current] = now - last
                current, last = line.split("'")[1], now
    total = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{' '.join(command)} failed in {folder}")
    if current:
        stages[current] = time.perf_counter() - last
    return total, stages


def result(folder: Path) -> dict:
    metrics = json.loads((folder / "metrics.json").read_text())
    return {key: metrics[key] for key in ("fid", "kid", "precision", "recall", "best_epoch")}


def params_of(folder: Path) -> dict:
    import yaml

    params = yaml.safe_load((folder / "params.yaml").read_text())
    return {k: v for k, v in params.items() if k != "search"}


def side_by_side(left: Path, right: Path, out: Path) -> None:
    from PIL import Image, ImageDraw

    a, b = Image.open(left).convert("L"), Image.open(right).convert("L")
    gap, label = 16, 22
    canvas = Image.new("L", (a.width + b.width + gap, max(a.height, b.height) + label), 255)
    canvas.paste(a, (0, label))
    canvas.paste(b, (a.width + gap, label))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, 4), "before (baseline default)", fill=0)
    draw.text((a.width + gap + 2, 4), "after (new default)", fill=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--candidate", default="HEAD")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds; the first is params.yaml's own")
    parser.add_argument("--rounds", type=int, default=2, help="fresh-clone dvc repro runs per commit, for the wall time")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    commits = {name: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True, check=True).stdout.strip()
               for name, ref in (("baseline", args.baseline), ("candidate", args.candidate))}
    OUT.mkdir(parents=True, exist_ok=True)
    record = OUT / "record.json"
    runs = json.loads(record.read_text()) if record.exists() else {}
    for round_ in range(args.rounds):
        for name in (["baseline", "candidate"] if round_ % 2 == 0 else ["candidate", "baseline"]):
            key = f"{name}-{commits[name]}-repro-{round_}"
            if key in runs:
                continue
            folder = OUT / key
            if folder.exists():
                subprocess.run(["rm", "-rf", str(folder)], check=True)
            clone(commits[name], folder)
            total, stages = timed(["dvc", "repro"], folder)
            runs[key] = {"total_s": total, "stages_s": stages, "seed": params_of(folder)["train"]["seed"], **result(folder)}
            record.write_text(json.dumps(runs, indent=2))
            print(f"{key}: dvc repro {total:.1f} s, FID {runs[key]['fid']:.2f}", flush=True)
    for name in ("baseline", "candidate"):
        folder = OUT / f"{name}-{commits[name]}-repro-0"
        for seed in seeds[1:]:
            key = f"{name}-{commits[name]}-seed-{seed}"
            if key in runs:
                continue
            total, _ = timed(["dvc", "exp", "run", "-n", f"seed-{seed}", "-S", f"train.seed={seed}"], folder)
            runs[key] = {"total_s": total, "seed": seed, **result(folder)}
            record.write_text(json.dumps(runs, indent=2))
            print(f"{key}: FID {runs[key]['fid']:.2f}", flush=True)
    write_doc(runs, commits, seeds, args)


def write_doc(runs: dict, commits: dict, seeds: list[int], args) -> None:
    env = environment("cpu")
    rows, summary = [], {}
    for name in ("baseline", "candidate"):
        c = commits[name]
        walls = [r["total_s"] for k, r in runs.items() if k.startswith(f"{name}-{c}-repro-")]
        per_seed = [runs[f"{name}-{c}-repro-0"]] + [runs[f"{name}-{c}-seed-{s}"] for s in seeds[1:]]
        fids = [r["fid"] for r in per_seed]
        summary[name] = {"wall": statistics.median(walls), "walls": walls, "fid_mean": statistics.mean(fids),
                         "fid_sd": statistics.stdev(fids) if len(fids) > 1 else float("nan")}
        for r in per_seed:
            rows.append(f"| {name} `{c}` | {r['seed']} | {r['fid']:.2f} | {r['kid']:.4f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['best_epoch']} |")
    stage_names = list(runs[f"baseline-{commits['baseline']}-repro-0"]["stages_s"])
    stage_rows = []
    for stage in stage_names:
        cells = []
        for name in ("baseline", "candidate"):
            values = [r["stages_s"].get(stage, 0.0) for k, r in runs.items() if k.startswith(f"{name}-{commits[name]}-repro-")]
            cells.append(f"{statistics.median(values):.1f}")
        stage_rows.append(f"| {stage} | {cells[0]} | {cells[1]} |")
    b, c = summary["baseline"], summary["candidate"]
    side_by_side(OUT / f"baseline-{commits['baseline']}-repro-0" / "plots" / "samples.png",
                 OUT / f"candidate-{commits['candidate']}-repro-0" / "plots" / "samples.png", SAMPLES)
    DOC.write_text(f"""# The default run, before and after

Made by `python benchmarks/default_check.py --baseline {args.baseline} --candidate {args.candidate} --seeds {args.seeds} --rounds {args.rounds}`
on {env['device']} ({env['cpu_count']} cores, {env['cpu_capability']}), torch {env['torch']}, OpenVINO {env.get('openvino', '-')},
Python {env['python']}: fresh `git clone`s, `dvc repro` with `PYTHONDONTWRITEBYTECODE` unset and an empty
OpenVINO cache; seeds after the first with `dvc exp run -S train.seed=<k>` in the first clone.
FID and KID of the selected generator, 500 generated vs 500 real mnist-5k digits (the real-vs-real
floor at this N is 18.5: docs/baselines.md).

| default | train.seed | FID | KID | precision | recall | best epoch |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

| | FID mean +- sd over seeds {', '.join(map(str, seeds))} | `dvc repro` wall time (median of {len(b['walls'])}) |
| --- | ---: | ---: |
| baseline `{commits['baseline']}` | {b['fid_mean']:.2f} +- {b['fid_sd']:.2f} | {b['wall']:.1f} s ({', '.join(f'{w:.1f}' for w in b['walls'])}) |
| candidate `{commits['candidate']}` | {c['fid_mean']:.2f} +- {c['fid_sd']:.2f} | {c['wall']:.1f} s ({', '.join(f'{w:.1f}' for w in c['walls'])}), {c['wall'] / b['wall']:.2f}x |

Seconds per stage (median over the rounds):

| stage | baseline | candidate |
| --- | ---: | ---: |
{chr(10).join(stage_rows)}

Samples of seed {seeds[0]} (`plots/samples.png`, the selected generator), baseline left, candidate right:

![samples before and after](default_samples.png)
""")
    print(DOC.read_text())


if __name__ == "__main__":
    main()
