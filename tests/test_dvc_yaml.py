"""dvc.yaml declares what each stage really depends on, so that DVC re-runs a stage exactly when
its code changes: every gansweep module a stage script imports (statically, through any chain of
imports) is among its deps. gansweep.config is a dep of every stage, but the registries it imports
to check names are not followed: they change what params are accepted, not what a stage computes."""
import ast
from pathlib import Path

import pytest
import yaml

from helpers import ROOT

SRC = ROOT / "src"
NOT_FOLLOWED = {"gansweep.config"}


def module_file(name: str) -> Path | None:
    if name == "_checkout":
        return ROOT / "pipeline" / "_checkout.py"
    if not name.startswith("gansweep"):
        return None
    base = SRC / Path(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            # `from gansweep import paths` imports the module gansweep.paths
            names.update(f"{node.module}.{alias.name}" for alias in node.names if module_file(f"{node.module}.{alias.name}") and module_file(f"{node.module}.{alias.name}").exists())
    return {name for name in names if module_file(name) is not None and module_file(name).exists()}


def closure(script: Path, not_followed=NOT_FOLLOWED) -> set[Path]:
    files, todo, seen = {script}, list(imported_modules(script)), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        files.add(path)
        if name not in not_followed:
            todo.extend(imported_modules(path))
    return {f for f in files if not docstring_only(f)}


def docstring_only(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


STUDY_STAGES = yaml.safe_load((ROOT / "studies" / "dvc.yaml").read_text())["stages"]
# The study stage has no code deps on purpose (studies/dvc.yaml says why); its report stage does.
CHECKED = [("dvc.yaml", name) for name in sorted(STAGES)] + [("studies/dvc.yaml", "report")]


@pytest.mark.parametrize("pipeline, name", CHECKED)
def test_every_imported_module_is_a_dep(pipeline, name):
    stage = (STAGES if pipeline == "dvc.yaml" else STUDY_STAGES)[name]
    folder = (ROOT / pipeline).parent
    script = ROOT / stage["cmd"].split("python ", 1)[1].split()[0]  # `cd .. && python pipeline/report.py`: from the root
    deps = [(folder / d).resolve() for d in stage.get("deps", []) if "${" not in d]
    covered = lambda f: any(f == d or d in f.parents for d in deps)  # noqa: E731
    # check_params is what validation is for: it follows config.py's registries too.
    modules = closure(script, set() if name == "check_params" else NOT_FOLLOWED)
    missing = sorted(str(f.relative_to(ROOT)) for f in modules if not covered(f))
    assert not missing, f"stage {name} imports code it does not declare as a dep: {missing}"
    code_deps = [d for d in deps if d.is_relative_to(ROOT) and d.parts[len(ROOT.parts)] in ("src", "pipeline")]
    unused = sorted(str(d.relative_to(ROOT)) for d in code_deps if not any(f == d or d in f.parents for f in modules))
    assert not unused, f"stage {name} re-runs for code it does not import: {unused}"


def test_outputs_are_machine_results_that_git_does_not_track():
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    # Results differ from machine to machine; each user's dvc exp show must show their own.
    assert not {"dvc.lock", "metrics.json", "plots/train_losses.csv", "plots/samples.png", "run.json"} & set(tracked)


def test_the_train_stage_reads_the_params_a_checkpoint_belongs_to():
    from gansweep.train import SELECTION_METRICS, TRAINING_SECTIONS

    assert set(STAGES["train"]["params"]) == {*TRAINING_SECTIONS, *(f"metrics.{key}" for key in SELECTION_METRICS)}


def test_the_statistics_stages_rerun_when_the_folder_they_name_moves():
    # The statistics record data.path (describe); a moved folder's images hash the same, so
    # data/prepared alone would leave them naming the old path and every train refusing them.
    from gansweep.protocol import REPORT, SELECTION, describe
    from helpers import make_config

    folder = {"dataset": "folder", "channels": 1, "image_size": 16}
    for purpose, stage in ((REPORT, "reference_stats"), (SELECTION, "selection_stats")):
        here, moved = (describe(make_config(data={**folder, "path": path}), purpose) for path in ("a", "b"))
        assert here != moved and "data.path" in STAGES[stage]["params"]
