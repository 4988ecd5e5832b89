"""`dvc repro` on a folder of your own images, end to end (real DVC, stages, Inception, MLflow): 64x64
RGB images, some of them not square, the SNGAN ResNet with generator EMA and DiffAugment; the folder
is a dependency (a new image re-runs the pipeline); every bad folder stops before any training with
one line naming data.path."""
import json
import math

import pytest
from mlflow.tracking import MlflowClient

from helpers import image_folder
from pipeline_project import dvc, make_project, ran_stages, set_params

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file

FOLDER_RUN = {
    "data": {"dataset": "folder", "image_size": 64, "channels": 3},
    "model": {"architecture": "resnet", "latent_dim": 8, "g_width": 4, "d_width": 4},
    "train": {"ema": 0.999, "ema_rampup": 0.05},
    "regularization": {"augment": ["translation", "cutout", "color"]},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    def images_in(project):  # where params.yaml's data.path points by default
        image_folder(project / "data" / "images", 200, size=64, non_square=20)

    project, log = make_project(tmp_path_factory, setup=images_in, **{**FOLDER_RUN, "data": {**FOLDER_RUN["data"], "path": "data/images"}})
    return project, log, project / "data" / "images"


def test_a_folder_of_images_runs_the_whole_pipeline(project):
    project, log, images = project
    assert ran_stages(log) == {"check_params", "download", "prepare", "reference_stats", "selection_stats", "train", "evaluate"}
    assert "params.yaml: valid (200 images under data/images)" in log
    assert "train: 200 images of shape (3, 64, 64)" in log
    metrics = json.loads((project / "metrics.json").read_text())
    assert metrics["dataset"] == "folder" and metrics["generated_images"] == 10
    assert metrics["fid"] > 0 and math.isfinite(metrics["kid"])
    run = MlflowClient(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}").get_run(json.loads((project / "run.json").read_text())["run_id"])
    assert run.info.status == "FINISHED" and run.data.params["model.architecture"] == "resnet"
    assert run.data.params["train.ema"] == "0.999" and run.data.params["data.image_size"] == "64"
    assert "protocol: 10 generated vs 12 folder train images" in log


def test_what_systems_and_editors_leave_in_the_folder_reruns_nothing(project):
    # The folder dataset skips these files; .dvcignore keeps them out of DVC's hash of data.path too.
    project, _, images = project
    assert "up to date" in dvc(project, "status")
    (images / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (images / "s1" / "._0001.jpg").write_bytes(b"\0\5\26\7")  # macOS AppleDouble
    (images / "s0" / ".0000.png.swp").write_bytes(b"b0VIM")
    (images / "s2" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    assert "up to date" in dvc(project, "status")


def test_a_new_image_reruns_the_pipeline_from_prepare(project):
    project, _, images = project
    assert "up to date" in dvc(project, "status")
    image_folder(images / "added", 1, size=64, seed=7)
    status = dvc(project, "status")
    assert "prepare:" in status and "data/images" in status


def test_every_bad_folder_stops_before_training_with_one_line(project, tmp_path):
    project, _, _ = project
    (tmp_path / "empty").mkdir()
    image_folder(tmp_path / "few", 5, size=64)
    image_folder(tmp_path / "broken", 30, size=64)
    (tmp_path / "broken" / "s0" / "bad.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    cases = [
        (tmp_path / "missing", f"error: data.path: {tmp_path / 'missing'} does not exist"),
        (tmp_path / "empty", f"error: data.path: {tmp_path / 'empty'} holds no PNG, JPEG or WebP images"),
        (tmp_path / "few", f"error: data.path: {tmp_path / 'few'} holds 5 images, fewer than the 24"),
        (tmp_path / "broken", f"error: data.path: {tmp_path / 'broken' / 's0' / 'bad.jpg'} cannot be decoded as an image"),
    ]
    image_folder(tmp_path / "small", 30, size=64)  # enough for the scores, fewer than a batch: refused before Inception runs
    cases.append((tmp_path / "small", "error: train.batch_size (31) is larger than the training set (30 images)"))
    for folder, line in cases:
        set_params(project, data={"path": str(folder)}, train={"batch_size": 31 if folder.name == "small" else 16})
        done = dvc(project, "repro", ok=False)
        assert done.returncode != 0
        errors = [text for text in done.stderr.splitlines() if text.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(line), done.stdout + done.stderr
        assert "Running stage 'train'" not in done.stdout and "Running stage 'reference_stats'" not in done.stdout
