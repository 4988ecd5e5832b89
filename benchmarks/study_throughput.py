"""Study throughput: trials per hour of `gansweep study` at the default trial budget (params.yaml),
with 1 worker and with 2 workers on this machine.

Each measurement is a fresh study of --trials-per-worker trials per worker, all training the default params with
different seeds (a grid over train.seed, no pruning): the cost of a trial, not of the sampler's
choices. Needs the statistics stages: run `dvc repro` first. The studies' folders under studies/
are removed afterwards unless --keep (their MLflow runs stay, under each study's parent run).

  python benchmarks/study_throughput.py [--trials-per-worker 1] [--workers 1 2] [-S train.epochs=4 ...]
"""
import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import optuna
from bench import environment, write_json
from optuna.trial import TrialState

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)
from gansweep import paths
from gansweep.config import load_config
from gansweep.metrics.inception import default_device
from gansweep.storage import open_storage, study_dir


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-per-worker", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE", help="override params.yaml (the trial budget)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for needed in (paths.REFERENCE_STATS, paths.SELECTION_STATS):
        if not needed.exists():
            sys.exit(f"{needed} is missing: run `dvc repro` first")
    rows, stamp = [], time.strftime("%Y%m%d-%H%M%S")
    for workers in args.workers:
        trials = args.trials_per_worker * workers
        seeds = list(range(trials))
        name = f"throughput-{stamp}-w{workers}"
        command = [sys.executable, "-m", "gansweep.cli", "study", "--study-name", name, "--n-trials", str(trials), "--workers", str(workers),
                   "-S", "search.sampler=grid", "-S", "search.pruner=none", "-S", f"search.space={{train.seed: {seeds}}}"]
        for item in args.set:
            command += ["-S", item]
        print("$", " ".join(command), flush=True)
        start = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - start
        cfg = load_config("params.yaml", {"search.study": name})
        study = optuna.load_study(study_name=name, storage=open_storage(cfg.search, study_dir(cfg.search)))
        complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
        per_trial = [(t.datetime_complete - t.datetime_start).total_seconds() for t in complete]
        rows.append({"workers": workers, "trials_complete": len(complete), "wall_s": wall, "trials_per_hour": 3600 * len(complete) / wall,
                     "trial_s": per_trial, "fid": [t.value for t in complete]})
        print(f"{workers} worker(s): {len(complete)} trials in {wall:.0f} s: {rows[-1]['trials_per_hour']:.2f} trials/hour", flush=True)
        if not args.keep:
            shutil.rmtree(study_dir(cfg.search), ignore_errors=True)
    for row in rows:
        row["ratio_to_1_worker"] = row["trials_per_hour"] / rows[0]["trials_per_hour"]
    result = {"benchmark": "study_throughput", **environment(default_device()),
              "settings": {"trials_per_worker": args.trials_per_worker, "overrides": args.set, "params": "params.yaml defaults otherwise"}, "rows": rows}
    print("| workers | trials | wall s | trials/hour | ratio |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['workers']} | {row['trials_complete']} | {row['wall_s']:.0f} | {row['trials_per_hour']:.2f} | {row['ratio_to_1_worker']:.2f} |")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
