"""Generator EMA: the update and warm-up formulas (Karras et al. 2018; StyleGAN2's ramp-up), the
average's own standing batch-norm statistics (BigGAN), and the average being the generator that samples, selection, saved files and
scores use, in real Lightning training."""
import copy
import math

import lightning.pytorch as pl
import pytest
import torch
from torch import nn

from gansweep import ema
from gansweep.generators import load_generator
from gansweep.module import GAN
from gansweep.train import train
from helpers import make_config, real_digits


def half_life(decay: float) -> float:
    """Generator steps after which a weight's share in the average halves."""
    return math.log(0.5) / math.log(decay)


def test_the_warm_up_caps_the_half_life_at_a_share_of_the_steps_so_far():
    assert ema.ema_beta(0.999, 0.05, 0) == 0.0  # the average starts as the generator
    # half-life capped at 0.05 * t steps: beta_t = 0.5 ** (1 / (0.05 t))
    assert ema.ema_beta(0.999, 0.05, 10) == pytest.approx(0.25)
    assert ema.ema_beta(0.999, 0.05, 100) == pytest.approx(0.5 ** 0.2)
    # from t = half_life / rampup on, the decay itself
    assert half_life(0.999) == pytest.approx(692.8, abs=0.1)
    switch = half_life(0.999) / 0.05
    assert ema.ema_beta(0.999, 0.05, math.ceil(switch)) == 0.999 and ema.ema_beta(0.999, 0.05, math.floor(switch)) < 0.999
    assert ema.ema_beta(0.999, None, 0) == ema.ema_beta(0.999, None, 5) == 0.999
    # StyleGAN2's form in images, batch 32: ema_nimg = min(ema_kimg * 1000, cur_nimg * rampup)
    batch, t = 32, 300
    ema_nimg = min(half_life(0.999) * batch, t * batch * 0.05)
    assert ema.ema_beta(0.999, 0.05, t) == pytest.approx(0.5 ** (batch / ema_nimg))


def test_the_update_averages_weights_and_leaves_buffers():
    g = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    average = copy.deepcopy(g).requires_grad_(False)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
        g[1].running_mean.fill_(3.0)
    before = [p.clone() for p in average.parameters()]
    ema.update(average, g, beta=0.75)
    for a, b, p in zip(average.parameters(), before, g.parameters()):
        assert torch.allclose(a, 0.75 * b + 0.25 * p)
    assert torch.equal(average[1].running_mean, torch.zeros(2))  # the average's statistics are its own (standing_statistics)
    ema.update(average, g, beta=0.0)
    assert all(torch.equal(a, p) for a, p in zip(average.parameters(), g.parameters()))


