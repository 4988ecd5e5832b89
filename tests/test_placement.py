"""Where a study's workers run: k per visible GPU, pinned with CUDA_VISIBLE_DEVICES, and refused with
one line when they cannot fit in a GPU's free memory. The GPUs are mocked (the only mock): the
device count and each one's free memory."""
import pytest
import torch

from gansweep import study
from gansweep.registry import ConfigError
from helpers import make_config

GIB = 2**30


@pytest.fixture
def gpus(monkeypatch):
    def install(count, free_gib):
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda index: (int(free_gib[index] * GIB), 141 * GIB))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return install


def search(**values):
    return make_config(search=values).search


def test_on_the_cpu_one_worker_or_the_number_asked(gpus):
    gpus(0, [])
    assert study.workers_for(search(workers="auto", workers_per_gpu=8)) == (1, [None])
    assert study.workers_for(search(workers=3, workers_per_gpu="auto")) == (3, [None, None, None])


def test_k_workers_on_each_visible_gpu(gpus, monkeypatch):
    gpus(2, [100, 100])
    count, devices = study.workers_for(search(workers="auto", workers_per_gpu=3))
    assert count == 6 and sorted(devices) == ["0", "0", "0", "1", "1", "1"]
    assert devices[:2] == ["0", "1"]  # round-robin: the first trials spread over the GPUs
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert study.workers_for(search(workers="auto", workers_per_gpu=2))[1] == ["3", "5", "3", "5"]
    assert study.workers_for(search(workers=3, workers_per_gpu=2))[1] == ["3", "5", "3"]  # a number: round-robin


def test_auto_fits_the_free_memory_up_to_the_cap(gpus):
    gpus(1, [100])
    assert study.workers_for(search(workers="auto", workers_per_gpu="auto"))[0] == study.AUTO_WORKERS_PER_GPU
    per_worker = study.WORKER_GPU_BYTES / GIB
    gpus(2, [2.5 * per_worker, 10 * per_worker])  # the fuller GPU decides, so every GPU runs the same number
    assert study.workers_for(search(workers="auto", workers_per_gpu="auto")) == (4, ["0", "1", "0", "1"])
    gpus(1, [0.5 * per_worker])
    with pytest.raises(ConfigError, match="1 workers on GPU 0 need about"):  # not even one fits: said, not attempted
        study.workers_for(search(workers="auto", workers_per_gpu="auto"))


def test_workers_that_cannot_fit_are_refused_with_one_line(gpus):
    per_worker = study.WORKER_GPU_BYTES / GIB
    gpus(2, [100, 3 * per_worker + 0.1])
    with pytest.raises(ConfigError) as err:
        study.workers_for(search(workers="auto", workers_per_gpu=8))
    message = str(err.value)
    assert message.startswith("search.workers_per_gpu: 8 workers on GPU 1 need about 20.0 GiB, it has 7.6 GiB free; run fewer (at most 3 there)")
    assert "\n" not in message
    with pytest.raises(ConfigError, match="^search.workers: 5 workers on GPU 1 need"):
        study.workers_for(search(workers=10, workers_per_gpu=1))  # 10 over 2 GPUs: 5 each; GPU 0 has room, GPU 1 not
