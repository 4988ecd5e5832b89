"""The report as one HTML page: its conclusion in words, its tables, its plots and sample grids embedded."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd
import yaml

from gansweep.report.comparison import TOP, Comparison, tables
from gansweep.report.read import key_label, value_label


def conclusion(c: Comparison) -> list[str]:
    """The report's first lines, in words."""
    m, metric, ranked = c.objective, c.objective.upper(), c.ranked
    if ranked.empty:
        return ["No trial has completed yet."]
    if c.budget_factor:
        return budget_conclusion(c)
    best = ranked.iloc[0]
    interval = "" if pd.isna(best[f"{m}_ci_low"]) else f", 95% interval {best[f'{m}_ci_low']:.4g} to {best[f'{m}_ci_high']:.4g}"
    lines = [f"Lowest {metric}: {best['configuration']}: {best[f'{m}_mean']:.4g} (mean of {best['seeds']} seed(s){interval})."]
    if c.pairs:
        lines.append(c.pairs[0].sentence(metric) + ".")  # the first pair: the best two (pairs of the top in rank order)
        tested = [p for p in c.pairs if not pd.isna(p.p)]
        lines.append(f"Among the top {min(TOP, len(ranked))}: {sum(p.significant for p in tested)} of {len(tested)} pairwise "
                     "differences are significant after Holm's correction; the rest may be seed noise.")
    for factor, rows in (c.marginal.groupby("factor", sort=False) if not c.marginal.empty else []):  # in c.categorical's order
        if len(rows) < 2:
            continue
        top = rows.loc[rows["effect"].idxmin()]
        sure = "" if top["effect_high"] < 0 else "; not clearly better"
        lines.append(f"{key_label(factor)}: {top['level']} is best on average over the other choices ({top['effect']:+.3g} {metric} "
                     f"against the average, 95% interval {top['effect_low']:+.3g} to {top['effect_high']:+.3g}{sure}).")
    return lines


def budget_conclusion(c: Comparison) -> list[str]:
    metric = c.objective.upper()
    lines = [f"{curve.level}: expected best {metric} {curve.mean[0]:.4g} after 1 trial, {curve.mean[-1]:.4g} after {curve.trials} "
             f"(95% band {curve.low[-1]:.4g} to {curve.high[-1]:.4g})." for curve in sorted(c.budget_curves, key=lambda curve: curve.mean[-1])]
    differ = [v for v in c.budget_verdicts if v.a_better or v.b_better]
    lines += [v.sentence(metric) + "." for v in differ]
    if not differ and len(c.budget_curves) > 1:
        lines.append(f"No {key_label(c.budget_factor)} is better than another at any budget measured (95% bootstrap): "
                     "with these trials the choice does not matter, or more trials are needed to tell.")
    return lines


def _img(kind: str, png: bytes, alt: str) -> str:
    """An image of class `kind`, its PNG in its address: the page holds it itself (the report is one file)."""
    return f'<img class="{kind}" alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table_html(frame: pd.DataFrame, caption: str, images: dict[str, bytes] | None = None, links: dict[str, str] | None = None) -> str:
    """A table: numbers to 4 significant digits, missing values empty; with `links` (column -> address, {} the value), links
    labelled with the value's start (a run id's); with `images` (configuration -> PNG), a column of them."""
    # Escaped here, as to_html leaves the links' and images' markup as it is; to_html writes a None as "None", so missing is "".
    cells = frame.map(lambda value: "" if pd.isna(value) else html.escape(value) if isinstance(value, str) else value)
    for col, link in (links or {}).items():
        cells[col] = [f'<a href="{html.escape(link.format(v))}">{html.escape(str(v)[:12])}</a>' if v else "" for v in frame[col]]
    if images is not None:
        cells["samples (best seed)"] = [_img("samples", images[label], label) if images.get(label) else ""
                                        for label in frame["configuration"]]
    table = cells.to_html(index=False, escape=False, float_format="{:.4g}".format, border=0)
    return table.replace("<thead>", f"<caption>{html.escape(caption)}</caption><thead>", 1)


