"""Wasserstein GANs: weight clipping {cite}`arjovsky2017wasserstein` and WGAN-GP {cite}`gulrajani2017improved`.

`WGAN` is a `GAN` whose discriminator is a *critic* $f$ (a real score, no
sigmoid) trained to maximise the Wasserstein estimate
$\\mathbb{E}_x[f(x)] - \\mathbb{E}_z[f(G(z))]$, while the generator minimises
$-\\mathbb{E}_z[f(G(z))]$. The estimate means something only if $f$ is (close
to) 1-Lipschitz; `penalty` chooses how that is enforced:

- `"clip"` (Arjovsky et al.): after every critic update, clip every critic
  weight into $[-c, c]$. Defaults: RMSProp(5e-5), $c = 0.01$, `n_critic=5`.
- `"gp"` (Gulrajani et al.): add $\\lambda\\,\\mathbb{E}_{\\hat x}[(\\lVert\\nabla f(\\hat x)\\rVert_2 - 1)^2]$
  on points $\\hat x = \\epsilon x + (1 - \\epsilon) G(z)$, $\\epsilon \\sim U[0, 1]$
  per sample. Defaults: Adam(1e-4, beta_1=0, beta_2=0.9), $\\lambda = 10$,
  `n_critic=5`, and no BatchNorm in the critic (the penalty is per sample).

One `train_step` is one generator update after `n_critic` critic updates.
The batch that `fit` hands over is split into `n_critic` equal slices and
each critic update sees its own slice of real images with fresh noise, as in
the papers' algorithms (a new real minibatch per critic iteration). So
`fit(x, batch_size=n_critic * m)` makes critic and generator steps of `m`
samples, and one epoch shows the critic every training image once.

Sampling, saving (optimizers, their moments, the noise generator's state) and
the input checks (shape, range and finiteness of the real images, NumPy or
tf.data) are `GAN`'s.
"""

from __future__ import annotations

import keras
from keras import ops

from gancore import losses
from gancore.gradients import minimize, per_replica_draw
from gancore.models.gan import GAN
from gancore.models.networks import batch_norm_layers
from gancore.models.serialization import with_submodels

PENALTIES = ("clip", "gp")


