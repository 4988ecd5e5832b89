"""Training throughput: gansweep's GAN through the Lightning Trainer (the path of every run and
study trial, MLflow logging included) against a minimal plain-PyTorch loop of the same networks,
loss, optimizers, batch size and data.

The variants alternate for --rounds rounds, each with fresh networks from the same seed; each
times --steps G+D steps after --warmup steps. Reported: median ms per step, images/s and the
throughput ratio to the plain loop of the same round set. On a GPU the fast-path variants (bf16,
torch.compile) run too.

  python benchmarks/train_throughput.py                       # prints a table
  python benchmarks/train_throughput.py --json benchmarks/results/train_throughput_cpu.json
  python benchmarks/train_throughput.py --variant compute.channels_last=true --variant compute.precision=bf16-mixed
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
import yaml
from bench import environment, median_table, real_digits, write_json
from torch.utils.data import DataLoader, TensorDataset

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)
from gansweep.config import load_config
from gansweep.module import GAN
from gansweep.train import RunLogger, fit_settings, quiet_lightning, training_batches, training_device


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(cfg, images, warmup: int, steps: int) -> float:
    """Seconds for `steps` G+D steps of the loop a careful person writes by hand: DataLoader,
    no_grad fakes for D, D frozen during G's step."""
    device = training_device(cfg.compute)
    # The global flags a gansweep training sets (deterministic kernels, see GAN.on_fit_start), so
    # that the comparison is of the loops, whichever variant ran first in this process.
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    torch.utils.deterministic.fill_uninitialized_memory = False
    pl.seed_everything(cfg.train.seed, verbose=False)
    module = GAN(cfg, images.shape[1:])  # only for its networks and loss: the same initial weights
    generator, critic, objective, r = module.generator.to(device), module.discriminator.to(device), module.objective, module.recipe
    opt_g = torch.optim.Adam(generator.parameters(), lr=r.lr_g, betas=(r.beta1, r.beta2))
    opt_d = torch.optim.Adam(critic.parameters(), lr=r.lr_d, betas=(r.beta1, r.beta2))
    loader = DataLoader(TensorDataset(torch.from_numpy(images)), batch_size=cfg.train.batch_size, shuffle=True, drop_last=True)
    latent = cfg.model.latent_dim
    for i, (batch,) in enumerate(loader):
        if i == warmup:
            sync(device)
            start = time.perf_counter()
        if i == warmup + steps:
            break
        real = batch.to(device).float().mul(2 / 255).sub(1)
        with torch.no_grad():
            fake = generator(torch.randn(len(real), latent, device=device))
        d_loss = objective.d_loss(critic, real, fake)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        critic.requires_grad_(False)
        g_loss = objective.g_loss(critic, real, generator(torch.randn(len(real), latent, device=device)))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        critic.requires_grad_(True)
    sync(device)
    return time.perf_counter() - start


class StepTimer(pl.Callback):
    def __init__(self, warmup: int, steps: int, device):
        self.warmup, self.steps, self.device, self.seconds = warmup, steps, device, None

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if batch_idx == self.warmup:
            sync(self.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if batch_idx == self.warmup + self.steps - 1:
            sync(self.device)
            self.seconds = time.perf_counter() - self.start


def gansweep_loop(cfg, images, warmup: int, steps: int, store: Path) -> float:
    """Seconds for `steps` steps of train()'s Trainer: the same settings (compute.*), module,
    batches and an MLflow logger; no checkpoints, sample grids or periodic evaluation."""
    device = training_device(cfg.compute)
    pl.seed_everything(cfg.train.seed, verbose=False)
    module = GAN(cfg, images.shape[1:])
    logger = RunLogger(experiment_name="throughput", tracking_uri=f"sqlite:///{store}")
    logger.run_id  # noqa: B018  (the store and the run exist before the timing, as in train())
    settings = fit_settings(cfg)
    settings.pop("callbacks")
    timer = StepTimer(warmup, steps, device)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=warmup + steps, logger=logger, callbacks=[timer], log_every_n_steps=10,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, **settings)
    trainer.fit(module, training_batches(cfg, images, device))
    return timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=140)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=None, help="default: train.batch_size (32); the GPU target is set at 128")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE",
                        help="also time gansweep with these params overrides, e.g. compute.channels_last=true or "
                             "'model.architecture=dcgan model.g_width=64' (repeatable)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    quiet_lightning()
    overrides = {"train.batch_size": args.batch_size} if args.batch_size else {}
    base = load_config("params.yaml", overrides)
    images = real_digits()
    needed = (args.warmup + args.steps) * base.train.batch_size
    if needed > len(images):
        sys.exit(f"{args.warmup + args.steps} steps of {base.train.batch_size} need {needed} images, the data has {len(images)}")
    device = training_device(base.compute)
    variants = {"plain PyTorch loop": lambda store: plain_loop(base, images, args.warmup, args.steps),
                "gansweep (params.yaml compute)": lambda store: gansweep_loop(base, images, args.warmup, args.steps, store)}
    if device.type == "cuda":
        for name, extra in (("gansweep fast path, bf16-mixed", {"compute.precision": "bf16-mixed"}),
                            ("gansweep fast path, compile", {"compute.compile": True}),
                            ("gansweep, fast path off", {"compute.channels_last": False, "compute.data_on_device": False})):
            cfg = load_config("params.yaml", {**overrides, **extra})
            variants[name] = lambda store, cfg=cfg: gansweep_loop(cfg, images, args.warmup, args.steps, store)
    for item in args.variant:  # one or more KEY=VALUE, separated by spaces
        values = {key: yaml.safe_load(value) for key, _, value in (pair.partition("=") for pair in item.split())}
        cfg = load_config("params.yaml", {**overrides, **values})
        variants[f"gansweep, {item}"] = lambda store, cfg=cfg: gansweep_loop(cfg, images, args.warmup, args.steps, store)
    seconds = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for name, run in variants.items():
                seconds[name].append(run(Path(tmp) / f"mlflow-{round_}.db"))
                print(f"round {round_ + 1}/{args.rounds}: {name}: {1000 * seconds[name][-1] / args.steps:.2f} ms/step", flush=True)
    batch = base.train.batch_size
    rows = []
    for name, values in seconds.items():
        per_step = statistics.median(values) / args.steps
        rows.append({"variant": name, "ms_per_step": 1000 * per_step, "images_per_s": batch / per_step,
                     "ms_per_step_rounds": [1000 * v / args.steps for v in values]})
    baseline = rows[0]["images_per_s"]
    for row in rows:
        row["ratio_to_plain"] = row["images_per_s"] / baseline
    result = {"benchmark": "train_throughput", **environment(device),
              "settings": {"batch_size": batch, "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds,
                           "loss": base.loss.name, "model": base.model.model_dump(), "compute": base.compute.model_dump(),
                           "images": f"{len(images)} embedded MNIST digits (mnist-5k), 28x28"},
              "rows": rows}
    print(median_table(result, ["variant", "ms_per_step", "images_per_s", "ratio_to_plain"]))
    write_json(args.json, result)


if __name__ == "__main__":
    main()
