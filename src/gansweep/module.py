"""The GAN as a LightningModule with manual optimization: n_critic D steps per G step.

The module never branches on the loss's name: it asks the loss for the D and G objectives, the
per-image score that penalties differentiate, and its step hooks (WGAN's clipping, BEGAN's k_t).
The discriminator sees real and generated images only through the augmentation policy
(regularization.augment), penalties included; with train.ema, an average of the generator's
weights (gansweep.ema) is the generator that samples and scores.
"""
from __future__ import annotations

import copy

import lightning.pytorch as pl
import torch

from gansweep import ema, regularizers
from gansweep.augment import augment
from gansweep.config import Config
from gansweep.data.prepared import to_model_range
from gansweep.losses import OPTIMIZERS, build_loss
from gansweep.nn.networks import DISCRIMINATORS, Generator
from gansweep.seeding import stream_seed

FINITE_CHECK_EVERY = 32  # steps between finiteness checks on a GPU (each check waits for it)


class NonFiniteLossError(FloatingPointError):
    pass


class GAN(pl.LightningModule):
    def __init__(self, cfg: Config, image_shape: tuple[int, int, int]):
        super().__init__()
        self.automatic_optimization = False
        self.cfg = cfg
        self.recipe = cfg.recipe()
        self.reg = cfg.regularization
        self.image_shape = tuple(int(s) for s in image_shape)
        model = cfg.resolved_model()
        self.generator = Generator(model, self.image_shape)
        # Registered as a submodule, so checkpoints (and an exact resume) hold the average too; no optimizer sees it.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if cfg.train.ema is not None else None
        self.discriminator = DISCRIMINATORS.get(self.recipe.discriminator)(model, self.image_shape)
        if self.reg.d_spectral_norm:
            regularizers.spectral_normalize(self.discriminator)
        self.objective = build_loss(cfg.loss.name, cfg.loss.options)
        # The same latent vectors every epoch, so sample grids show progress, not noise.
        fixed = torch.Generator().manual_seed(cfg.train.seed)
        self.register_buffer("sample_z", torch.randn(cfg.train.sample_grid_size, cfg.model.latent_dim, generator=fixed))
        self.critic_steps, self.standing_at = 0, None  # standing_at: the step of the average's batch-norm statistics
        self.unchecked = []  # (name, step, loss) not yet checked for finiteness (GPU only)
        if cfg.compute.compile:
            # In place, so state_dict keys (checkpoints, saved generators) stay those of the plain networks.
            self.generator.compile()
            self.discriminator.compile()

    @property
    def output_generator(self):
        """The generator that samples, selection, saved files and scores use: the average with train.ema,
        with standing batch-norm statistics for its current weights (gansweep.ema)."""
        if self.generator_ema is not None and self.standing_at != self.critic_steps:
            ema.standing_statistics(self.generator_ema, self.cfg.train.batch_size, seed=self.cfg.train.seed)
            self.standing_at = self.critic_steps
        return self.generator if self.generator_ema is None else self.generator_ema

    def channels_last(self) -> bool:
        setting = self.cfg.compute.channels_last
        return self.device.type == "cuda" if setting == "auto" else setting

    def on_fit_start(self):
        # Lightning's deterministic mode also fills every new tensor with NaN to expose reads of
        # uninitialised memory: 3% of each CPU step, and no effect on the results.
        torch.utils.deterministic.fill_uninitialized_memory = False
        if self.channels_last():
            self.to(memory_format=torch.channels_last)

    def latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.model.latent_dim, device=self.device)

    def flush_finite_checks(self) -> None:
        finite = torch.isfinite(torch.stack([loss for _, _, loss in self.unchecked])).tolist()
        pending, self.unchecked = self.unchecked, []
        for ok, (name, batch, loss) in zip(finite, pending):
            if not ok:
                raise NonFiniteLossError(f"{name} is {loss.item()} at epoch {self.current_epoch}, batch {batch} "
                                         f"(loss '{self.cfg.loss.name}'): training stopped")

    def critic_score(self, images):
        """The per-image value that gradient penalties differentiate (the loss decides what it is)."""
        return self.objective.score(self.discriminator, images)

    def discriminator_loss(self, real, fake):
        loss = self.objective.d_loss(self.discriminator, real, fake)
        if self.recipe.gradient_penalty:
            loss = loss + self.recipe.gradient_penalty * regularizers.gradient_penalty(self.critic_score, real, fake)
        if self.reg.r1:
            loss = loss + self.reg.r1 * regularizers.r1_penalty(self.critic_score, real)
        return loss + regularizers.weight_penalty(self.discriminator, self.reg.d_l1, self.reg.d_l2)

    def generator_loss(self, real, fake):
        loss = self.objective.g_loss(self.discriminator, real, fake)
        return loss + regularizers.weight_penalty(self.generator, self.reg.g_l1, self.reg.g_l2)

    def step(self, optimizer, network, loss, name, lr, weight_decay):
        """One update of `network`. A NaN or infinite loss stops training: at once on the CPU; on a GPU
        every FINITE_CHECK_EVERY steps and at each epoch's end (a check per step would stall it)."""
        self.unchecked.append((name, self.trainer.fit_loop.total_batch_idx, loss.detach()))
        if loss.device.type == "cpu" or len(self.unchecked) >= 2 * FINITE_CHECK_EVERY or self.last_batch_of_epoch:
            self.flush_finite_checks()
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        regularizers.decay_weights(network, lr, weight_decay)
        optimizer.step()

    def on_train_epoch_start(self):
        if self.trainer.world_size > 1:
            # Lightning seeds every DDP process alike (and a resume restores process 0's random state
            # everywhere): without this, all GPUs would draw the same latents.
            torch.manual_seed(stream_seed(self.cfg.train.seed, 1_000 + 1_000 * self.current_epoch + self.global_rank))
        # Lightning keeps an epoch mean until a new one replaces it: an epoch without generator steps
        # (n_critic above the batches per epoch) must not report the previous epoch's g_loss.
        self.logged_this_epoch = set()

    def training_step(self, batch, batch_idx):
        real = to_model_range(batch[0], self.cfg.model.g_output)
        self.last_batch_of_epoch = batch_idx + 1 >= self.trainer.num_training_batches
        if self.channels_last():
            real = real.contiguous(memory_format=torch.channels_last)
        opt_g, opt_d = self.optimizers()

        policy = self.reg.augment
        with self.toggled_optimizer(opt_d):
            fake = self.generator(self.latent(len(real))).detach()
            d_loss = self.discriminator_loss(augment(real, policy), augment(fake, policy))
            self.step(opt_d, self.discriminator, d_loss, "d_loss", self.recipe.lr_d, self.reg.d_weight_decay)
            self.objective.after_d_step(self.discriminator)
        self.log("d_loss", d_loss, on_step=True, on_epoch=True, prog_bar=True)
        self.logged_this_epoch.add("d_loss")

        # Counted over the whole run, not per epoch: every n_critic-th critic step is followed by a
        # generator step, whatever the number of batches per epoch.
        self.critic_steps += 1
        if self.critic_steps % self.recipe.n_critic == 0:
            with self.toggled_optimizer(opt_g):
                fake = self.generator(self.latent(len(real)))
                g_loss = self.generator_loss(augment(real, policy), augment(fake, policy))
                self.step(opt_g, self.generator, g_loss, "g_loss", self.recipe.lr_g, self.reg.g_weight_decay)
            if self.generator_ema is not None:
                t = self.cfg.train
                ema.update(self.generator_ema, self.generator, ema.ema_beta(t.ema, t.ema_rampup, self.critic_steps // self.recipe.n_critic - 1))
            self.objective.after_g_step()
            self.log("g_loss", g_loss, on_step=True, on_epoch=True, prog_bar=True)
            self.logged_this_epoch.add("g_loss")
            self.log_dict(self.objective.metrics(), on_step=True, on_epoch=True)

    def on_save_checkpoint(self, checkpoint):
        # What Lightning's checkpoint lacks for an exact resume: the run-wide critic step count, the
        # loss's own state (BEGAN's k_t) and torch's global random streams (latents, dropout, augmentation;
        # nothing in training draws from numpy's or Python's).
        rng = {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
        checkpoint["gansweep"] = {"critic_steps": self.critic_steps, "loss": self.objective.state_dict(), "rng": rng}

    def on_load_checkpoint(self, checkpoint):
        state = checkpoint["gansweep"]
        self.critic_steps = state["critic_steps"]
        self.objective.load_state_dict(state["loss"])
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def configure_optimizers(self):
        r = self.recipe
        make, fused = OPTIMIZERS.get(r.optimizer), (True if self.device.type == "cuda" else None)
        return make(self.generator.parameters(), r, r.lr_g, fused), make(self.discriminator.parameters(), r, r.lr_d, fused)

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """The output generator's images of the fixed grid latents, in eval mode."""
        generator = self.output_generator
        was_training = generator.training
        generator.eval()
        images = generator(self.sample_z)
        generator.train(was_training)
        return images
