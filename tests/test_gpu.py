"""The GPU fast path on a real GPU (`pytest -m gpu`; skipped where torch sees none, as in CI):
fused Adam, channels_last, the bf16 selection scorer against float32, images held on the device,
the Trainer's GPU settings, and a study trial's training on the GPU. benchmarks/gpu_check.sh runs
these first."""
import numpy as np
import pytest
import torch

from gansweep.data import prepared
from gansweep.module import GAN
from helpers import make_config, real_digits

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (benchmarks/gpu_check.sh)")]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return real_digits(tmp_path_factory.mktemp("digits"), 256)[1]


def tiny(**sections):
    return make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8},
                       train={"epochs": 1, "batch_size": 32, "limit_batches": 4, "sample_grid_size": 4, "eval_every_n_epochs": 0},
                       **sections)


def test_adam_is_fused_and_the_networks_channels_last_on_the_gpu():
    gan = GAN(tiny(), (1, 28, 28)).to("cuda")
    opt_g, opt_d = gan.configure_optimizers()
    assert opt_g.defaults["fused"] is True and opt_d.defaults["fused"] is True
    assert gan.channels_last()
    gan.on_fit_start()
    convs = [m for m in gan.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)


def test_held_images_on_the_gpu_are_the_dataloaders_batches(digits):
    held = prepared.device_batches(digits[:128], 32, 0, torch.device("cuda"))
    plain = prepared.dataloader(digits[:128], 32, 0)
    for epoch in range(2):
        held.sampler.set_epoch(epoch)
        plain.sampler.set_epoch(epoch)
        for (a,), (b,) in zip(held, plain):
            assert a.device.type == "cuda" and torch.equal(a.cpu(), b)


def test_bf16_selection_scorer_is_within_half_a_percent_of_float32(digits):
    from gansweep.metrics.fid import frechet_distance, statistics
    from gansweep.metrics.inception import inception_features, iterate, scorer

    assert scorer("cuda:0", "auto", fast=True) == "torch-bf16" and scorer("cuda:0", "auto", fast=False) == "torch-f32"
    fids = {}
    for fast in (False, True):
        a = inception_features(iterate(digits[:100]), total=100, device="cuda:0", fast=fast)
        b = inception_features(iterate(digits[100:200]), total=100, device="cuda:0", fast=fast)
        fids[fast] = frechet_distance(*statistics(a), *statistics(b))
    assert abs(fids[True] - fids[False]) / fids[False] < 0.005, fids


def test_reported_features_on_the_gpu_are_the_cpus_float32(digits):
    from gansweep.metrics.inception import inception_features, iterate

    gpu = inception_features(iterate(digits[:20]), total=20, device="cuda:0", runtime="torch")
    cpu = inception_features(iterate(digits[:20]), total=20, device="cpu", runtime="torch")
    # TF32 is off for the reported path: float32 on both, to summation order
    assert np.abs(gpu - cpu).max() < 1e-3 * np.abs(cpu).max()


def test_the_trainer_runs_on_the_gpu_with_its_settings(digits, tmp_path):
    from gansweep.train import fit_settings, train

    settings = fit_settings(tiny())
    assert settings["accelerator"] == "gpu" and settings["deterministic"] == "warn"
    assert settings["callbacks"][0].refresh_rate == 25
    path = tmp_path / "train.npz"
    prepared.save(path, digits, np.zeros(len(digits), dtype=np.int64))
    result = train(tiny(train={"ema": 0.99}, regularization={"augment": ["translation", "cutout"]}), path, tmp_path / "m", tmp_path / "m")
    assert result["last_epoch"] == 0 and (tmp_path / "m" / "generator.pt").exists()
