"""Rectified-flow (flow-matching) training for Wan: timesteps, noising, targets, losses, a loop.

Wan2.1 is trained to predict the velocity ``eps - x0`` of the straight path
``x_t = (1 - s) x0 + s eps`` at noise level ``s`` in ``[0, 1]``, conditioned on ``timestep = 1000 s``.
Noise levels are drawn uniformly (or logit-normally) and then *shifted* towards noise,
``s' = shift s / (1 + (shift - 1) s)``, the same shift the sampler uses (5.0 for Wan2.1 at 480p).

:func:`train` is the loop every tuning method shares. A method supplies

* the trainable parameters (e.g. LoRA weights),
* ``batch_fn(step, generator) -> TrainBatch``: what to train on this step (a random frame, the
  clip, a sparse subset of frames with its RoPE positions...), and
* ``loss_fn(pred, target, batch, weights) -> loss``: :func:`flow_matching_mse` or its own,
* optionally ``after_step(step)``, e.g. to re-apply parameter masks.

and gets back per-step losses, seconds per step and peak memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal

import torch

from motionbench.backbones.rope import frame_positions
from motionbench.backbones.wan import WanBackbone

TimestepSampling = Literal["uniform", "logit_normal"]
LossWeighting = Literal["none", "sigma_sqrt", "cosmap"]
NUM_TRAIN_TIMESTEPS = 1000


@dataclass
class TrainBatch:
    """One training example.

    Attributes:
        latents: clean latents ``x0`` ``[B, C, F, h, w]`` (float32).
        prompt_embeds: ``[B, L, D]`` text embeddings.
        frame_positions: temporal RoPE position of each latent frame (``None``: 0, 1, 2, ...).
        conditioning: extra transformer inputs by keyword (VACE: ``control_hidden_states``).
    """

    latents: torch.Tensor
    prompt_embeds: torch.Tensor
    frame_positions: torch.Tensor | None = None
    conditioning: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class StepOutput:
    loss: torch.Tensor
    pred: torch.Tensor
    target: torch.Tensor
    sigmas: torch.Tensor


@dataclass
class TrainStats:
    """What :func:`train` measured.

    ``seconds_per_step`` is the mean and ``step_seconds`` the list of step times, both excluding the
    first (warm-up) step; on CUDA each step is synchronised before it is timed. ``peak_memory_bytes`` is the CUDA
    allocator's peak during training, ``None`` on the CPU (where only the whole process's peak RSS
    is known; benchmarks measure that in a fresh process per configuration).
    """

    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    seconds_per_step: float = 0.0
    step_seconds: list[float] = field(default_factory=list)
    peak_memory_bytes: int | None = None


def shift_sigmas(sigmas: torch.Tensor, shift: float) -> torch.Tensor:
    """Flow shift ``shift s / (1 + (shift - 1) s)``; ``shift = 1`` is the identity."""
    return shift * sigmas / (1.0 + (shift - 1.0) * sigmas)


def sample_sigmas(batch_size: int, generator: torch.Generator, shift: float,
                  sampling: TimestepSampling = "uniform", logit_mean: float = 0.0, logit_std: float = 1.0) -> torch.Tensor:
    """Noise levels in ``(0, 1)`` for a training batch, shifted like the sampler's schedule."""
    if sampling == "uniform":
        u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
    elif sampling == "logit_normal":
        u = torch.sigmoid(torch.randn(batch_size, generator=generator, dtype=torch.float64) * logit_std + logit_mean)
    else:
        raise ValueError(f"unknown timestep sampling {sampling!r}; choose uniform or logit_normal")
    # Keep away from exactly 0/1 where the timestep embedding was never trained.
    u = u.clamp(1.0 / NUM_TRAIN_TIMESTEPS, 1.0 - 1.0 / NUM_TRAIN_TIMESTEPS)
    return shift_sigmas(u, shift).float()


def loss_weights(sigmas: torch.Tensor, weighting: LossWeighting) -> torch.Tensor:
    """Per-sample loss weights (SD3's schemes): ``none`` 1, ``sigma_sqrt`` 1/s^2, ``cosmap``."""
    if weighting == "none":
        return torch.ones_like(sigmas)
    if weighting == "sigma_sqrt":
        return (sigmas ** -2.0).clamp(max=1e4)
    if weighting == "cosmap":
        bot = 1 - 2 * sigmas + 2 * sigmas ** 2
        return 2 / (math.pi * bot)
    raise ValueError(f"unknown loss weighting {weighting!r}; choose none, sigma_sqrt or cosmap")


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """``x_t = (1 - s) x0 + s eps`` with one ``s`` per batch element."""
    s = sigmas.view(-1, *([1] * (x0.ndim - 1))).to(x0)
    return (1.0 - s) * x0 + s * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The flow-matching regression target ``eps - x0``."""
    return noise - x0


def flow_matching_mse(pred: torch.Tensor, target: torch.Tensor, batch: TrainBatch, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean squared error, averaged per sample then over the batch (float32)."""
    per_sample = (pred.float() - target.float()).pow(2).flatten(1).mean(dim=1)
    return (per_sample * weights.to(per_sample)).mean()


