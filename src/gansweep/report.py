"""A study's or grid's comparison report (`gansweep report`, stage `report` of studies/dvc.yaml).

Reads the trials from the study's Optuna storage and their runs from MLflow, and writes to
studies/<study>/report/: report.html (one file, images embedded), its tables as CSV, its plots as
PNG; the same go to the study's parent MLflow run under report/. A configuration is a trial's
params without the training seed, so a grid with `train.seed` in its space has one row per cell
with its seeds pooled. Nothing in it depends on the time it was written: the same trials give the
same bytes.
"""
from __future__ import annotations

import base64
import html
import json
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import yaml
from optuna.trial import TrialState

from gansweep import budget, stats, tracking
from gansweep.overrides import changed_keys, lookup
from gansweep.registry import ConfigError
from gansweep.storage import masked, open_storage, retried, study_dir

SEED = "train.seed"
TOP = 5  # configurations compared pairwise
REPORT_DIR = "report"


@dataclass
class Comparison:
    """Everything the report shows, as tables."""

    study: str
    sampler: str
    objective: str
    factors: list[str]          # searched keys but the seed
    categorical: list[str]      # the factors with a choice list: those with marginal effects
    trials: pd.DataFrame        # one row per trial
    configurations: pd.DataFrame
    marginal: pd.DataFrame
    pairs: list[stats.Pair]
    protocol: str               # the protocol the comparison is made under
    curves: pd.DataFrame        # trial, epoch, eval_fid
    warnings: list[str] = field(default_factory=list)
    samples: dict[str, bytes] = field(default_factory=dict)  # configuration -> PNG of its best seed
    run_link: str = "{}"  # the MLflow UI address of a run, {} its id
    params: dict = field(default_factory=dict)  # the study's params: what every trial starts from
    budget_factor: str | None = None  # a budget-fair study's factor (Lucic et al. 2018)
    budget_curves: list = field(default_factory=list)  # gansweep.budget.Curve per level
    budget_verdicts: list = field(default_factory=list)  # gansweep.budget.Verdict per pair of levels


# ----------------------------------------------------------------------------------------------
# Reading a study


def open_study(cfg) -> optuna.Study:
    search = cfg.search
    folder = study_dir(search)
    if search.storage is None and not (folder / "journal.log").exists():
        raise ConfigError(f"no study '{search.study}' in {folder}/: run `gansweep study --study-name {search.study}` first")
    try:
        return optuna.load_study(study_name=search.study, storage=open_storage(search, folder))
    except KeyError:
        raise ConfigError(f"no study '{search.study}' in {masked(search.storage)}: run `gansweep study --study-name {search.study}` first") from None


def _runs(client, experiment_id: str, parent: str) -> dict[int, object]:
    """The trials' MLflow runs by trial number (a rejected or retried trial has one too)."""
    found, token = {}, None
    while True:
        page = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'", max_results=1000, page_token=token)
        for run in page:
            number = run.data.tags.get("optuna.trial_number")
            if number is not None and (int(number) not in found or run.info.status == "FINISHED"):
                found[int(number)] = run
        token = page.token
        if not token:
            return found


def _protocol_label(tags: dict) -> str | None:
    if "protocol.dataset" not in tags:
        return None
    return (f"{tags['protocol.dataset']}: {tags['protocol.generated_images']} generated vs {tags['protocol.reference_images']} "
            f"{tags['protocol.reference_split']} images, {tags['protocol.convention']} FID")


def _short(key: str) -> str:
    """A searched key as a column label: loss, g_activation, d_spectral_norm, ebgan.margin."""
    if key == "loss.name":
        return "loss"
    if key.startswith("loss.options."):
        return key.removeprefix("loss.options.")
    return key.split(".", 1)[1]


