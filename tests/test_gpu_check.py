"""The prepared GPU check runs here too: `GANSWEEP_GPU_CHECK_CPU=1 bash benchmarks/gpu_check.sh OUT`,
every step at a tiny size on the CPU, each step's entry in gpu_check.json with its numbers."""
import json
import os
import subprocess

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file


def test_the_gpu_check_runs_every_step_on_the_cpu_and_records_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "GANSWEEP_DIGITS", "GANSWEEP_INCEPTION")}
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(tmp_path / "out")], env={**env, "GANSWEEP_GPU_CHECK_CPU": "1"},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    steps = report["steps"]
    assert report["mode"] == "cpu (tiny)" and report["environment"]["torch"] and report["environment"]["cpu_count"] >= 1
    assert all(entry["status"] == 0 for entry in steps["prepare"].values())
    assert steps["a_gpu_tests"]["status"] == 0 and steps["a_gpu_tests"]["tests"] == steps["a_gpu_tests"]["skipped"] >= 5  # no GPU here
    for batch, entry in steps["b_throughput"].items():
        rows = {row["variant"]: row for row in entry["result"]["rows"]}
        assert entry["result"]["settings"]["batch_size"] == int(batch)
        assert rows["plain PyTorch loop"]["ratio_to_plain"] == 1 and rows["gansweep (params.yaml compute)"]["images_per_s"] > 0
    features = {row["variant"].split(" (")[0]: row for row in steps["c_features"]["result"]["rows"]}
    assert features["gansweep reported path"]["fid_rel_diff"] < 1e-5  # float32: torchmetrics' FID on the same network
    assert features["gansweep selection scorer"]["fid_rel_diff"] < 0.05
    studies = steps["d_studies"]
    assert sorted(studies) == ["1", "2"]
    for workers, entry in studies.items():
        [row] = entry["result"]["rows"]
        assert row["workers"] == int(workers) and row["trials_complete"] == int(workers) and row["trials_per_hour"] > 0
    table = (tmp_path / "out" / "gpu_check.md").read_text()
    assert "## (a)" in table and "## (d) studies on one device" in table and "| 2 | 2 |" in table
