"""Did the study do its job? Its winner and the default params, each trained with several seeds at
the study's own protocol: the winner has to beat the default by more than the seed spread.

    gansweep study -S train.epochs=4 ...                      # the study (see docs/study.md)
    python benchmarks/study_check.py -S train.epochs=4 ...    # the same -S: the same protocol

Each (params, seed) is trained and scored by the code a trial runs (gansweep.train.train, then
gansweep.evaluate.evaluate_training) in studies/<study>/check/<params>-seed<k>/, logged to MLflow
under the study's parent run; a finished one is not trained again. Writes docs/study.md: the
study's wall time, trials per hour, share pruned, best FID and params, and the seed table.
"""
import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

import optuna
import torch
import yaml
from optuna.trial import TrialState

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths, space
from gansweep.cli import overrides_from
from gansweep.config import RunConfig, load_config, with_overrides
from gansweep.evaluate import evaluate_training
from gansweep.metrics.fid import load_statistics
from gansweep.storage import masked, open_storage, study_dir
from gansweep.train import train

OUT = Path("docs/study.md")


def trained(cfg: RunConfig, folder: Path, reference: dict, tags: dict) -> dict:
    if (folder / "metrics.json").exists():
        return json.loads((folder / "metrics.json").read_text())
    run = train(cfg, paths.prepared_split("train"), folder / "models", folder, selection_path=paths.SELECTION_STATS,
                checkpoints=folder / "checkpoints", tags=tags)
    return evaluate_training(cfg, run, folder / "models", reference, folder / "metrics.json", folder / "samples.png")


