"""The comparison as tables: each configuration over its seeds, marginal effects, pairwise tests of the
best, a budget-fair study's curves, and the warnings that say how far to trust them."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd

from gansweep import budget, stats
from gansweep.registry import ConfigError
from gansweep.space import grid_size
from gansweep.report.read import NOT_SAMPLED, SEED, read_studies, value_label

TOP = 5  # configurations compared pairwise


@dataclass
class Comparison:
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

    @property
    def ranked(self) -> pd.DataFrame:
        """The configurations compared, best first: those with a complete trial under the protocol."""
        return self.configurations[(self.configurations["protocol"] == self.protocol) & (self.configurations["seeds"] > 0)]

    @property
    def measured(self) -> pd.DataFrame:
        """The trials compared: the complete ones under the protocol, the same sampled values (seed included) once."""
        complete = self.trials[(self.trials["state"] == "COMPLETE") & (self.trials["protocol"] == self.protocol)]
        return complete.drop_duplicates(["configuration", "overrides"])  # the label rounds a range's values


def configurations(trials: pd.DataFrame, factors: list[str], objective: str, main: str | None) -> pd.DataFrame:
    """One row per configuration and protocol; a trial that never finished (no protocol) counts
    with its configuration under the main protocol."""
    rows = []
    for (label, protocol), group in trials.groupby(["configuration", trials["protocol"].fillna(main or "")], sort=False, dropna=False):
        complete = group[group["state"] == "COMPLETE"].sort_values(["seed", "trial"], kind="stable").drop_duplicates("overrides")
        row = {"configuration": label, **{key: group[key].iloc[0] for key in factors},
               "seeds": len(complete), "pruned": int((group["state"] == "PRUNED").sum()), "failed": int((group["state"] == "FAIL").sum())}
        for metric in ("fid", "kid"):
            values = complete[metric].dropna().astype(float)  # pandas: the mean of none and the sd of one are NaN
            low, high = stats.bootstrap_interval(values.to_numpy(), seed=len(rows))  # NaN without two distinct values
            summary = {"mean": values.mean(), "sd": values.std(), "ci_low": low, "ci_high": high}
            row.update({f"{metric}_{name}": value for name, value in summary.items()})
        best = complete.loc[complete[objective].idxmin()] if len(complete) else {}
        row.update({"best_seed": best.get("seed"), "best_trial": best.get("trial"), "best_run_id": best.get("mlflow_run_id"),
                    "seed_values": " ".join(f"{s}:{v:.4g}" for s, v in zip(complete["seed"], complete[objective])),
                    "code_versions": complete["code_sha256"].nunique(), "protocol": protocol or None})
        rows.append(row)
    table = pd.DataFrame(rows).sort_values([f"{objective}_mean", "configuration"], na_position="last", kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def compare(studies: list[optuna.Study], client) -> Comparison:
    trials, curves, identity, notes = read_studies(studies, client)
    name = " + ".join(s.study_name for s in studies)
    if trials.empty:
        raise ConfigError(f"study '{name}' has no trials yet: run `gansweep study --study-name {studies[0].study_name}`")
    space, objective = identity["space"], identity["objective"]
    factors = [key for key in space if key != SEED]
    categorical = [key for key in factors if isinstance(space[key], list)]
    protocols = trials[trials["state"] == "COMPLETE"]["protocol"].value_counts()
    main = protocols.index[0] if len(protocols) else None
    table = configurations(trials, factors, objective, main)
    c = Comparison(name, identity["sampler"], objective, factors, categorical, trials, table, pd.DataFrame(), [], main, curves,
                   notes + _warnings(trials, table, identity, categorical, protocols), params=identity["params"])
    measured, ranked = c.measured, c.ranked
    top = ranked["configuration"].head(TOP)
    c.pairs = stats.pairwise({label: measured[measured["configuration"] == label][objective].tolist() for label in top})
    if categorical and len(ranked) > 1:
        # by the levels' labels: a sampled null is a level (NaN is not equal to itself); keys: tuples (pandas 2)
        levels = [measured[key].map(value_label) for key in categorical]
        cells = {key: group[objective].tolist() for key, group in measured.groupby(levels)}
        c.marginal = pd.DataFrame([row for row in stats.marginal_effects(cells, categorical) if row["level"] != NOT_SAMPLED])
    c.samples = _samples(client, ranked)
    if identity.get("budget_factor"):
        _budget(c, identity)
    return c


def _budget(c: Comparison, identity: dict) -> None:
    """Each level's expected best value per number of trials, from its complete trials."""
    factor = c.budget_factor = identity["budget_factor"]
    measured = c.measured
    labels = measured[factor].map(value_label)
    values = {value_label(level): measured[labels == value_label(level)][c.objective].dropna().tolist() for level in identity["space"][factor]}
    c.budget_curves, c.budget_verdicts = budget.compare_levels({level: xs for level, xs in values.items() if xs})
    left_out = c.trials[(c.trials["state"] != "COMPLETE") & (c.trials["state"] != "RUNNING")].groupby(factor)["state"].count()
    if len(left_out):
        c.warnings.append("Budget curves use complete trials only; left out (pruned or failed): "
                          + ", ".join(f"{value_label(level)} {n}" for level, n in left_out.items())
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
    if repeats := complete.duplicated(["configuration", "overrides", "protocol"]).sum():
        notes.append(f"{repeats} complete trial(s) repeat a configuration and seed measured before: each counts once, not as another seed.")
    pruned, failed, unfinished = ((trials["state"] == state).sum() for state in ("PRUNED", "FAIL", "RUNNING"))
    if pruned:
        notes.append(f"{pruned} trial(s) were pruned: their configurations have fewer seeds, and the survivors are the lucky ones"
                     + (" (set search.pruner: none for a comparison)." if identity["sampler"] == "grid" else "."))
    if failed:
        reasons = trials[trials["state"] == "FAIL"]["reason"].fillna("unknown").value_counts()
        notes.append(f"{failed} trial(s) failed: " + "; ".join(f"{n} x {r}" for r, n in reasons.items()) + ".")
    if unfinished:
        notes.append(f"The study is still running ({unfinished} trial(s)): this report shows what had finished.")
    if identity["sampler"] == "grid" and categorical:
        expected = grid_size({key: identity["space"][key] for key in categorical})  # a loss's options only with that loss
        measured = table[table["seeds"] > 0]["configuration"].nunique()
        if measured < expected:
            notes.append(f"{measured} of the grid's {expected} configurations have a complete trial: "
                         "marginal means average over the cells present.")
    elif identity["sampler"] != "grid":
        notes.append(f"Configurations were chosen by the {identity['sampler']} sampler, not a designed grid: a marginal mean averages "
                     "whatever it chose to try (confounded), and most configurations have one seed.")
    seeds = table[table["seeds"] > 0]["seeds"]
    if len(seeds) and seeds.min() < stats.MANY_SEEDS:
        notes.append(f"Per-configuration intervals come from {seeds.min()}-{seeds.max()} seeds: with fewer than {stats.MANY_SEEDS} seeds a "
                     "95% bootstrap interval is too narrow (measured: it covers the true mean 75% of the time with 3 seeds, 84% with 5, "
                     "90% with 10; docs/report.md)"
                     + ("; a configuration with one seed has no interval." if seeds.min() == 1 else "."))
    return notes


def _samples(client, ranked: pd.DataFrame) -> dict[str, bytes]:
    """Each configuration's sample grid from its best seed (the run's samples.png)."""
    found = {}
    with tempfile.TemporaryDirectory() as scratch:
        for row in ranked[ranked["best_run_id"].notna()].itertuples():
            try:
                path = client.download_artifacts(row.best_run_id, "samples.png", scratch)
            except Exception:  # noqa: BLE001 - an artifact store that lost it: the row shows no image
                continue
            found[row.configuration] = Path(path).read_bytes()
    return found


def tables(c: Comparison) -> dict[str, pd.DataFrame]:
    """The report's tables as its CSV files hold them, by file name."""
    found = {"configurations": c.configurations, "marginal_effects": c.marginal, "runs": c.trials,
             "pairwise": pd.DataFrame([{**p.__dict__, "sentence": p.sentence(c.objective.upper())} for p in c.pairs])}
    if c.budget_factor:
        found["budget_curves"] = pd.DataFrame([
            {"level": curve.level, "trials": curve.trials, "budget": k, f"expected_best_{c.objective}": mean, "ci_low": low, "ci_high": high}
            for curve in c.budget_curves for k, mean, low, high in zip(curve.budgets, curve.mean, curve.low, curve.high)])
    return found
