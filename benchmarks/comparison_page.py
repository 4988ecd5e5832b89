"""docs/comparison.md and docs/comparison/ from finished studies: the grid's report files as the report
wrote them (configurations.csv, marginal_effects.csv, pairwise.csv, the first screen), and the
budget-fair study's curves, with the commands, the machine, the wall time and the conclusions quoted.

    python benchmarks/comparison_page.py --grid losses [--budget losses-by-budget] [--command "..."]...

Run it in the project where the studies ran, after `gansweep report --study-name <each>`; it writes
into the checkout this script belongs to.
"""
import argparse
import os
import platform
import shutil
import subprocess
from pathlib import Path

import optuna
import pandas as pd
import torch
from optuna.trial import TrialState

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)
from gansweep import tracking
from gansweep.config import load_config
from gansweep.report import compare, conclusion, open_study, screenshot

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def hours(study: optuna.Study) -> tuple[float, int]:
    trials = [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return (end - start).total_seconds() / 3600, len(trials)


def markdown(frame: pd.DataFrame, columns: list[str]) -> str:
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for _, row in frame.iterrows()]
    return "\n".join(lines)


def section(name: str, commands: list[str], out: Path, budget: bool) -> list[str]:
    cfg = load_config("params.yaml", {"search.study": name})
    study = open_study(cfg)
    client = tracking.client(study.user_attrs["mlflow_tracking_uri"])
    c = compare(study, client)
    report = Path("studies") / name / "report"
    out.mkdir(parents=True, exist_ok=True)
    copied = ["configurations.csv", "marginal_effects.csv", "pairwise.csv"] + (["budget_curves.csv", "budget_curves.png"] if budget else [])
    prefix = "budget_" if budget else ""  # the grid's files keep the report's names; the budget study's are prefixed
    for file in copied:
        shutil.copy(report / file, out / (file if file.startswith(prefix) else prefix + file))
    shot = out / ("budget_screenshot.png" if budget else "report_screenshot.png")
    screenshot(report / "report.html", shot, width=1280, height=900)
    wall, trials = hours(study)
    table = c.configurations[c.configurations["seeds"] > 0]
    m = c.objective
    lines = [f"### Study `{name}`", "", "```bash", *commands, "```", "",
             f"{trials} trials in {wall * 60:.0f} minutes (first start to last end), {c.protocol}.", "",
             "The report's conclusion, as it writes it:", "", *[f"> {line}" for line in conclusion(c)], ""]
    if c.warnings:
        lines += ["Its warnings:", "", *[f"- {w}" for w in c.warnings], ""]
    columns = ["rank", "configuration", "seeds", f"{m}_mean", f"{m}_sd", f"{m}_ci_low", f"{m}_ci_high", "kid_mean", "seed_values"]
    lines += [markdown(table, columns), "", f"![first screen of the report]({out.name}/{shot.name})", ""]
    if budget:
        lines += [f"![best FID per budget]({out.name}/budget_curves.png)", ""]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", required=True)
    parser.add_argument("--grid-command", action="append", default=[])
    parser.add_argument("--budget")
    parser.add_argument("--budget-command", action="append", default=[])
    args = parser.parse_args()
    out = DOCS / "comparison"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown"
    lines = ["# Losses compared at the default budget", "",
             f"On {cpu()} ({os.cpu_count()} cores), torch {torch.__version__}, in a clone of commit `{commit}` with its "
             "params.yaml (the default budget and recipe: only the keys in the commands differ). Rerun the commands below "
             "in a clone after `dvc repro reference_stats selection_stats`, then `python benchmarks/comparison_page.py` "
             "with the same names there.", ""]
    lines += section(args.grid, args.grid_command, out, budget=False)
    if args.budget:
        lines += section(args.budget, args.budget_command, out, budget=True)
    (DOCS / "comparison.md").write_text("\n".join(lines) + "\n")
    print(f"-> {DOCS / 'comparison.md'}, {out}/")


if __name__ == "__main__":
    main()
