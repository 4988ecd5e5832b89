"""The report's plots, as PNG files without a timestamp (the same comparison gives the same bytes)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from gansweep.report.comparison import Comparison
from gansweep.report.read import key_label


def plots(c: Comparison, folder: Path) -> dict[str, Path]:
    drawn = {"fid_by_configuration": bars, "seed_spread": seed_spread, "fid_over_training": curves, "marginal_effects": marginal,
             **({"budget_curves": budget_curves} if c.budget_factor else {})}
    paths = {name: folder / f"{name}.png" for name in drawn}
    for name, draw in drawn.items():
        draw(c, paths[name])
    return paths


@contextmanager
def _figure(path: Path, height: float, width: float = 8.0):
    """A figure and its axes to draw on, saved to `path` when the block ends (no pyplot: no GUI backend, nothing to close)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    yield figure, figure.subplots()
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})


def bars(c: Comparison, path: Path) -> None:
    table = c.ranked.iloc[::-1]  # one bar per configuration: those under the protocol compared
    with _figure(path, 1.2 + 0.35 * len(table)) as (_, axes):
        mean, low, high = table[[f"{c.objective}_{x}" for x in ("mean", "ci_low", "ci_high")]].to_numpy(float).T
        errors = np.nan_to_num(np.vstack([mean - low, high - mean]))
        axes.barh(table["configuration"], mean, xerr=errors, color="#8fb3d9", ecolor="#1f3b5c", capsize=3)
        for y, values in enumerate(table["seed_values"]):
            points = [float(v.split(":")[1]) for v in values.split()]
            axes.plot(points, [y] * len(points), "o", color="#d9541e", markersize=4, zorder=3)
        axes.set_xlabel(f"{c.objective.upper()} (lower is better): mean, 95% bootstrap interval, one dot per seed")
        axes.tick_params(axis="y", labelsize=8)


def seed_spread(c: Comparison, path: Path) -> None:
    measured = c.measured
    order = list(c.ranked["configuration"])  # a label twice (another protocol) would leave a row empty
    with _figure(path, 1.2 + 0.35 * len(order)) as (_, axes):
        for seed, group in measured.groupby("seed"):
            axes.plot(group[c.objective], [order.index(label) for label in group["configuration"]], "o", label=f"seed {seed}", alpha=0.8)
        axes.set_yticks(range(len(order)), order, fontsize=8)
        axes.invert_yaxis()
        axes.set_xlabel(f"{c.objective.upper()} of each seed (spread = what one run alone cannot tell)")
        axes.legend(fontsize=7, loc="best")


def curves(c: Comparison, path: Path) -> None:
    """The periodic evaluation (selection FID) over training, averaged per loss (or configuration)."""
    with _figure(path, 3.6) as (_, axes):
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


def marginal(c: Comparison, path: Path) -> None:
    factors = list(c.marginal.groupby("factor", sort=False)) if not c.marginal.empty else []  # in c.categorical's order
    with _figure(path, 1.0 + 0.9 * max(1, len(factors)) + 0.25 * len(c.marginal)) as (figure, _):
        figure.clf()
        grid = figure.add_gridspec(max(1, len(factors)), 1, height_ratios=[len(rows) for _, rows in factors] or [1])
        for i, (factor, rows) in enumerate(factors):
            axes = figure.add_subplot(grid[i])
            errors = np.vstack([rows["effect"] - rows["effect_low"], rows["effect_high"] - rows["effect"]])
            axes.errorbar(rows["effect"], range(len(rows)), xerr=errors, fmt="o", capsize=3)
            axes.axvline(0, color="grey", linewidth=0.8)
            axes.set_yticks(range(len(rows)), rows["level"], fontsize=8)
            axes.set_title(key_label(factor), fontsize=9, loc="left")
        figure.supxlabel(f"effect on {c.objective.upper()} against the average configuration (negative = better), 95% interval", fontsize=8)


def budget_curves(c: Comparison, path: Path) -> None:
    with _figure(path, 3.8, 7.0) as (_, axes):
        for curve in c.budget_curves:
            axes.plot(curve.budgets, curve.mean, marker="o", label=f"{curve.level} ({curve.trials} trials)")
            axes.fill_between(curve.budgets, curve.low, curve.high, alpha=0.15)
        axes.set_xlabel("budget: hyperparameter trials per level")
        axes.set_ylabel(f"expected best {c.objective.upper()} (95% bootstrap band)")
        axes.set_title(f"Best {c.objective.upper()} per tuning budget, by {key_label(c.budget_factor)} (Lucic et al. 2018, Fig. 4)", fontsize=9)
        axes.legend(fontsize=7)