def test_standing_statistics_average_each_batch_norms_batch_statistics_over_seeded_latents():
    from gansweep.nn.networks import Generator

    generator = Generator(make_config(model={"latent_dim": 8, "g_width": 8, "g_dropout": 0.5}).resolved_model(), (1, 28, 28))
    generator.train()
    for m in generator.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.fill_(7.0)  # stale statistics of other weights
    momentum = next(m.momentum for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    random_state = torch.get_rng_state()
    ema.standing_statistics(generator, batch_size=16, batches=3, seed=5)
    assert torch.equal(torch.get_rng_state(), random_state)  # dropout stayed off: training's random stream is untouched
    assert generator.training and all(m.momentum == momentum for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    # what each norm sees with batch statistics (momentum 0: the running ones stay) and dropout off
    rng = torch.Generator().manual_seed(5)
    latents = [torch.randn(16, 8, generator=rng) for _ in range(3)]
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    standing = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    seen = {m: [] for m in norms}
    generator.eval()
    for m in norms:
        m.momentum = 0.0
        m.train()
        m.register_forward_hook(lambda module, inputs, output: seen[module].append(inputs[0].detach().transpose(0, 1).flatten(1)))
    with torch.no_grad():
        for z in latents:
            generator(z)
    assert len(norms) >= 3 and all(len(seen[m]) == 3 for m in norms)
    for m, (mean, var) in zip(norms, standing):
        assert torch.allclose(mean, torch.stack([x.mean(1) for x in seen[m]]).mean(0), atol=1e-5)
        assert torch.allclose(var, torch.stack([x.var(1) for x in seen[m]]).mean(0), rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    return real_digits(tmp_path_factory.mktemp("data"), 64)[0]


def tiny(**train):
    return make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8},
                       train={"epochs": 1, "batch_size": 16, "limit_batches": 4, "sample_grid_size": 4, "eval_every_n_epochs": 0,
                              "ema": 0.9, "ema_rampup": 0.5, **train})


def test_training_keeps_the_average_of_every_generator_step(data_path):
    from gansweep.data import prepared

    cfg = tiny(n_critic=2)  # 4 critic steps, 2 generator steps
    pl.seed_everything(0, verbose=False)
    module = GAN(cfg, (1, 28, 28))
    expected = [p.detach().clone() for p in module.generator_ema.parameters()]
    steps = []
    original = GAN.training_step

    def recording(self, batch, batch_idx):
        before = self.critic_steps
        original(self, batch, batch_idx)
        if self.critic_steps % 2 == 0 and self.critic_steps != before:
            t = self.critic_steps // 2 - 1
            beta = ema.ema_beta(0.9, 0.5, t)
            for e, p in zip(expected, self.generator.parameters()):
                e.mul_(beta).add_(p.detach(), alpha=1 - beta)
            steps.append(beta)

    module.training_step = recording.__get__(module)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    images, _ = prepared.load(data_path)
    trainer.fit(module, prepared.dataloader(images, 16, 0))
    assert steps == [0.0, 0.5 ** (1 / 0.5)]
    assert not any(p.requires_grad for p in module.generator_ema.parameters())  # no optimizer sees the average
    for e, a in zip(expected, module.generator_ema.parameters()):
        assert torch.allclose(e, a, atol=1e-7)
    assert any(not torch.equal(a, p) for a, p in zip(module.generator_ema.parameters(), module.generator.parameters()))
    # samples come from the average, in eval mode, with its own batch-norm statistics
    samples = module.samples()
    own = [b.clone() for b in module.generator_ema.buffers()]
    ema.standing_statistics(module.generator_ema, 16, seed=cfg.train.seed)
    assert all(torch.equal(a, b) for a, b in zip(own, module.generator_ema.buffers()))
    assert any(not torch.equal(a, p) for a, p in zip(own, module.generator.buffers()))  # not the trained generator's
    module.generator_ema.eval()
    assert torch.equal(samples, module.generator_ema(module.sample_z))


def test_saved_generators_and_the_selection_use_the_average(data_path, tmp_path, monkeypatch):
    from gansweep import callbacks
    from gansweep.metrics.fid import save_statistics
    from gansweep.metrics.inception import inception_features, iterate
    from gansweep.protocol import SELECTION, describe
    from gansweep.data import prepared

    fitted = []
    monkeypatch.setattr(GAN, "on_fit_end", lambda self: fitted.append(self), raising=False)
    scored = []
    original = callbacks.PeriodicEvaluation.on_train_epoch_end

    def spy(self, trainer, module):
        import gansweep.evaluate as evaluate

        real = evaluate.selection_score
        monkeypatch.setattr(evaluate, "selection_score", lambda g, *a: scored.append(g) or real(g, *a))
        original(self, trainer, module)

    monkeypatch.setattr(callbacks.PeriodicEvaluation, "on_train_epoch_end", spy)
    images, _ = prepared.load(data_path)
    cfg = make_config(model={"latent_dim": 8, "g_width": 8, "d_width": 8},
                      train={"epochs": 2, "batch_size": 16, "limit_batches": 2, "sample_grid_size": 4, "eval_every_n_epochs": 1,
                             "eval_images": 6, "eval_reference_images": 8, "ema": 0.99, "ema_rampup": 0.05},
                      metrics={"kid_subset_size": 4, "kid_subsets": 2})
    save_statistics(tmp_path / "selection.npz", inception_features(iterate(images[:8]), total=8, device="cpu"), **describe(cfg, SELECTION))
    result = train(cfg, data_path, tmp_path / "m", tmp_path / "m", selection_path=tmp_path / "selection.npz")
    [module] = fitted
    assert scored and all(g is module.generator_ema for g in scored)
    saved = load_generator(tmp_path / "m" / "generator.pt")
    same = lambda a, b: all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))  # noqa: E731
    assert same(saved, module.generator_ema) and not same(saved, module.generator)
    own = [b.clone() for b in saved.buffers()]  # the average's standing statistics, saved with it
    ema.standing_statistics(saved, 16, seed=cfg.train.seed)
    assert all(torch.equal(a, b) for a, b in zip(own, saved.buffers()))
    if result["best_epoch"] == result["last_epoch"]:
        assert same(load_generator(tmp_path / "m" / "generator_best.pt"), module.generator_ema)
