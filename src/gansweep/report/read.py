"""A study as tables: its trials from the Optuna storage and their runs from MLflow, one row per trial."""
from __future__ import annotations

import json

import optuna
import pandas as pd
from optuna.trial import TrialState

from gansweep.overrides import changed_keys, lookup
from gansweep.registry import ConfigError
from gansweep.storage import masked, open_storage, retried, study_dir

SEED = "train.seed"


def open_study(search) -> optuna.Study:
    folder = study_dir(search)
    first = f"run `gansweep study --study-name {search.study}` first"
    if search.storage is None and not (folder / "journal.log").exists():
        raise ConfigError(f"no study '{search.study}' in {folder}/: {first}")
    try:
        return optuna.load_study(study_name=search.study, storage=open_storage(search, folder))
    except KeyError:
        raise ConfigError(f"no study '{search.study}' in {masked(search.storage)}: {first}") from None


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


def key_label(key: str) -> str:
    """A searched key as a column label: loss, g_activation, d_spectral_norm, ebgan.margin."""
    if key == "loss.name":
        return "loss"
    if key.startswith("loss.options."):
        return key.removeprefix("loss.options.")
    return key.split(".", 1)[1]


NOT_SAMPLED = "n/a"  # a searched key a trial did not sample (another loss's option), apart from a sampled null


def value_label(value) -> str:
    if value is None or value != value:  # a sampled null (NaN once pandas holds it in a float column)
        return "null"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def read_trials(study: optuna.Study, client, factors: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per trial that counts (a trial lost with its worker and run again is left out),
    and the periodic evaluation curves of the complete ones. `factors`: the keys that make a
    configuration; one the study did not search takes its params value."""
    attrs = study.user_attrs
    identity = attrs["identity"]
    runs = _runs(client, attrs["mlflow_experiment_id"], attrs["mlflow_parent_run_id"])
    trials = study.get_trials(deepcopy=False)
    rows, curves, again = [], [], retried(trials)
    for trial in trials:
        if trial.number in again or trial.state == TrialState.WAITING:
            continue
        run = runs.get(trial.number)
        tags = run.data.tags if run else {}
        values = {key: trial.params[key] if key in trial.params else
                  (NOT_SAMPLED if key in identity["space"] else _fixed(identity["params"], key)) for key in factors}
        rows.append({
            "study": study.study_name, "trial": trial.number, "state": trial.state.name,
            "configuration": ", ".join(f"{key_label(k)}={value_label(v)}" for k, v in values.items() if v != NOT_SAMPLED) or "params.yaml",
            **values,
            "seed": trial.params.get(SEED, identity["params"]["train"]["seed"]),
            "fid": trial.user_attrs.get("fid"), "kid": trial.user_attrs.get("kid"), "protocol": _protocol_label(tags),
            "git_commit": tags.get("mlflow.source.git.commit"), "code_sha256": tags.get("gansweep.code_sha256"),
            "data_sha256": tags.get("gansweep.data_sha256"), "mlflow_run_id": run.info.run_id if run else None,
            "reason": trial.user_attrs.get("fail_reason"), "overrides": json.dumps(trial.user_attrs.get("overrides", {}), sort_keys=True)})
        if run is not None and trial.state == TrialState.COMPLETE:
            epochs = _epochs(client, run.info.run_id)
            for point in client.get_metric_history(run.info.run_id, "eval_fid"):
                curves.append({"study": study.study_name, "trial": trial.number, "epoch": epochs.get(point.step, point.step) + 1,
                               "eval_fid": point.value})
    curve_frame = pd.DataFrame(curves, columns=["study", "trial", "epoch", "eval_fid"]).drop_duplicates(["study", "trial", "epoch"], keep="last")
    return pd.DataFrame(rows), curve_frame


def _fixed(params: dict, key: str):
    """A value a study fixed; a list (regularization.augment) as the comma string params.yaml also takes."""
    value = lookup(params, key)
    return (",".join(map(str, value)) or "none") if isinstance(value, list) else value


def _epochs(client, run_id: str) -> dict[int, int]:
    """Step -> epoch at the ends of epochs, where eval_fid sits on the losses' step axis (Lightning logs its
    `epoch` metric there). Runs from before that logged eval_fid at step = epoch: they find no entry."""
    ends = {m.step for m in client.get_metric_history(run_id, "d_loss_epoch")}
    return {m.step: int(m.value) for m in client.get_metric_history(run_id, "epoch") if m.step in ends}


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
    space.update({key: list(dict.fromkeys(_fixed(identity["params"], key) for identity in identities)) for key in differ})
    factors = [key for key in space if key != SEED]
    frames, curve_frames = zip(*[read_trials(study, client, factors) for study in studies])
    notes = [f"The studies start from different values of {', '.join(differ)}: compared as factors."] if differ else []
    joined = {**first, "space": space, "sampler": " + ".join(sorted({identity["sampler"] for identity in identities}))}
    if any(identity.get("budget_factor") != first.get("budget_factor") for identity in identities):
        joined.pop("budget_factor", None)
    return pd.concat(frames, ignore_index=True), pd.concat(curve_frames, ignore_index=True), joined, notes
