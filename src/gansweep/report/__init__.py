"""A study's or grid's comparison report (`gansweep report`, stage `report` of studies/dvc.yaml).

Reads the trials from the study's Optuna storage and their runs from MLflow, and writes to
studies/<study>/report/: report.html (one file, images embedded), its tables as CSV, its plots as
PNG; the same go to the study's parent MLflow run under report/. A configuration is a trial's
params without the training seed, so a grid with `train.seed` in its space has one row per cell
with its seeds pooled. Nothing in it depends on the time it was written: the same trials give the
same bytes. Its modules, each importing only the ones before it: read (the study as tables),
comparison (the statistics), plots, page (the HTML); this one writes the files and uploads them.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from gansweep import tracking
from gansweep.registry import ConfigError
from gansweep.report.comparison import Comparison, compare, tables
from gansweep.report.page import conclusion, render
from gansweep.report.plots import plots
from gansweep.report.read import open_study
from gansweep.storage import study_dir

REPORT_DIR = "report"


def write(c: Comparison, folder: Path, hint: str) -> list[Path]:
    """The report's files in `folder` (made anew): report.html, then the CSV tables, then the PNG plots."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    pngs = plots(c, folder)
    csvs = {folder / f"{name}.csv": table for name, table in tables(c).items()}
    for path, table in csvs.items():
        table.to_csv(path, index=False)
    (folder / "report.html").write_text(render(c, pngs, hint))
    return [folder / "report.html", *csvs, *pngs.values()]


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
    names = list(dict.fromkeys([cfg.search.study, *also]))  # each study once
    studies = [open_study(cfg.search.model_copy(update={"study": name})) for name in names]
    attrs = studies[0].user_attrs
    uri, experiment = attrs["mlflow_tracking_uri"], attrs["mlflow_experiment_id"]
    client = tracking.client(uri)
    c = compare(studies, client)
    c.run_link = f"{tracking.ui_base(uri)}/#/experiments/{experiment}/runs/{{}}"
    joined = "+".join(names)
    folder = study_dir(cfg.search.model_copy(update={"study": joined})) / REPORT_DIR
    for path in write(c, folder, tracking.ui_hint(uri, experiment)):
        client.log_artifact(attrs["mlflow_parent_run_id"], str(path), artifact_path=REPORT_DIR if len(names) == 1 else f"{REPORT_DIR}-{joined}")
    return c, folder / "report.html"


def report_and_say(cfg, also: list[str] = (), screenshot_png: Path | None = None) -> None:
    """`gansweep report` and the study pipeline's report stage: the report, its conclusion printed."""
    comparison, page = report(cfg, also)
    print(*conclusion(comparison), sep="\n")
    if comparison.warnings:
        print(f"{len(comparison.warnings)} warning(s) in the report: " + " | ".join(w.split(":")[0].split(" (")[0] for w in comparison.warnings))
    print(f"report: {page.resolve()} (tables and plots beside it; also on the study's MLflow run under report/)")
    if screenshot_png:
        print(f"screenshot: {screenshot(page, screenshot_png)}")