def _value(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def read_trials(study: optuna.Study, client, factors: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """One row per trial that counts (a trial lost with its worker and run again is left out),
    and the periodic evaluation curves of the complete ones. `factors`: the keys that make a
    configuration (default: the study's space); one the study did not search takes its params value."""
    attrs = study.user_attrs
    identity = attrs["identity"]
    factors = [key for key in identity["space"] if key != SEED] if factors is None else factors
    runs = _runs(client, attrs["mlflow_experiment_id"], attrs["mlflow_parent_run_id"])
    trials = study.get_trials(deepcopy=False)
    rows, curves, again = [], [], retried(trials)
    for trial in trials:
        if trial.number in again or trial.state == TrialState.WAITING:
            continue
        run = runs.get(trial.number)
        tags = run.data.tags if run else {}
        values = {key: trial.params[key] if key in trial.params else
                  (None if key in identity["space"] else lookup(identity["params"], key)) for key in factors}
        rows.append({
            "study": study.study_name,
            "trial": trial.number,
            "state": trial.state.name,
            "configuration": ", ".join(f"{_short(k)}={_value(v)}" for k, v in values.items() if v is not None) or "params.yaml",
            **{key: values[key] for key in factors},
            "seed": trial.params.get(SEED, identity["params"]["train"]["seed"]),
            "fid": trial.user_attrs.get("fid"),
            "kid": trial.user_attrs.get("kid"),
            "protocol": _protocol_label(tags),
            "git_commit": tags.get("mlflow.source.git.commit"),
            "code_sha256": tags.get("gansweep.code_sha256"),
            "data_sha256": tags.get("gansweep.data_sha256"),
            "mlflow_run_id": run.info.run_id if run else None,
            "reason": trial.user_attrs.get("fail_reason"),
            "overrides": json.dumps(trial.user_attrs.get("overrides", {}), sort_keys=True),
        })
        if run is not None and trial.state == TrialState.COMPLETE:
            for point in client.get_metric_history(run.info.run_id, "eval_fid"):
                curves.append({"study": study.study_name, "trial": trial.number, "epoch": point.step + 1, "eval_fid": point.value})
    frame = pd.DataFrame(rows)
    curve_frame = pd.DataFrame(curves, columns=["study", "trial", "epoch", "eval_fid"]).drop_duplicates(["study", "trial", "epoch"], keep="last")
    return frame, curve_frame, identity


def read_studies(studies: list[optuna.Study], client) -> tuple[pd.DataFrame, pd.DataFrame, dict, list[str]]:
    """Several studies as one comparison (a grid run in parts, or on several machines): they must
    share the objective and the protocol; their spaces are joined, and a key one study did not
    search takes that study's params value. Returns trials, curves, the joined identity, notes."""
    identities = [s.user_attrs["identity"] for s in studies]
    first = identities[0]
    for study, identity in zip(studies[1:], identities[1:]):
        for key in ("protocol", "objective"):
            if identity[key] != first[key]:
                raise ConfigError(f"study '{study.study_name}' was measured with another {key} ({identity[key]}) than "
                                  f"'{studies[0].study_name}' ({first[key]}): their numbers cannot be compared in one report")
    space: dict = {}
    for identity in identities:
        for key, spec in identity["space"].items():
            if isinstance(spec, list) and isinstance(space.get(key), list):
                space[key] = space[key] + [v for v in spec if v not in space[key]]
            else:
                space.setdefault(key, spec)
    # A key the studies fixed at different values (one study per architecture, say) is a factor of the comparison.
    differ = sorted({key for identity in identities[1:] for key in changed_keys(first["params"], identity["params"]) if key not in space})
    for key in differ:
        space[key] = list(dict.fromkeys(lookup(identity["params"], key) for identity in identities))
    factors = [key for key in space if key != SEED]
    frames, curve_frames = zip(*[read_trials(study, client, factors)[:2] for study in studies])
    notes = [f"The studies start from different values of {', '.join(differ)}: compared as factors."] if differ else []
    samplers = sorted({identity["sampler"] for identity in identities})
    joined = {**first, "space": space, "sampler": samplers[0] if len(samplers) == 1 else " + ".join(samplers)}
    if any(identity.get("budget_factor") != first.get("budget_factor") for identity in identities):
        joined.pop("budget_factor", None)
    return pd.concat(frames, ignore_index=True), pd.concat(curve_frames, ignore_index=True), joined, notes


# ----------------------------------------------------------------------------------------------
# The comparison


def _summary(values: pd.Series, seed: int) -> dict:
    values = values.dropna().to_numpy(float)
    low, high = stats.bootstrap_interval(values, seed=seed) if len(values) else (math.nan, math.nan)
    return {"mean": values.mean() if len(values) else math.nan, "sd": values.std(ddof=1) if len(values) > 1 else math.nan,
            "ci_low": low, "ci_high": high}


def configurations(trials: pd.DataFrame, factors: list[str], objective: str, main: str | None) -> pd.DataFrame:
    """One row per configuration and protocol; a trial that never finished (no protocol) counts
    with its configuration under the main protocol."""
    rows = []
    for (label, protocol), group in trials.groupby(["configuration", trials["protocol"].fillna(main or "")], sort=False, dropna=False):
        complete = group[group["state"] == "COMPLETE"].sort_values(["seed", "trial"], kind="stable")
        row = {"configuration": label, **{key: group[key].iloc[0] for key in factors},
               "seeds": len(complete), "pruned": int((group["state"] == "PRUNED").sum()), "failed": int((group["state"] == "FAIL").sum())}
        for metric in ("fid", "kid"):
            for name, value in _summary(complete[metric], seed=len(rows)).items():
                row[f"{metric}_{name}"] = value
        best = complete.loc[complete[objective].idxmin()] if len(complete) else None
        row.update({"best_seed": best["seed"] if best is not None else None, "best_trial": best["trial"] if best is not None else None,
                    "best_run_id": best["mlflow_run_id"] if best is not None else None,
                    "seed_values": " ".join(f"{s}:{v:.4g}" for s, v in zip(complete["seed"], complete[objective])),
                    "code_versions": complete["code_sha256"].nunique(), "protocol": protocol or None})
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values([f"{objective}_mean", "configuration"], na_position="last", kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def compare(studies: optuna.Study | list[optuna.Study], client) -> Comparison:
    studies = studies if isinstance(studies, list) else [studies]
    trials, curves, identity, notes = read_studies(studies, client)
    name = " + ".join(s.study_name for s in studies)
    space = identity["space"]
    factors = [key for key in space if key != SEED]
    categorical = [key for key in factors if isinstance(space[key], list)]
    objective = identity["objective"]
    if trials.empty:
        raise ConfigError(f"study '{name}' has no trials yet: run `gansweep study --study-name {studies[0].study_name}`")
    complete = trials[trials["state"] == "COMPLETE"]
    protocols = complete["protocol"].value_counts()
    main = protocols.index[0] if len(protocols) else None
    table = configurations(trials, factors, objective, main)
    warnings = notes + _warnings(trials, table, identity, categorical, protocols)

    ranked = table[(table["protocol"] == main) & (table["seeds"] > 0)] if main else table.iloc[:0]
    top = ranked.head(TOP)
    groups = {row.configuration: complete[(complete["configuration"] == row.configuration) & (complete["protocol"] == main)][objective].tolist()
              for row in top.itertuples()}
    pairs = stats.pairwise(groups)
    marginal = pd.DataFrame()
    if categorical and len(ranked) > 1:
        in_main = complete[complete["protocol"] == main]
        cells = {key: group[objective].tolist() for key, group in in_main.groupby(categorical, dropna=False)}
        cells = {(key if isinstance(key, tuple) else (key,)): values for key, values in cells.items()}
        marginal = pd.DataFrame(stats.marginal_effects(cells, categorical))
        marginal["level"] = marginal["level"].map(_value)
    comparison = Comparison(name, identity["sampler"], objective, factors, categorical, trials, table, marginal,
                            pairs, main, curves, warnings)
    comparison.samples = _samples(client, ranked)
    comparison.params = identity["params"]
    if identity.get("budget_factor"):
        _budget(comparison, identity, complete[complete["protocol"] == main])
    return comparison


def _budget(c: Comparison, identity: dict, complete: pd.DataFrame) -> None:
    """Each level's expected best value per number of trials, from its complete trials."""
    factor = c.budget_factor = identity["budget_factor"]
    levels = identity["space"][factor]
    values = {_value(level): complete[complete[factor] == level][c.objective].dropna().tolist() for level in levels}
    measured = {level: xs for level, xs in values.items() if xs}
    c.budget_curves, c.budget_verdicts = budget.compare_levels(measured)
    left_out = c.trials[(c.trials["state"] != "COMPLETE") & (c.trials["state"] != "RUNNING")].groupby(factor)["state"].count()
    if len(left_out):
        c.warnings.append("Budget curves use complete trials only; left out (pruned or failed): "
                          + ", ".join(f"{_value(level)} {n}" for level, n in left_out.items())
                          + ". A level that fails often looks better than it is.")
    shares = {level: len(xs) for level, xs in values.items()}
    if len(set(shares.values())) > 1:
        c.warnings.append("Levels have different numbers of complete trials (" + ", ".join(f"{k} {v}" for k, v in shares.items())
                          + "): each pair is compared up to the smaller number.")


def _warnings(trials, table, identity, categorical, protocols) -> list[str]:
    notes = []
    complete = trials[trials["state"] == "COMPLETE"]
    if len(protocols) > 1:
        notes.append(f"Trials were measured under {len(protocols)} protocols ({'; '.join(protocols.index)}): they are listed "
                     f"separately and only those of '{protocols.index[0]}' are compared.")
    for column, what in (("code_sha256", "code versions"), ("data_sha256", "datasets (data hashes)"), ("git_commit", "git commits")):
        versions = complete[column].dropna().unique()
        if len(versions) > 1:
            mixed = table[table["code_versions"] > 1]["configuration"].tolist() if column == "code_sha256" else []
            notes.append(f"Complete trials ran {len(versions)} {what} ({', '.join(sorted(v[:12] for v in versions))}): differences may come "
                         f"from the change, not the configuration" + (f"; mixed within: {'; '.join(mixed)}" if mixed else "") + ".")
    pruned, failed = (trials["state"] == "PRUNED").sum(), (trials["state"] == "FAIL").sum()
    if pruned:
        notes.append(f"{pruned} trial(s) were pruned: their configurations have fewer seeds, and the survivors are the lucky ones"
                     + (" (set search.pruner: none for a comparison)." if identity["sampler"] == "grid" else "."))
    if failed:
        reasons = trials[trials["state"] == "FAIL"]["reason"].fillna("unknown").value_counts()
        notes.append(f"{failed} trial(s) failed: " + "; ".join(f"{n} x {r}" for r, n in reasons.items()) + ".")
    unfinished = trials["state"].isin(["RUNNING"]).sum()
    if unfinished:
        notes.append(f"The study is still running ({unfinished} trial(s)): this report shows what had finished.")
    if identity["sampler"] == "grid" and categorical:
        expected = math.prod(len(identity["space"][key]) for key in categorical)
        measured = table[table["seeds"] > 0]["configuration"].nunique()
        if measured < expected:
            notes.append(f"{measured} of the grid's {expected} configurations have a complete trial: marginal means average over the cells present.")
    elif identity["sampler"] != "grid":
        notes.append(f"Configurations were chosen by the {identity['sampler']} sampler, not a designed grid: a marginal mean averages "
                     "whatever it chose to try (confounded), and most configurations have one seed.")
    seeds = table[table["seeds"] > 0]["seeds"]
    if len(seeds) and seeds.min() < stats.MANY_SEEDS:
        notes.append(f"Per-configuration intervals come from {seeds.min()}-{seeds.max()} seeds: with fewer than {stats.MANY_SEEDS} seeds a "
                     "95% bootstrap interval is too narrow (measured: it covers the true mean 75% of the time with 3 seeds, 84% with 5, 90% with 10; docs/report.md)"
                     + ("; a configuration with one seed has no interval." if seeds.min() == 1 else "."))
    return notes


def _samples(client, ranked: pd.DataFrame) -> dict[str, bytes]:
    """Each configuration's sample grid from its best seed (the run's samples.png)."""
    import tempfile

    found = {}
    with tempfile.TemporaryDirectory() as scratch:
        for row in ranked.itertuples():
            if not row.best_run_id:
                continue
            try:
                path = client.download_artifacts(row.best_run_id, "samples.png", scratch)
            except Exception:  # noqa: BLE001 - an artifact store that lost it: the row shows no image
                continue
            found[row.configuration] = Path(path).read_bytes()
    return found


# ----------------------------------------------------------------------------------------------
# Plots


def _figure(height: float, width: float = 8.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _save(figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


def plot_bars(c: Comparison, path: Path) -> Path:
    table = c.configurations[c.configurations["seeds"] > 0].iloc[::-1]
    figure, axes = _figure(1.2 + 0.35 * len(table))
    metric = c.objective
    mean = table[f"{metric}_mean"].to_numpy(float)
    low, high = table[f"{metric}_ci_low"].to_numpy(float), table[f"{metric}_ci_high"].to_numpy(float)
    errors = np.nan_to_num(np.vstack([mean - low, high - mean]))
    axes.barh(table["configuration"], mean, xerr=errors, color="#8fb3d9", ecolor="#1f3b5c", capsize=3)
    for y, values in enumerate(table["seed_values"]):
        points = [float(v.split(":")[1]) for v in values.split()]
        axes.plot(points, [y] * len(points), "o", color="#d9541e", markersize=4, zorder=3)
    axes.set_xlabel(f"{metric.upper()} (lower is better): mean, 95% bootstrap interval, one dot per seed")
    axes.tick_params(axis="y", labelsize=8)
    return _save(figure, path)


def plot_seed_spread(c: Comparison, path: Path) -> Path:
    complete = c.trials[(c.trials["state"] == "COMPLETE") & (c.trials["protocol"] == c.protocol)]
    order = [label for label in c.configurations["configuration"] if label in set(complete["configuration"])]
    figure, axes = _figure(1.2 + 0.35 * len(order))
    for seed, group in complete.groupby("seed"):
        y = [order.index(label) for label in group["configuration"]]
        axes.plot(group[c.objective], y, "o", label=f"seed {seed}", alpha=0.8)
    axes.set_yticks(range(len(order)), order, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(f"{c.objective.upper()} of each seed (spread = what one run alone cannot tell)")
    axes.legend(fontsize=7, loc="best")
    return _save(figure, path)


def plot_curves(c: Comparison, path: Path) -> Path:
    """The periodic evaluation (selection FID) over training, averaged per loss (or configuration)."""
    figure, axes = _figure(3.6)
    if not c.curves.empty:
        by = "loss.name" if "loss.name" in c.factors else "configuration"
        merged = c.curves.merge(c.trials[["study", "trial", by]], on=["study", "trial"])
        for name, group in merged.groupby(by, sort=True):
            mean = group.groupby("epoch")["eval_fid"].agg(["mean", "min", "max"])
            axes.plot(mean.index, mean["mean"], marker="o", label=str(name))
            axes.fill_between(mean.index, mean["min"], mean["max"], alpha=0.15)
        axes.legend(fontsize=7)
    axes.set_xlabel("epoch")
    axes.set_ylabel("selection FID (mean; band: min-max)")
    axes.set_title("FID over training (the periodic evaluation: few images, for ranking only)", fontsize=9)
    return _save(figure, path)


def plot_marginal(c: Comparison, path: Path) -> Path:
    factors = c.categorical if not c.marginal.empty else []
    figure, axes_list = _figure(1.0 + 0.9 * max(1, len(factors)) + 0.25 * len(c.marginal))
    figure.clf()
    heights = [max(1, int((c.marginal["factor"] == f).sum())) for f in factors] or [1]
    grid = figure.add_gridspec(len(heights), 1, height_ratios=heights)
    for i, factor in enumerate(factors):
        axes = figure.add_subplot(grid[i])
        rows = c.marginal[c.marginal["factor"] == factor]
        errors = np.vstack([rows["effect"] - rows["effect_low"], rows["effect_high"] - rows["effect"]])
        axes.errorbar(rows["effect"], range(len(rows)), xerr=errors, fmt="o", capsize=3)
        axes.axvline(0, color="grey", linewidth=0.8)
        axes.set_yticks(range(len(rows)), rows["level"], fontsize=8)
        axes.set_title(_short(factor), fontsize=9, loc="left")
    figure.supxlabel(f"effect on {c.objective.upper()} against the average configuration (negative = better), 95% interval", fontsize=8)
    return _save(figure, path)


# ----------------------------------------------------------------------------------------------
# Writing it


def conclusion(c: Comparison) -> list[str]:
    """The report's first lines, in words."""
    metric = c.objective.upper()
    ranked = c.configurations[(c.configurations["protocol"] == c.protocol) & (c.configurations["seeds"] > 0)]
    if ranked.empty:
        return ["No trial has completed yet."]
    if c.budget_factor:
        return budget_conclusion(c)
    best = ranked.iloc[0]
    m = c.objective
    interval = "" if math.isnan(best[f"{m}_ci_low"]) else f", 95% interval {best[f'{m}_ci_low']:.4g} to {best[f'{m}_ci_high']:.4g}"
    lines = [f"Lowest {metric}: {best['configuration']}: {best[f'{m}_mean']:.4g} (mean of {best['seeds']} seed(s){interval})."]
    if c.pairs:
        first = next((p for p in c.pairs if {p.a, p.b} == set(ranked["configuration"].iloc[:2])), None)
        if first is not None:
            lines.append(first.sentence(metric) + ".")
        tested = [p for p in c.pairs if not math.isnan(p.p)]
        significant = [p for p in tested if p.significant]
        lines.append(f"Among the top {min(TOP, len(ranked))}: {len(significant)} of {len(tested)} pairwise differences are significant "
                     "after Holm's correction; the rest may be seed noise.")
    for factor in c.categorical:
        rows = c.marginal[c.marginal["factor"] == factor] if not c.marginal.empty else c.marginal
        if len(rows) < 2:
            continue
        top = rows.loc[rows["effect"].idxmin()]
        sure = top["effect_high"] < 0
        lines.append(f"{_short(factor)}: {top['level']} is best on average over the other choices ({top['effect']:+.3g} {metric} against the average, "
                     f"95% interval {top['effect_low']:+.3g} to {top['effect_high']:+.3g}{'' if sure else '; not clearly better'}).")
    return lines


def budget_conclusion(c: Comparison) -> list[str]:
    metric = c.objective.upper()
    lines = []
    for curve in sorted(c.budget_curves, key=lambda curve: curve.mean[-1]):
        lines.append(f"{curve.level}: expected best {metric} {curve.mean[0]:.4g} after 1 trial, {curve.mean[-1]:.4g} after {curve.trials} "
                     f"(95% band {curve.low[-1]:.4g} to {curve.high[-1]:.4g}).")
    differ = [v for v in c.budget_verdicts if v.a_better or v.b_better]
    lines += [v.sentence(metric) + "." for v in differ]
    if not differ and len(c.budget_curves) > 1:
        lines.append(f"No {_short(c.budget_factor)} is better than another at any budget measured (95% bootstrap): "
                     "with these trials the choice does not matter, or more trials are needed to tell.")
    return lines


def budget_table(c: Comparison) -> pd.DataFrame:
    return pd.DataFrame([{"level": curve.level, "trials": curve.trials, "budget": k, f"expected_best_{c.objective}": mean,
                          "ci_low": low, "ci_high": high}
                         for curve in c.budget_curves for k, mean, low, high in zip(curve.budgets, curve.mean, curve.low, curve.high)])


def plot_budget(c: Comparison, path: Path) -> Path:
    figure, axes = _figure(3.8, 7.0)
    for curve in c.budget_curves:
        axes.plot(curve.budgets, curve.mean, marker="o", label=f"{curve.level} ({curve.trials} trials)")
        axes.fill_between(curve.budgets, curve.low, curve.high, alpha=0.15)
    axes.set_xlabel("budget: hyperparameter trials per level")
    axes.set_ylabel(f"expected best {c.objective.upper()} (95% bootstrap band)")
    axes.set_title(f"Best {c.objective.upper()} per tuning budget, by {_short(c.budget_factor)} (Lucic et al. 2018, Fig. 4)", fontsize=9)
    axes.legend(fontsize=7)
    return _save(figure, path)


def _table_html(frame: pd.DataFrame, caption: str, images: dict[str, bytes] | None = None, links: dict[str, str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(col))}</th>" for col in frame.columns) + ("<th>samples (best seed)</th>" if images is not None else "")
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, row):
            text = _cell(value)
            if links and col in links and value:
                text = f'<a href="{html.escape(links[col].format(value))}">{html.escape(str(value)[:12])}</a>'
            cells.append(f"<td>{text}</td>")
        if images is not None:
            png = images.get(row[list(frame.columns).index("configuration")])
            cells.append(f'<td><img class="samples" src="data:image/png;base64,{base64.b64encode(png).decode()}"></td>' if png else "<td></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{''.join(body)}</table>"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _grid(png: bytes | None, caption: str) -> str:
    if png is None:
        return ""
    return (f'<figure><img class="grid" alt="{html.escape(caption)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _ranked(c: Comparison) -> pd.DataFrame:
    return c.configurations[(c.configurations["protocol"] == c.protocol) & (c.configurations["seeds"] > 0)]


def first_screen_grids(c: Comparison) -> str:
    """The sample grids of the best and the worst configuration (best seed each), beside the conclusion."""
    ranked = _ranked(c)
    if ranked.empty:
        return ""
    m = c.objective
    rows = [("best", ranked.iloc[0])] + ([("worst", ranked.iloc[-1])] if len(ranked) > 1 else [])
    return "".join(_grid(c.samples.get(row["configuration"]), f"{label}: {row['configuration']} ({m.upper()} {row[f'{m}_mean']:.4g}, "
                         f"seed {int(row['best_seed'])})") for label, row in rows)


def grids_by_level(c: Comparison) -> str:
    """For each choice factor, the grid of the best configuration with each of its levels: a factor compared by eye."""
    ranked = _ranked(c)
    m, parts = c.objective, []
    for factor in c.categorical:
        figures = []
        for level, group in ranked.groupby(factor, dropna=False, sort=False):  # ranked: the first row of each is its best
            row = group.iloc[0]
            level = None if isinstance(level, float) and math.isnan(level) else level
            figures.append(_grid(c.samples.get(row["configuration"]), f"{_value(level)}: {m.upper()} {row[f'{m}_mean']:.4g} "
                                 f"({row['configuration']})"))
        if len(figures) > 1:
            parts.append(f"<h3>{html.escape(_short(factor))}</h3><div class=\"row\">{''.join(figures)}</div>")
    return "".join(parts)


def _image(path: Path, alt: str) -> str:
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


STYLE = """body{font-family:system-ui,sans-serif;margin:1.2em 2em;max-width:1250px;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin-top:1.6em}.protocol{color:#555;margin:0 0 .6em}
.conclusion{background:#eef5ee;border-left:4px solid #3a7d44;padding:.5em 1em;margin:.5em 0}.conclusion p{margin:.3em 0}
.warnings{background:#fff6e0;border-left:4px solid #d89b00;padding:.3em 1em;font-size:.9em}.warnings li{margin:.2em 0}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
caption{text-align:left;font-weight:600;padding:.3em 0}td:nth-child(2){text-align:left}img.samples{width:72px;image-rendering:pixelated}
img.plot{max-width:100%}.row{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}code{font-size:.85em}
.first{display:flex;gap:1.2em;align-items:flex-start}.first .conclusion{flex:1}figure{margin:0;max-width:200px}
img.grid{width:190px;image-rendering:pixelated;border:1px solid #ccc}figcaption{font-size:.75em;color:#444}h3{font-size:.95em}"""


def render(c: Comparison, plots: dict[str, Path], link: str) -> str:
    m = c.objective
    caption = f"Protocol: {c.protocol or 'none completed'}"
    ranked = c.configurations
    columns = ["rank", "configuration", "seeds", "pruned", "failed", f"{m}_mean", f"{m}_sd", f"{m}_ci_low", f"{m}_ci_high",
               *[x for x in ("fid_mean", "fid_ci_low", "fid_ci_high", "kid_mean", "kid_ci_low", "kid_ci_high") if not x.startswith(m)],
               "best_seed", "seed_values", "code_versions", "protocol"]
    pairs = pd.DataFrame([{"configuration A": p.a, "configuration B": p.b, f"B - A ({m.upper()})": p.difference, "95% low": p.low,
                           "95% high": p.high, "p (Welch)": p.p, "p (Holm)": p.p_holm, "significant": p.significant, "in words": p.sentence(m.upper())}
                          for p in c.pairs])
    trials = c.trials[[*(["study"] if c.trials["study"].nunique() > 1 else []), "trial", "state", "configuration", "seed", "fid", "kid", "overrides", "git_commit", "code_sha256", "data_sha256",
                       "mlflow_run_id", "reason"]]
    sections = [
        f"<h1>{html.escape(c.study)}: which configuration gives the lowest {m.upper()}</h1>",
        f'<p class="protocol">{html.escape(caption)}. Sampler: {html.escape(c.sampler)}. Trials: '
        + ", ".join(f"{n} {s.lower()}" for s, n in c.trials["state"].value_counts().sort_index().items()) + ".</p>",
        '<div class="first"><div class="conclusion">' + "".join(f"<p>{html.escape(line)}</p>" for line in conclusion(c)) + "</div>"
        + first_screen_grids(c) + "</div>",
        ('<ul class="warnings">' + "".join(f"<li>{html.escape(w)}</li>" for w in c.warnings) + "</ul>") if c.warnings else "",
        *([f"<h2>Best {m.upper()} per tuning budget</h2><p>For each {html.escape(_short(c.budget_factor))}, the expected best {m.upper()} "
           "of k trials with the other hyperparameters drawn at random: the mean minimum over every k-subset of its trials "
           "(exact), with a bootstrap band over the trials (Lucic et al. 2018, Sec. 5). Towards the full budget the curve is "
           "the best trial itself, and its band (a bootstrap of a minimum) is too narrow: trust the left part most.</p>", _image(plots["budget_curves"], "budget curves")]
          if c.budget_factor else []),
        f'<div class="row">{_image(plots["fid_by_configuration"], "FID by configuration")}</div>',
        "<h2>Configurations</h2>",
        _table_html(ranked[columns], f"Per configuration over seeds; mean, sd, 95% percentile bootstrap interval. {caption}", c.samples),
        *(["<h2>Samples by choice</h2><p>The best configuration with each level of each choice (its best seed).</p>", grids_by_level(c)]
          if grids_by_level(c) else []),
        "<h2>Marginal effects</h2><p>Each choice averaged over the others (each cell weighted equally), against the average configuration; "
        "95% t-intervals with the seed-to-seed variance pooled over the cells (the ANOVA error term).</p>",
        _table_html(c.marginal, f"Marginal {m.upper()} per level. {caption}") if not c.marginal.empty else "<p>No categorical factor with two measured levels.</p>",
        _image(plots["marginal_effects"], "marginal effects") if not c.marginal.empty else "",
        f"<h2>Pairwise comparisons of the top {TOP}</h2><p>Welch's t-test (unequal variances) per pair, p-values corrected with Holm's "
        "step-down method over the pairs shown; +- is half the 95% interval of the difference (not corrected: trust the Holm p-value).</p>",
        _table_html(pairs, f"B - A > 0: A is better. {caption}") if len(pairs) else "<p>Fewer than two configurations to compare.</p>",
        "<h2>Over training and across seeds</h2>",
        f'<div class="row">{_image(plots["fid_over_training"], "FID over training")}{_image(plots["seed_spread"], "seed spread")}</div>',
        "<h2>Reproduce every number</h2><p>Each trial is the pipeline's train and evaluate code on the study's params (its "
        "<code>overrides</code> on top of them; see <code>runs.csv</code>). Its MLflow run holds all params, the code "
        "(git commit, gansweep.code_sha256), the data hash and the model. Open the links after "
        f"<code>{html.escape(link)}</code>.</p>",
        _table_html(trials, f"Every trial. {caption}", links={"mlflow_run_id": c.run_link}),
        "<details><summary>The study's params (every trial's starting point; <code>overrides</code> above are applied on top)</summary>"
        f"<pre>{html.escape(yaml.safe_dump(c.params, sort_keys=False))}</pre></details>",
    ]
    return f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(c.study)} report</title><style>{STYLE}</style></head><body>" + "\n".join(sections) + "</body></html>\n"


def write(c: Comparison, folder: Path, link: str) -> list[Path]:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    plots = {"fid_by_configuration": plot_bars(c, folder / "fid_by_configuration.png"),
             "seed_spread": plot_seed_spread(c, folder / "seed_spread.png"),
             "fid_over_training": plot_curves(c, folder / "fid_over_training.png"),
             "marginal_effects": plot_marginal(c, folder / "marginal_effects.png")}
    tables = {"configurations": c.configurations, "marginal_effects": c.marginal, "runs": c.trials,
              "pairwise": pd.DataFrame([{**p.__dict__, "sentence": p.sentence(c.objective.upper())} for p in c.pairs])}
    if c.budget_factor:
        plots["budget_curves"] = plot_budget(c, folder / "budget_curves.png")
        tables["budget_curves"] = budget_table(c)
    paths = []
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        paths.append(folder / f"{name}.csv")
    (folder / "report.html").write_text(render(c, plots, link))
    return [folder / "report.html", *paths, *plots.values()]


def screenshot(html_path: Path, png: Path, width: int = 1280, height: int = 900) -> Path:
    """The first screen of the report as headless Chromium shows it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise ConfigError("--screenshot needs Chromium (Debian/Ubuntu: apt-get install chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},{height}",
                    f"--screenshot={png.resolve()}", html_path.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    return png


def report(cfg, also: list[str] = ()) -> tuple[Comparison, Path]:
    """`gansweep report`: the comparison of params.yaml's (or --study-name's) study, written to
    studies/<study>/report/ and to the study's parent MLflow run. With `also` (more study names),
    one comparison of all of them, in studies/<study>+<other>.../report/ and under that name on
    the first study's MLflow run."""
    names = [cfg.search.study, *[name for name in also if name != cfg.search.study]]
    studies = [open_study(cfg.model_copy(update={"search": cfg.search.model_copy(update={"study": name})})) for name in names]
    attrs = studies[0].user_attrs
    client = tracking.client(attrs["mlflow_tracking_uri"])
    c = compare(studies, client)
    experiment = attrs["mlflow_experiment_id"]
    base, link = _ui(attrs["mlflow_tracking_uri"], experiment)
    c.run_link = f"{base}/#/experiments/{experiment}/runs/{{}}"
    joined = "+".join(names)
    folder = study_dir(cfg.search.model_copy(update={"study": joined})) / REPORT_DIR
    paths = write(c, folder, link)
    parent = attrs["mlflow_parent_run_id"]
    for path in paths:
        client.log_artifact(parent, str(path), artifact_path=REPORT_DIR if len(names) == 1 else f"{REPORT_DIR}-{joined}")
    return c, folder / "report.html"


def _ui(uri: str, experiment: str) -> tuple[str, str]:
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/"), f"open {uri}"
    return "http://127.0.0.1:5000", (f"mlflow ui --backend-store-uri {uri}" if tracking.local_store(uri) else "mlflow ui --backend-store-uri <your store>")


def report_and_say(cfg, also: list[str] = (), screenshot_png: Path | None = None) -> None:
    """`gansweep report` and the study pipeline's report stage: the report, its conclusion printed."""
    comparison, page = report(cfg, also)
    for line in conclusion(comparison):
        print(line)
    if comparison.warnings:
        print(f"{len(comparison.warnings)} warning(s) in the report: " + " | ".join(w.split(":")[0].split(" (")[0] for w in comparison.warnings))
    print(f"report: {page.resolve()} (tables and plots beside it; also on the study's MLflow run under report/)")
    if screenshot_png:
        print(f"screenshot: {screenshot(page, screenshot_png)}")
