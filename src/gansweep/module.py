"""The GAN as a LightningModule with manual optimization: n_critic D steps per G step.

The module never branches on the loss's name: it asks the loss for the D and G objectives.
"""
from __future__ import annotations

import dataclasses

import lightning.pytorch as pl
import torch

from gansweep.config import Config
from gansweep.data.prepared import to_unit_range
from gansweep.losses import Recipe, build_loss
from gansweep.nn.networks import Discriminator, Generator


class NonFiniteLossError(FloatingPointError):
    pass


def resolve_recipe(cfg: Config, recipe: Recipe) -> Recipe:
    """The loss's recipe with every train.* value that params.yaml sets."""
    overrides = {
        field.name: getattr(cfg.train, field.name)
        for field in dataclasses.fields(Recipe)
        if getattr(cfg.train, field.name) is not None
    }
    return dataclasses.replace(recipe, **overrides)


class GAN(pl.LightningModule):
    def __init__(self, cfg: Config, image_shape: tuple[int, int, int]):
        super().__init__()
        self.automatic_optimization = False
        self.cfg = cfg
        self.image_shape = tuple(int(s) for s in image_shape)
        self.generator = Generator(cfg.model, self.image_shape)
        self.discriminator = Discriminator(cfg.model, self.image_shape)
        self.objective = build_loss(cfg.loss.name, cfg.loss.options)
        self.recipe = resolve_recipe(cfg, self.objective.recipe)
        fixed = torch.Generator().manual_seed(cfg.train.seed)
        # The same latent vectors every epoch, so sample grids show progress, not noise.
        self.register_buffer("sample_z", torch.randn(cfg.train.sample_grid_size, cfg.model.latent_dim, generator=fixed))

    def latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.model.latent_dim, device=self.device)

    def check_finite(self, loss: torch.Tensor, name: str) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"{name} is {loss.item()} at epoch {self.current_epoch}, batch {self.trainer.fit_loop.total_batch_idx} "
                f"(loss '{self.cfg.loss.name}'): training stopped"
            )

    def training_step(self, batch, batch_idx):
        real = to_unit_range(batch[0])
        opt_g, opt_d = self.optimizers()

        with self.toggled_optimizer(opt_d):
            fake = self.generator(self.latent(len(real))).detach()
            d_loss = self.objective.d_loss(self.discriminator, real, fake)
            self.check_finite(d_loss, "d_loss")
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()
        self.log("d_loss", d_loss, on_step=True, on_epoch=True, prog_bar=True)

        if (batch_idx + 1) % self.recipe.n_critic == 0:
            with self.toggled_optimizer(opt_g):
                fake = self.generator(self.latent(len(real)))
                g_loss = self.objective.g_loss(self.discriminator, real, fake)
                self.check_finite(g_loss, "g_loss")
                opt_g.zero_grad(set_to_none=True)
                self.manual_backward(g_loss)
                opt_g.step()
            self.log("g_loss", g_loss, on_step=True, on_epoch=True, prog_bar=True)

    def configure_optimizers(self):
        r = self.recipe
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=r.lr_g, betas=(r.beta1, r.beta2))
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=r.lr_d, betas=(r.beta1, r.beta2))
        return opt_g, opt_d

    @torch.no_grad()
    def samples(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """Generator output in [-1, 1] for `z` (the fixed grid latents by default), in eval mode."""
        was_training = self.generator.training
        self.generator.eval()
        images = self.generator(self.sample_z if z is None else z)
        self.generator.train(was_training)
        return images
