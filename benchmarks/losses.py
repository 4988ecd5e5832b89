"""Every loss trained with its recipe on the default data for the same budget, then scored.

    python benchmarks/losses.py [--epochs N] [--losses a,b]   (after `dvc repro`, which makes
    the prepared data and the reference statistics)

Budget: the same number of epochs (passes of the discriminator over the data) for every loss;
losses with n_critic > 1 therefore make fewer generator steps, as their papers prescribe. The recipe
(optimizer, learning rates, betas, n_critic, D norm, gradient penalty) is the loss's own, whatever
params.yaml sets; everything else is params.yaml's. Each run is logged to MLflow (experiment "benchmark-losses"); the table goes
to docs/losses.md, rewritten after every loss so an interruption keeps what finished.
"""
import argparse
import platform
import sys
import time
from pathlib import Path

import torch
import yaml

import _checkout  # noqa: F401  (this checkout's src/, not an installed copy)

from gansweep import paths
from gansweep.config import parse_config
from gansweep.evaluate import score
from gansweep.losses import LOSSES
from gansweep.metrics.fid import load_statistics
from gansweep.generators import load_generator
from gansweep.metrics.inception import default_device
from gansweep.train import train

OUT = Path("docs/losses.md")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: train.epochs of params.yaml")
    parser.add_argument("--losses", default=",".join(LOSSES.names()))
    args = parser.parse_args()

    raw = yaml.safe_load(Path("params.yaml").read_text())
    if args.epochs:
        raw["train"]["epochs"] = args.epochs
    raw["tracking"]["experiment"] = "benchmark-losses"
    # Each loss's own recipe: params.yaml's settings of these (the default recipe's) would override it.
    for section, key in [("train", k) for k in ("n_critic", "lr_g", "lr_d", "beta1", "beta2", "optimizer")] + [
            ("model", "d_norm"), ("regularization", "gradient_penalty")]:
        raw[section][key] = None
    reference = load_statistics(paths.REFERENCE_STATS)
    rows = []
    for name in args.losses.split(","):
        cfg = parse_config({**raw, "loss": {"name": name, "options": {}}})
        recipe = cfg.recipe()
        work = Path("benchmarks/out") / name
        start = time.time()
        run = train(cfg, paths.prepared_split("train"), work, work, selection_path=paths.SELECTION_STATS)
        seconds = time.time() - start
        metrics, _ = score(load_generator(work / "generator_best.pt", default_device()), reference, cfg.metrics)
        rows.append(
            f"| {name} | {metrics['fid']:.2f} | {metrics['kid'] * 1e3:.2f} +- {metrics['kid_std'] * 1e3:.2f} | "
            f"{metrics['precision']:.2f} / {metrics['recall']:.2f} | "
            f"{seconds:.0f} | {recipe.optimizer} {recipe.lr_d:g}/{recipe.lr_g:g}, n_critic {recipe.n_critic}, "
            f"D norm {recipe.d_norm}{', GP ' + format(recipe.gradient_penalty, 'g') if recipe.gradient_penalty else ''} | "
            f"`{run['run_id'][:8]}` |"
        )
        write(cfg, rows)


def write(cfg, rows):
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({platform.machine()})"
    lines = [
        "# Every loss with its recipe, same budget",
        "",
        f"Made by `{' '.join(['python', *sys.argv])}` after `dvc repro`, on {device}: {cfg.data.dataset}, "
        f"{cfg.train.epochs} epochs of batch {cfg.train.batch_size} for every loss, {cfg.model.architecture}, EMA {cfg.train.ema}, G {cfg.model.g_activation}/"
        f"{cfg.model.g_norm}, D {cfg.model.d_activation}; FID and KID of {cfg.metrics.generated_images} generated "
        f"images against {cfg.metrics.reference_images} real ones (noise floor at this N: see baselines.md), "
        f"best generator by periodic KID (every {cfg.train.eval_every_n_epochs} epochs). "
        "Seconds are training time. One seed: differences of a few FID points are within run-to-run noise.",
        "",
        "| loss | FID | KID (x1e3) | precision / recall | seconds | recipe | MLflow run |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
        *rows,
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