@keras.saving.register_keras_serializable(package="gancore")
class WGAN(GAN):
    """A generator and a critic trained on the Wasserstein estimate by `fit`.

    Args:
        generator: maps noise (batch, latent_dim) to samples (images in [-1, 1]).
        critic: maps samples to one unbounded score each, shape (batch, 1).
        penalty: `"clip"` (weight clipping) or `"gp"` (gradient penalty).
        n_critic: critic updates per generator update.
        clip_value: $c$ of weight clipping (used with `penalty="clip"`).
        gradient_penalty_weight: $\\lambda$ of the penalty (`penalty="gp"`).
        latent_dim: size of $z$; read from the generator's input if `None`.
        seed: seed of the noise and interpolation weights drawn in `train_step`.

    Example:
        ```python
        critic = dcgan_discriminator(batch_norm=False)
        wgan = WGAN(dcgan_generator(), critic, penalty="gp", n_critic=5)
        wgan.compile()  # Adam(1e-4, beta_1=0, beta_2=0.9) for both
        wgan.fit(images, batch_size=5 * 64, epochs=5)  # steps of 64 images
        ```
    """

    def __init__(
        self,
        generator,
        critic,
        penalty: str = "gp",
        n_critic: int = 5,
        clip_value: float = 0.01,
        gradient_penalty_weight: float = 10.0,
        latent_dim: int | None = None,
        seed: int = 1337,
        **kwargs,
    ):
        if penalty not in PENALTIES:
            raise ValueError(f"Unknown penalty {penalty!r}. Expected one of {PENALTIES}.")
        if int(n_critic) < 1:
            raise ValueError(
                f"Expected n_critic >= 1 (critic updates per generator update). Received: n_critic={n_critic}."
            )
        if penalty == "clip" and not clip_value > 0:
            raise ValueError(f"Expected clip_value > 0. Received: clip_value={clip_value}.")
        if penalty == "gp" and batch_norm_layers(critic):
            raise ValueError(
                "The gradient penalty is taken per sample, but the critic has BatchNormalization "
                "layers, which make each score depend on the whole batch. Build the critic without "
                "them, e.g. dcgan_discriminator(batch_norm=False)."
            )
        super().__init__(generator, critic, latent_dim=latent_dim, seed=seed, **kwargs)
        self.penalty = penalty
        self.n_critic = int(n_critic)
        self.clip_value = float(clip_value)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")

    @property
    def critic(self):
        """The critic $f$ (stored as `discriminator`, the name `GAN` uses)."""
        return self.discriminator

    @property
    def metrics(self):
        trackers = [self.critic_loss_tracker, self.generator_loss_tracker, self.wasserstein_tracker]
        return trackers + [self.penalty_tracker] if self.penalty == "gp" else trackers

    def default_optimizer(self):
        """A fresh optimizer with the paper's settings for this `penalty`."""
        if self.penalty == "clip":
            return keras.optimizers.RMSprop(5e-5)
        return keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Sets the critic's and the generator's optimizers.

        Args:
            d_optimizer: the critic's optimizer; default `default_optimizer()`.
            g_optimizer: the generator's optimizer; same default.
            **kwargs: passed to `keras.Model.compile`, e.g. `jit_compile`
                or `steps_per_execution`.
        """
        for key in ("loss", "label_smoothing"):
            if key in kwargs:
                raise ValueError(
                    f"WGAN trains on the Wasserstein losses; {key}= does not apply. "
                    f"Received: {key}={kwargs[key]!r}."
                )
        super().compile(
            d_optimizer or self.default_optimizer(),
            g_optimizer or self.default_optimizer(),
            **kwargs,
        )
        self.generator_loss_name = "wasserstein"
        self.generator_loss = losses.wasserstein_generator_loss

    # -- training -----------------------------------------------------------------

    def clip_critic_weights(self):
        """Clips every trainable critic weight into [-clip_value, clip_value]."""
        for variable in self.critic.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))

    def critic_step(self, real, labels):
        """One critic update on real samples and as many fresh fakes; returns (loss, estimate, penalty)."""
        batch_size = ops.shape(real)[0]
        noise = self.sample_latent(batch_size)  # (m, latent_dim)
        fake = self.generator(self.generator_inputs(noise, labels), training=True)
        fake = ops.stop_gradient(fake)  # G is held fixed in the critic step
        if self.penalty == "gp":
            epsilon = per_replica_draw(
                lambda n: losses.interpolation_weights(
                    n, len(self.sample_shape), seed=self.seed_generator
                ),
                batch_size,
            )  # (m, 1, 1, 1) ~ U[0, 1]

        def critic_objective():
            critic_real = self.critic(self.discriminator_inputs(real, labels), training=True)
            critic_fake = self.critic(self.discriminator_inputs(fake, labels), training=True)
            estimate = losses.wasserstein_estimate(critic_real, critic_fake)
            loss = -estimate  # = losses.wasserstein_critic_loss(critic_real, critic_fake)
            penalty = ops.zeros(())
            if self.penalty == "gp":
                penalty = losses.gradient_penalty(
                    lambda x: self.critic(self.discriminator_inputs(x, labels), training=True),
                    real,
                    fake,
                    epsilon,
                )
                loss = loss + self.gradient_penalty_weight * penalty
            return loss, (estimate, penalty)

        loss, (estimate, penalty) = minimize(
            self.d_optimizer, critic_objective, self.critic.trainable_variables
        )
        if self.penalty == "clip":
            self.clip_critic_weights()
        return loss, estimate, penalty

    def generator_step(self, batch_size, labels):
        """One generator update on fresh noise; only G's weights move. Returns the loss."""
        noise = self.sample_latent(batch_size)

        def g_objective():
            fake = self.generator(self.generator_inputs(noise, labels), training=True)
            critic_fake = self.critic(self.discriminator_inputs(fake, labels), training=True)
            return losses.wasserstein_generator_loss(critic_fake)

        return minimize(self.g_optimizer, g_objective, self.generator.trainable_variables)

    def train_step(self, data):
        real, labels = self.unpack_batch(data)
        self._check_batch_shape(real)
        self._check_batch_size(real)
        # Samples per critic/generator step; the last `batch % n_critic` go unused.
        step_size = ops.shape(real)[0] // self.n_critic

        # 1. n_critic critic updates, each on its own slice of the batch.
        for i in range(self.n_critic):
            part = slice(i * step_size, (i + 1) * step_size)
            loss, estimate, penalty = self.critic_step(
                real[part], None if labels is None else labels[part]
            )
            self.critic_loss_tracker.update_state(loss)
            self.wasserstein_tracker.update_state(estimate)
            self.penalty_tracker.update_state(penalty)

        # 2. One generator update (labels, if any, from the last slice).
        g_loss = self.generator_step(step_size, None if labels is None else labels[part])
        self.generator_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def _check_batch_size(self, real):
        batch = real.shape[0]
        if batch is not None and batch < self.n_critic:
            raise ValueError(
                f"Expected batches of at least n_critic={self.n_critic} samples: each critic update "
                f"takes its own slice of the batch. Received: batch of {batch}. Use "
                f"batch_size=n_critic * m (e.g. {self.n_critic * 64})."
            )

    # -- saving -------------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config["critic"] = config.pop("discriminator")
        return {
            **config,
            "penalty": self.penalty,
            "n_critic": self.n_critic,
            "clip_value": self.clip_value,
            "gradient_penalty_weight": self.gradient_penalty_weight,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**with_submodels(config, "generator", "critic"))

    def get_compile_config(self):
        config = super().get_compile_config()
        for key in ("loss", "label_smoothing"):
            config.pop(key, None)  # fixed by the Wasserstein objective
        return config
