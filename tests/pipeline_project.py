"""A git copy of the project with tiny params, where `dvc repro` ran once: what the end-to-end
pipeline tests share (each test file gets its own copy, so two files can run at once)."""
import os
import shutil
import subprocess

import yaml

from helpers import ROOT

TINY = {
    "model": {"latent_dim": 8, "g_width": 8, "d_width": 8},
    "train": {"epochs": 2, "batch_size": 16, "limit_batches": 3, "sample_grid_size": 4, "eval_every_n_epochs": 1,
              "eval_images": 8, "eval_reference_images": 12},
    "metrics": {"reference_images": 12, "generated_images": 10, "kid_subsets": 2, "kid_subset_size": 5},
}


def user_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MLFLOW_TRACKING_URI")}
    return env


def dvc(project, *args, ok=True):
    done = subprocess.run(["dvc", *args], cwd=project, capture_output=True, text=True, timeout=900, env=user_env())
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done if not ok else done.stdout


def git(project, *args):
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout.strip()


def set_params(project, **sections):
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def ran_stages(log):
    return {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage")}


def make_project(tmp_path_factory, setup=None, **sections):
    """The copy, with TINY params updated by `sections` (e.g. data={...}) and `setup(project)` done
    (e.g. images put in it), after one `dvc repro`."""
    project = tmp_path_factory.mktemp("project")
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        # dvc.lock is the checkout's own `dvc repro` (the README's first command): a machine result, not code
        if (ROOT / name).is_file() and not name.startswith(("tests/", "docs/", "benchmarks/")) and name != "dvc.lock":
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, project / name)
    set_params(project, **TINY)
    set_params(project, **sections)
    if setup is not None:
        setup(project)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy")
    log = dvc(project, "repro")
    return project, log
