"""The fast paths compute what the plain ones compute: OpenVINO's Inception the TorchScript FID, the
images held on the device the DataLoader's batches; the GPU-only settings (bf16-mixed, compile,
DDP, deferred finite checks) run on the CPU here, since CI has no GPU."""
import numpy as np
import pytest
import torch

from gansweep.config import load_config
from gansweep.data import prepared
from gansweep.metrics.fid import frechet_distance, save_statistics, statistics, statistics_of
from gansweep.metrics.inception import inception_features, iterate, resolve_runtime, scorer
from gansweep.module import GAN, NonFiniteLossError
from gansweep.registry import ConfigError
from helpers import ROOT, make_config, real_digits

pytestmark = pytest.mark.slow  # real processes, trainings or studies: `pytest -m "not slow"` skips the file


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return real_digits(tmp_path_factory.mktemp("data"), 64)[1]


def test_openvino_fid_equals_torchscript_fid_to_1e5(digits):
    first, second = digits[:24], digits[24:48]
    fids, features = {}, {}
    for runtime in ("torch", "openvino"):
        features[runtime] = [inception_features(iterate(images, 12), len(images), "cpu", runtime=runtime) for images in (first, second)]
        fids[runtime] = frechet_distance(*statistics(features[runtime][0]), *statistics(features[runtime][1]))
    assert fids["torch"] > 1  # two different samples: a real distance, not 0 = 0
    assert abs(fids["openvino"] - fids["torch"]) / fids["torch"] < 1e-5
    np.testing.assert_allclose(features["openvino"][0], features["torch"][0], rtol=0, atol=1e-3)
    again = inception_features(iterate(first, 12), len(first), "cpu", runtime="openvino")
    assert np.array_equal(again, features["openvino"][0])  # deterministic


def test_scorer_names_what_computes_the_features():
    assert resolve_runtime("auto", "cpu") == "openvino"
    assert resolve_runtime("auto", "cuda:0") == "torch"
    assert scorer("cpu", "torch") == "torch-f32"
    import openvino as ov

    native_bf16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert scorer("cpu", "openvino", fast=True) == ("openvino-bf16" if native_bf16 else "openvino-f32")
    assert scorer("cpu", "openvino", fast=False) == "openvino-f32"  # reported scores: float32 always
    with pytest.raises(ValueError, match="openvino runs on the CPU"):
        resolve_runtime("openvino", "cuda:0")
    with pytest.raises(ValueError, match="choose one of: auto, openvino, torch"):
        resolve_runtime("tensorrt", "cpu")


def test_compute_params_are_checked():
    with pytest.raises(ConfigError, match=r"compute.precision: .*'32-true' or 'bf16-mixed'.*got '16'"):
        make_config(compute={"precision": "16"})
    with pytest.raises(ConfigError, match="more than one device needs GPUs"):
        make_config(compute={"accelerator": "cpu", "devices": 2})
    with pytest.raises(ConfigError, match=r"batch_size \(30\) must be a multiple of compute.devices \(4\)"):
        make_config(compute={"devices": 4}, train={"batch_size": 30})
    with pytest.raises(ConfigError, match=r"compute.inception: unknown 'tensorrt' Inception runtime; choose one of: auto, openvino, torch"):
        make_config(compute={"inception": "tensorrt"})
    assert load_config(ROOT / "params.yaml").compute.selection_scorer == "fast"


def test_a_study_refuses_several_gpus_per_trial():
    from gansweep.study import prepare

    with pytest.raises(ConfigError, match="a study runs one worker per GPU"):
        prepare(make_config(compute={"devices": 2}))


def test_gpu_settings_are_refused_without_a_gpu(tmp_path):
    from gansweep.train import train

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    data_path = real_digits(tmp_path, 32)[0]
    with pytest.raises(ConfigError, match="compute.accelerator is gpu, but torch sees no GPU"):
        train(make_config(compute={"accelerator": "gpu"}), data_path, tmp_path / "m", tmp_path / "m")
    with pytest.raises(ConfigError, match=r"compute.devices is 2, but torch sees 0 GPU"):
        train(make_config(compute={"devices": 2}), data_path, tmp_path / "m", tmp_path / "m")