LossFn = Callable[[torch.Tensor, torch.Tensor, TrainBatch, torch.Tensor], torch.Tensor]


def predict_velocity(backbone: WanBackbone, x_t: torch.Tensor, sigmas: torch.Tensor, prompt_embeds: torch.Tensor,
                     positions: torch.Tensor | None = None,
                     conditioning: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """One transformer forward: velocity prediction for noisy latents at noise levels ``sigmas``."""
    timesteps = (sigmas * NUM_TRAIN_TIMESTEPS).to(backbone.device, torch.float32)
    extra = {k: v.to(backbone.device, backbone.dtype) for k, v in (conditioning or {}).items()}
    with frame_positions(backbone.transformer, positions):
        return backbone.transformer(hidden_states=x_t.to(backbone.device, backbone.dtype), timestep=timesteps,
                                    encoder_hidden_states=prompt_embeds.to(backbone.device, backbone.dtype),
                                    return_dict=False, **extra)[0]


def training_step(backbone: WanBackbone, batch: TrainBatch, generator: torch.Generator, *, shift: float = 5.0,
                  timestep_sampling: TimestepSampling = "uniform", weighting: LossWeighting = "none",
                  loss_fn: LossFn = flow_matching_mse) -> StepOutput:
    """Noise ``batch.latents`` at random levels, predict, and return the loss (not yet backpropagated).

    ``generator`` is a CPU generator; noise is drawn on the CPU so runs repeat across devices.
    """
    x0 = batch.latents.to(backbone.device, torch.float32)
    sigmas = sample_sigmas(x0.shape[0], generator, shift, timestep_sampling)
    noise = torch.randn(x0.shape, generator=generator, dtype=torch.float32).to(backbone.device)
    x_t = add_noise(x0, noise, sigmas.to(backbone.device))
    pred = predict_velocity(backbone, x_t, sigmas, batch.prompt_embeds, batch.frame_positions, batch.conditioning)
    target = velocity_target(x0, noise)
    loss = loss_fn(pred.float(), target, batch, loss_weights(sigmas, weighting).to(backbone.device))
    return StepOutput(loss=loss, pred=pred, target=target, sigmas=sigmas)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(backbone: WanBackbone, params: Iterable[torch.nn.Parameter], batch_fn: Callable[[int, torch.Generator], TrainBatch],
          *, steps: int, lr: float, weight_decay: float = 0.0, loss_fn: LossFn = flow_matching_mse, shift: float = 5.0,
          timestep_sampling: TimestepSampling = "uniform", weighting: LossWeighting = "none", seed: int = 0,
          max_grad_norm: float | None = 1.0, after_step: Callable[[int], None] | None = None,
          log_every: int = 0, log: Callable[[str], None] = print) -> TrainStats:
    """AdamW on ``params`` for ``steps`` flow-matching steps; see the module docstring.

    Deterministic for a given ``seed`` on the CPU (noise, timesteps and ``batch_fn`` draws all come
    from one CPU generator).
    """
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("train() got no trainable parameters")
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.999), eps=1e-8)
    generator = torch.Generator("cpu").manual_seed(seed)
    stats = TrainStats()
    device = backbone.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    was_training = backbone.transformer.training
    backbone.transformer.train()
    start = warm = last = time.perf_counter()
    try:
        for step in range(steps):
            batch = batch_fn(step, generator)
            out = training_step(backbone, batch, generator, shift=shift, timestep_sampling=timestep_sampling,
                                weighting=weighting, loss_fn=loss_fn)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            if max_grad_norm:
                torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            if after_step is not None:
                after_step(step)
            stats.losses.append(float(out.loss.detach()))  # .item() also synchronises CUDA
            _sync(device)
            now = time.perf_counter()
            if step == 0:
                warm = now
            else:
                stats.step_seconds.append(now - last)
            last = now
            if log_every and (step + 1) % log_every == 0:
                log(f"step {step + 1}/{steps} loss {stats.losses[-1]:.4f}")
    finally:
        backbone.transformer.train(was_training)
    _sync(device)
    end = time.perf_counter()
    stats.seconds = end - start
    stats.seconds_per_step = (end - warm) / (steps - 1) if steps > 1 else stats.seconds
    if device.type == "cuda":
        stats.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
    return stats