def _grid(c: Comparison, row: pd.Series, caption: str) -> str:
    """The sample grid of a configuration's best seed, captioned; nothing when the run has none."""
    png = c.samples.get(row["configuration"])
    return f'<figure>{_img("grid", png, caption)}<figcaption>{html.escape(caption)}</figcaption></figure>' if png else ""


def first_screen_grids(c: Comparison) -> str:
    """The sample grids of the best and the worst configuration (best seed each), beside the conclusion."""
    ranked, m = c.ranked, c.objective
    ends = ranked.iloc[[0, -1]] if len(ranked) > 1 else ranked  # one configuration (or none): no worst
    return "".join(_grid(c, row, f"{label}: {row['configuration']} ({m.upper()} {row[f'{m}_mean']:.4g}, seed {int(row['best_seed'])})")
                   for label, (_, row) in zip(("best", "worst"), ends.iterrows()))


def grids_by_level(c: Comparison) -> str:
    """For each choice factor, the grid of the best configuration with each of its levels: a factor compared by eye."""
    m, parts = c.objective, []
    for factor in c.categorical:
        figures = []
        for level, group in c.ranked.groupby(factor, dropna=False, sort=False):  # ranked: the first row of each is its best
            row = group.iloc[0]
            figures.append(_grid(c, row, f"{value_label(level)}: {m.upper()} {row[f'{m}_mean']:.4g} ({row['configuration']})"))
        if len(figures) > 1:
            parts.append(f"<h3>{html.escape(key_label(factor))}</h3><div class=\"row\">{''.join(figures)}</div>")
    return "".join(parts)


STYLE = """body{font-family:system-ui,sans-serif;margin:1.2em 2em;max-width:1250px;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin-top:1.6em}.protocol{color:#555;margin:0 0 .6em}
.conclusion{background:#eef5ee;border-left:4px solid #3a7d44;padding:.5em 1em;margin:.5em 0}.conclusion p{margin:.3em 0}
.warnings{background:#fff6e0;border-left:4px solid #d89b00;padding:.3em 1em;font-size:.9em}.warnings li{margin:.2em 0}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
caption{text-align:left;font-weight:600;padding:.3em 0}td:nth-child(2){text-align:left}img.samples{width:72px;image-rendering:pixelated}
img.plot{max-width:100%}.row{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}code{font-size:.85em}
.first{display:flex;gap:1.2em;align-items:flex-start}.first .conclusion{flex:1}figure{margin:0;max-width:200px}
img.grid{width:190px;image-rendering:pixelated;border:1px solid #ccc}figcaption{font-size:.75em;color:#444}h3{font-size:.95em}"""