def test_held_images_give_the_dataloaders_batches(digits):
    images = digits[:50]
    loader = prepared.dataloader(images, 8, seed=3)
    held = prepared.device_batches(images, 8, seed=3, device=torch.device("cpu"))
    assert len(held) == len(loader) == 6
    firsts = []
    for epoch in (0, 1, 5):
        loader.sampler.set_epoch(epoch)
        held.sampler.set_epoch(epoch)  # Lightning calls it on both before each epoch
        pairs = list(zip(loader, held, strict=True))
        assert all(torch.equal(a[0], b[0]) for a, b in pairs)
        firsts.append(pairs[0][1][0])
    assert not torch.equal(firsts[0], firsts[1]) and not torch.equal(firsts[1], firsts[2])  # each epoch its own order


def test_statistics_are_read_once_until_the_file_changes(tmp_path):
    path = tmp_path / "stats.npz"
    save_statistics(path, np.random.default_rng(0).normal(size=(5, 3)), purpose="selection")
    first = statistics_of(path)
    assert statistics_of(path) is first
    save_statistics(path, np.random.default_rng(1).normal(size=(6, 3)), purpose="selection")
    assert statistics_of(path) is not first and len(statistics_of(path)["features"]) == 6


def tiny(**compute):
    return make_config(
        model={"latent_dim": 8, "g_width": 8, "d_width": 8},
        train={"epochs": 1, "batch_size": 8, "limit_batches": 2, "sample_grid_size": 4, "eval_every_n_epochs": 0},
        compute=compute,
    )


def fit(cfg, images, **trainer):
    import lightning.pytorch as pl

    from gansweep.train import fit_settings, training_batches, training_device

    pl.seed_everything(0, verbose=False)
    module = GAN(cfg, images.shape[1:])
    settings = {**fit_settings(cfg), **trainer}
    settings.pop("callbacks")
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, **settings)
    trainer.fit(module, training_batches(cfg, images, training_device(cfg.compute)))
    return module, trainer


def test_bf16_mixed_and_compile_train_and_keep_the_plain_state_dict(digits, tmp_path):
    """The opt-in settings run (slowly: this CPU has no bf16 units) and save what evaluate loads."""
    from gansweep.generators import load_generator, save_generator

    plain, _ = fit(tiny(), digits)
    for cfg in (tiny(precision="bf16-mixed"), tiny(compile=True)):
        module, trainer = fit(cfg, digits)
        assert torch.isfinite(trainer.callback_metrics["d_loss"]) and torch.isfinite(trainer.callback_metrics["g_loss"])
        state = module.generator.state_dict()
        assert state.keys() == plain.generator.state_dict().keys()
        if cfg.compute.precision == "bf16-mixed":  # bf16 arithmetic really ran
            assert any(not torch.equal(state[k], plain.generator.state_dict()[k]) for k in state if state[k].is_floating_point())
        save_generator(tmp_path / "g.pt", module.cfg.resolved_model(), module.image_shape, state)
        assert load_generator(tmp_path / "g.pt")(torch.zeros(2, 8)).shape == (2, 1, 28, 28)


