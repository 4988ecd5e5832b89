"""`gansweep`: the command line of what is not a DVC stage.

    gansweep study [-S key=value ...] [--n-trials N] [--timeout S] [--workers N|auto]
                   [--storage URL] [--study-name NAME]       run (or resume) params.yaml's study
    gansweep train-best [--study-name NAME]                   train its best params as a DVC experiment
    gansweep report [--study-name NAME ...] [--storage URL] [--screenshot PNG]
                                                              compare its configurations (HTML, CSV, PNG);
                                                              several names: one comparison of those studies
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from gansweep.overrides import parse_yaml
from gansweep.registry import ConfigError


def overrides_from(args) -> dict:
    values = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"-S {item}: expected key=value, e.g. -S train.epochs=4")
        try:
            values[key.strip()] = parse_yaml(value)
        except yaml.YAMLError as err:
            raise ConfigError(f"-S {item}: the value is not valid YAML ({getattr(err, 'problem', None) or err})") from None
    flags = {"n_trials": "search.n_trials", "timeout": "search.timeout", "workers": "search.workers",
             "storage": "search.storage", "study_name": "search.study"}
    return values | {key: getattr(args, attr) for attr, key in flags.items() if getattr(args, attr, None) is not None}


def study(args, argv) -> None:
    from gansweep import study as studies
    from gansweep.config import load_config

    cfg = load_config(args.params, overrides_from(args))
    if args.worker_rank is not None:
        studies.work(cfg, args.worker_rank)
        return
    best = studies.run(cfg, argv)
    folder = studies.study_dir(cfg.search)
    if best["trial"] is None:
        print(f"no trial completed; results in {folder}/")
        return
    print(f"best trial {best['trial']}: {best['objective']} {best['value']:.4g} with {best['params']}")
    print(f"results: {folder}/trials.csv, {folder}/best_params.yaml; train it: gansweep train-best --study-name {cfg.search.study}; "
          f"compare: gansweep report --study-name {cfg.search.study}")


def dvc_set(key: str, value) -> list[str]:
    """`dvc exp run -S` arguments, in Hydra's override grammar: a string quoted (`a,b` would be a sweep),
    a mapping deleted and added again (Hydra refuses keys new to params.yaml's, and would merge the old)."""
    if isinstance(value, dict):
        return ["-S", f"~{key}", "-S", f"++{key}={{{', '.join(f'{k}: {v!r}' for k, v in value.items())}}}"]
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, str) else value
    return ["-S", f"{key}={text}"]


def train_best(args) -> None:
    from gansweep.config import load_config
    from gansweep.storage import study_dir

    cfg = load_config(args.params, overrides_from(args))
    path = study_dir(cfg.search) / "best_params.yaml"
    if not path.exists():
        raise ConfigError(f"{path} is missing: run `gansweep study --study-name {cfg.search.study}` first")
    try:
        best = parse_yaml(path.read_text()) or {}
    except yaml.YAMLError:
        best = None
    if not isinstance(best, dict) or not isinstance(best.get("params") or {}, dict):
        raise ConfigError(f"{path} is damaged: `gansweep study --study-name {cfg.search.study}` writes it again")
    if not best.get("params"):
        raise ConfigError(f"{path}: no trial of study '{cfg.search.study}' has completed yet")
    command = ["dvc", "exp", "run", "-n", f"{cfg.search.study}-best"]
    yours = {k: v for k, v in overrides_from(args).items() if not k.startswith("search.")}  # e.g. a longer train.epochs
    command += [arg for key, value in (best["params"] | yours).items() for arg in dvc_set(key, value)]
    print(shlex.join(command), flush=True)
    if not args.dry_run:
        sys.exit(subprocess.run(command).returncode)


def report(args) -> None:
    from gansweep.config import load_config
    from gansweep.report import report_and_say

    names = args.study_name or []
    args.study_name = names[0] if names else None
    report_and_say(load_config(args.params, overrides_from(args)), names[1:], args.screenshot)


def auto_or_number(value: str):
    return value if value == "auto" else int(value)  # argparse says "invalid auto_or_number value" otherwise


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="gansweep", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", default="params.yaml")
    common.add_argument("-S", "--set", action="append", metavar="KEY=VALUE", help="override a params.yaml value, as dvc exp run -S")
    common.add_argument("--storage", help="postgresql://user@host:port/db (default: a journal file under studies/)")
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("study", parents=[common], help="run or resume params.yaml's Optuna study")
    sub.set_defaults(run=lambda args: study(args, argv))
    sub.add_argument("--study-name")
    sub.add_argument("--n-trials", type=int)
    sub.add_argument("--timeout", type=float, help="seconds")
    sub.add_argument("--workers", type=auto_or_number, help="auto or a number")
    sub.add_argument("--worker-rank", type=int, help=argparse.SUPPRESS)
    sub = commands.add_parser("train-best", parents=[common], help="train a study's best params with `dvc exp run`")
    sub.set_defaults(run=train_best)
    sub.add_argument("--study-name")
    sub.add_argument("--dry-run", action="store_true", help="print the command only")
    sub = commands.add_parser("report", parents=[common],
                              help="compare a study's configurations over seeds: an HTML report, CSV tables, PNG plots")
    sub.set_defaults(run=report)
    sub.add_argument("--study-name", action="append", help="a study to compare; repeat it to compare several as one")
    sub.add_argument("--screenshot", type=Path, metavar="PNG", help="also save the first screen as headless Chromium shows it")
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        if getattr(args, "worker_rank", None) is None:
            print("interrupted: every finished trial is kept; run the same command to resume", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
