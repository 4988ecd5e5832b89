"""What a study leaves behind: studies/<study>/trials.csv and best_params.yaml (the DVC outputs of
the study pipeline), and its parent MLflow run: the best trial, the best params, and the study's
plots (optimization history, parameter importances, parallel coordinates) as images."""
from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import optuna
import yaml

from gansweep import tracking
from gansweep.storage import retried, study_dir


def best_params(study: optuna.Study, cfg) -> dict:
    try:
        trial = study.best_trial
    except ValueError:  # no trial has completed
        return {"study": cfg.search.study, "trial": None, "params": {}, "note": "no trial has completed yet"}
    return {"study": cfg.search.study, "objective": cfg.search.objective, "value": trial.value, "trial": trial.number,
            "mlflow_run_id": trial.user_attrs.get("mlflow_run_id"),
            "params": trial.user_attrs["overrides"]}  # params.yaml keys: what `gansweep train-best` applies


def save_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """Optuna's matplotlib plots as PNG; a plot that needs more trials than there are is skipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    saved = []
    folder.mkdir(parents=True, exist_ok=True)
    for plot in (plots.plot_optimization_history, plots.plot_param_importances, plots.plot_parallel_coordinate):
        with warnings.catch_warnings(), matplotlib.rc_context():  # the plots restyle matplotlib globally
            warnings.simplefilter("ignore")
            try:
                figure = plot(study).figure
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # e.g. importances need two completed trials
            path = folder / f"{plot.__name__.removeprefix('plot_')}.png"  # e.g. optimization_history.png
            figure.savefig(path, bbox_inches="tight", dpi=100)
            plt.close(figure)
            saved.append(path)
    return saved


def write_results(study: optuna.Study, cfg, finished: bool) -> dict:
    folder = study_dir(cfg.search)
    folder.mkdir(parents=True, exist_ok=True)
    # One row per trial: number, state, value, params (as params.yaml overrides), scores, reason.
    table = study.trials_dataframe(attrs=("number", "state", "value", "datetime_start", "duration", "params", "user_attrs"))
    table = table.drop(columns=["user_attrs_worker", "user_attrs_overrides"], errors="ignore")
    table.to_csv(folder / "trials.csv", index=False)
    result = best_params(study, cfg)
    (folder / "best_params.yaml").write_text(yaml.safe_dump(result, sort_keys=False))

    client = tracking.client(study.user_attrs["mlflow_tracking_uri"])
    parent = study.user_attrs["mlflow_parent_run_id"]
    trials = study.get_trials(deepcopy=False)  # read once, not once per state
    lost = retried(trials)  # lost with their worker or interrupted, and queued again: not failures
    states = Counter("REQUEUED" if t.number in lost else t.state.name for t in trials)
    for state in ("COMPLETE", "PRUNED", "FAIL", "REQUEUED"):
        client.log_metric(parent, f"trials_{state.lower()}", states[state])
    if result["trial"] is not None:
        client.log_metric(parent, f"best_{result['objective']}", result["value"])
        client.set_tag(parent, "optuna.best_trial", result["trial"])
        client.set_tag(parent, "optuna.best_params", yaml.safe_dump(result["params"], default_flow_style=True).strip())
    for path in [folder / "trials.csv", folder / "best_params.yaml", *save_plots(study, folder / "plots")]:
        client.log_artifact(parent, str(path), artifact_path="study" if path.suffix != ".png" else "plots")
    tracking.ended(client, parent, "FINISHED" if finished else "KILLED")
    return result