def summary(study: optuna.Study) -> dict:
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs}
    own = [t for t in trials if t.number not in retried and t.state != TrialState.WAITING]
    starts = [t.datetime_start for t in own if t.datetime_start]
    ends = [t.datetime_complete for t in own if t.datetime_complete]
    hours = (max(ends) - min(starts)).total_seconds() / 3600
    states = {s.name: sum(t.state == s for t in own) for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    return {"trials": len(own), "hours": hours, "per_hour": len(own) / hours, "states": states,
            "lost": len(retried), "durations": [(t.datetime_complete - t.datetime_start).total_seconds() for t in own if t.datetime_complete]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-S", "--set", action="append", metavar="KEY=VALUE", help="the study's own -S overrides")
    parser.add_argument("--study-name")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the page to write (default {OUT})")
    parser.add_argument("--winner-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a value the study fixed with -S instead of searching it (e.g. model.architecture=infogan): the "
                             "winner trains with it, the default does not (give the study's other -S without these)")
    args = parser.parse_args()
    cfg = load_config("params.yaml", overrides_from(args))
    search = cfg.search
    study = optuna.load_study(study_name=search.study, storage=open_storage(search, study_dir(search)))
    best_file = study_dir(search) / "best_params.yaml"
    best = yaml.safe_load(best_file.read_text())
    if not best.get("params"):
        sys.exit(f"{best_file}: no completed trial yet")
    reference = load_statistics(paths.REFERENCE_STATS)
    base = cfg.run_config().model_dump()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    fixed = {key: yaml.safe_load(value) for key, _, value in (item.partition("=") for item in args.winner_set)}
    for label, params in (("default", {}), ("best", {**fixed, **best["params"]})):
        for seed in seeds:
            run_cfg = RunConfig.model_validate(with_overrides(base, {**params, "train.seed": seed}))
            tags = {"mlflow.parentRunId": study.user_attrs["mlflow_parent_run_id"], "gansweep.check": f"{label}-seed{seed}"}
            results[label, seed] = trained(run_cfg, study_dir(search) / "check" / f"{label}-seed{seed}", reference, tags)
            print(f"{label} params, train.seed {seed}: FID {results[label, seed]['fid']:.2f}", flush=True)
    write(cfg, study, best, results, seeds, args.set or [], args.out, args.winner_set)


def write(cfg, study, best, results, seeds, sets, out=OUT, winner_sets=()):
    s = summary(study)
    fids = {label: [results[label, seed]["fid"] for seed in seeds] for label in ("default", "best")}
    mean = {k: statistics.mean(v) for k, v in fids.items()}
    sd = {k: statistics.stdev(v) for k, v in fids.items()}
    gap = mean["default"] - mean["best"]
    spread = max(sd.values())
    verdict = (f"**The winner beats the default by {gap:.2f} FID, more than the seed spread (sd up to {spread:.2f}): "
               "the study did its job.**" if gap > spread else
               f"**The winner does not beat the default by more than the seed spread ({gap:+.2f} FID against an sd of up to "
               f"{spread:.2f}): at this budget the study did not find a better GAN than the defaults.**")
    quote = lambda item: f"'{item}'" if " " in item else item  # noqa: E731
    flags = " ".join([f"--study-name {cfg.search.study}", *(f"-S {quote(item)}" for item in [*winner_sets, *sets])])
    check_flags = " ".join([f"--study-name {cfg.search.study}", *(f"-S {quote(item)}" for item in sets),
                            *(f"--winner-set {quote(item)}" for item in winner_sets)])
    fixed = dict(item.split("=", 1) for item in winner_sets)
    median = statistics.median(s["durations"])
    lines = [
        "# A study on the CPU, and whether its winner is really better",
        "",
        f"Made on a fresh clone after `dvc repro reference_stats selection_stats`, on {platform.machine()} ({_cpu()}, "
        f"{torch.get_num_threads()} threads), torch {torch.__version__}, dataset {cfg.data.dataset}:",
        "",
        "```bash",
        f"time gansweep study {flags}",
        f"python benchmarks/study_check.py {check_flags}" + ("" if out == OUT else f" --out {out}"),
        "```",
        "",
        f"The `-S` values are the study's own (its search space, any change of budget); everything else is the shipped "
        f"params.yaml: search space `{json.dumps(space.as_data(cfg.search.space))}`, "
        f"sampler {cfg.search.sampler}, pruner {cfg.search.pruner}, storage {masked(cfg.search.storage)}, "
        f"objective: {cfg.search.objective} of the selected generator, {cfg.metrics.generated_images} generated vs "
        f"{cfg.metrics.reference_images} real images.",
        "",
        "## The study",
        "",
        f"- {s['trials']} trials in {s['hours'] * 60:.0f} minutes (first start to last end): **{s['per_hour']:.1f} trials per hour**; "
        f"median trial {median:.0f} s",
        f"- complete {s['states']['COMPLETE']}, pruned {s['states']['PRUNED']} (**{s['states']['PRUNED'] / s['trials']:.0%} pruned**), "
        f"failed {s['states']['FAIL']}; trials lost with a killed worker and run again: {s['lost']}",
        f"- best: trial {best['trial']}, FID **{best['value']:.2f}**, params `{json.dumps(best['params'])}`"
        + (f" on top of the study's fixed `{json.dumps(fixed)}` (the winner's row trains with them, the default's without)" if fixed else ""),
        f"- the default params at the same protocol (train.seed {seeds[0]}): FID **{results['default', seeds[0]]['fid']:.2f}**",
        "",
        "## Winner and default, trained again with other seeds",
        "",
        "| params | " + " | ".join(f"train.seed {seed}" for seed in seeds) + " | mean | sd |",
        "| --- | " + " | ".join("---:" for _ in seeds) + " | ---: | ---: |",
    ]
    for label in ("default", "best"):
        lines.append(f"| {label} | " + " | ".join(f"{f:.2f}" for f in fids[label]) + f" | {mean[label]:.2f} | {sd[label]:.2f} |")
    lines += ["", verdict, "",
              f"The best params at train.seed {seeds[0]} gave {fids['best'][0]:.2f} here and {best['value']:.2f} as trial "
              f"{best['trial']}: the same code and seed; CPU floating point also depends on the number of torch threads "
              f"(this check ran with {torch.get_num_threads()}), so the two are bit-equal only with the same machine and threads."]
    out.write_text("\n".join(lines) + "\n")
    print(f"-> {out}")


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