def test_channels_last_computes_the_same_losses_and_gradients(digits):
    nhwc, _ = fit(tiny(channels_last=True), digits)  # on_fit_start converts the networks
    conv = next(p for p in nhwc.discriminator.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)

    real = prepared.to_model_range(torch.from_numpy(digits[:8]))
    grads = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        module = GAN(tiny(), digits.shape[1:])
        batch = real
        if channels_last:
            module.to(memory_format=torch.channels_last)
            batch = real.contiguous(memory_format=torch.channels_last)
        fake = module.generator(torch.randn(8, 8, generator=torch.Generator().manual_seed(1)))
        loss = module.objective.d_loss(module.discriminator, batch, fake) + module.objective.g_loss(module.discriminator, batch, fake)
        loss.backward()
        grads.append((loss.detach(), torch.cat([p.grad.flatten() for net in (module.generator, module.discriminator) for p in net.parameters()])))
    (loss_a, grad_a), (loss_b, grad_b) = grads
    torch.testing.assert_close(loss_a, loss_b, rtol=1e-5, atol=0)
    # The same arithmetic up to rounding (a bias before batch norm has gradient 0 plus rounding noise,
    # so the comparison is over all gradients at once).
    assert (grad_a - grad_b).norm() <= 1e-5 * grad_a.norm()


def test_deferred_finite_checks_name_the_first_bad_step():
    """On a GPU the losses are checked in groups (each check waits for the GPU); a NaN among them
    is reported with its own batch, not the batch of the check."""
    module = GAN(tiny(), (1, 28, 28))
    module.unchecked = [("d_loss", 7, torch.tensor(0.5)), ("g_loss", 7, torch.tensor(float("nan"))), ("d_loss", 8, torch.tensor(float("inf")))]
    with pytest.raises(NonFiniteLossError, match="g_loss is nan at epoch 0, batch 7"):
        module.flush_finite_checks()
    assert module.unchecked == []
    module.unchecked = [("d_loss", 9, torch.tensor(1.0))]
    module.flush_finite_checks()  # finite: nothing raised


DDP_SCRIPT = """
import sys
import lightning.pytorch as pl
import torch
from gansweep.config import load_config
from gansweep.data import prepared
from gansweep.module import GAN

params, data, out, strategy = sys.argv[1:5]
torch.set_num_threads(1)


class Checksums(pl.Callback):
    def on_train_end(self, trainer, module):
        local = torch.stack([torch.cat([p.detach().flatten() for p in net.parameters()]).double().sum()
                             for net in (module.generator, module.discriminator)])
        gathered = trainer.strategy.all_gather(local)
        draws = trainer.strategy.all_gather(torch.randn(3))  # from each process's random stream
        if trainer.global_rank == 0:
            torch.save({"weights": gathered, "draws": draws}, out)


if __name__ == "__main__":
    pl.seed_everything(0, verbose=False)  # as train() does: Lightning then seeds every process alike
    cfg = load_config(params, {"model": {"latent_dim": 8, "g_width": 8, "d_width": 8}, "train": {"batch_size": 8, "sample_grid_size": 4}})
    images, _ = prepared.load(data)
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy=strategy, max_epochs=1, limit_train_batches=3, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[Checksums()])
    trainer.fit(GAN(cfg, images.shape[1:]), prepared.dataloader(images, cfg.train.batch_size // 2, cfg.train.seed))
"""


def test_ddp_keeps_processes_in_step(tmp_path, monkeypatch):
    """devices > 1 trains with the strategy fit_settings picks for GPUs (DDP expecting unused
    parameters: D's and G's backward passes each reach half of them; the default DDP fails on the
    second backward), here as two CPU processes (gloo), launched as Lightning launches them: the
    script again, once per process."""
    import subprocess
    import sys

    from gansweep.train import fit_settings

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)  # the only mock: two GPUs
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    settings = fit_settings(make_config(compute={"devices": 2}))
    assert settings["accelerator"] == "gpu" and settings["devices"] == 2 and settings["sync_batchnorm"]
    data_path = real_digits(tmp_path, 64)[0]
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(ROOT / "params.yaml"), str(data_path), str(tmp_path / "sums.pt"), settings["strategy"]],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = torch.load(tmp_path / "sums.pt")
    sums, draws = saved["weights"], saved["draws"]
    assert sums.shape == (2, 2) and draws.shape == (2, 3)
    torch.testing.assert_close(sums[0], sums[1], rtol=0, atol=0)  # both processes hold the same weights
    assert not torch.equal(draws[0], draws[1])  # but draw their own latents (GAN.on_train_epoch_start)