def render(c: Comparison, plots: dict[str, Path], hint: str) -> str:
    """The page; `hint` says how to open the MLflow UI that its run links point into."""
    m, png = c.objective, {name: path.read_bytes() for name, path in plots.items()}
    caption = f"Protocol: {c.protocol or 'none completed'}"
    columns = ["rank", "configuration", "seeds", "pruned", "failed", f"{m}_mean", f"{m}_sd", f"{m}_ci_low", f"{m}_ci_high",
               *[x for x in ("fid_mean", "fid_ci_low", "fid_ci_high", "kid_mean", "kid_ci_low", "kid_ci_high") if not x.startswith(m)],
               "best_seed", "seed_values", "code_versions", "protocol"]
    pairs = tables(c)["pairwise"].rename(columns={"a": "configuration A", "b": "configuration B", "difference": f"B - A ({m.upper()})",
                                                   "low": "95% low", "high": "95% high", "p": "p (Welch)", "p_holm": "p (Holm)",
                                                   "sentence": "in words"})
    trials = c.trials[[*(["study"] if c.trials["study"].nunique() > 1 else []), "trial", "state", "configuration", "seed", "fid", "kid", "overrides",
                       "git_commit", "code_sha256", "data_sha256", "mlflow_run_id", "reason"]]
    by_level = grids_by_level(c)
    sections = [
        f"<h1>{html.escape(c.study)}: which configuration gives the lowest {m.upper()}</h1>",
        f'<p class="protocol">{html.escape(caption)}. Sampler: {html.escape(c.sampler)}. Trials: '
        + ", ".join(f"{n} {s.lower()}" for s, n in c.trials["state"].value_counts().sort_index().items()) + ".</p>",
        '<div class="first"><div class="conclusion">' + "".join(f"<p>{html.escape(line)}</p>" for line in conclusion(c)) + "</div>"
        + first_screen_grids(c) + "</div>",
        ('<ul class="warnings">' + "".join(f"<li>{html.escape(w)}</li>" for w in c.warnings) + "</ul>") if c.warnings else "",
        *([f"<h2>Best {m.upper()} per tuning budget</h2><p>For each {html.escape(key_label(c.budget_factor))}, the expected best {m.upper()} "
           "of k trials with the other hyperparameters drawn at random: the mean minimum over every k-subset of its trials "
           "(exact), with a bootstrap band over the trials (Lucic et al. 2018, Sec. 5). Towards the full budget the curve is "
           "the best trial itself, and its band (a bootstrap of a minimum) is too narrow: trust the left part most.</p>",
           _img("plot", png["budget_curves"], "budget curves")] if c.budget_factor else []),
        f'<div class="row">{_img("plot", png["fid_by_configuration"], "FID by configuration")}</div>',
        "<h2>Configurations</h2>",
        _table_html(c.configurations[columns], f"Per configuration over seeds; mean, sd, 95% percentile bootstrap interval. {caption}", c.samples),
        *(["<h2>Samples by choice</h2><p>The best configuration with each level of each choice (its best seed).</p>", by_level] if by_level else []),
        "<h2>Marginal effects</h2><p>Each choice averaged over the others (each cell weighted equally), against the average configuration; "
        "95% t-intervals with the seed-to-seed variance pooled over the cells (the ANOVA error term).</p>",
        _table_html(c.marginal, f"Marginal {m.upper()} per level. {caption}") if not c.marginal.empty
        else "<p>No categorical factor with two measured levels.</p>",
        _img("plot", png["marginal_effects"], "marginal effects") if not c.marginal.empty else "",
        f"<h2>Pairwise comparisons of the top {TOP}</h2><p>Welch's t-test (unequal variances) per pair, p-values corrected with Holm's "
        "step-down method over the pairs shown; +- is half the 95% interval of the difference (not corrected: trust the Holm p-value).</p>",
        _table_html(pairs, f"B - A > 0: A is better. {caption}") if len(pairs) else "<p>Fewer than two configurations to compare.</p>",
        "<h2>Over training and across seeds</h2>",
        f'<div class="row">{_img("plot", png["fid_over_training"], "FID over training")}{_img("plot", png["seed_spread"], "seed spread")}</div>',
        "<h2>Reproduce every number</h2><p>Each trial is the pipeline's train and evaluate code on the study's params (its "
        "<code>overrides</code> on top of them; see <code>runs.csv</code>). Its MLflow run holds all params, the code "
        "(git commit, gansweep.code_sha256), the data hash and the model. The links open in the MLflow UI: "
        f"<code>{html.escape(hint)}</code>.</p>",
        _table_html(trials, f"Every trial. {caption}", links={"mlflow_run_id": c.run_link}),
        "<details><summary>The study's params (every trial's starting point; <code>overrides</code> above are applied on top)</summary>"
        f"<pre>{html.escape(yaml.safe_dump(c.params, sort_keys=False))}</pre></details>",
    ]
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(c.study)} report</title><style>{STYLE}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")
