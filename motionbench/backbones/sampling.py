"""Text-to-video sampling for Wan with classifier-free guidance, flow shift and a guidance hook.

:func:`sample_latents` is the Wan pipeline's denoising loop, reduced to what benchmarks need and
opened up for training-free methods: ``latent_guidance(step, timestep, latents) -> latents`` runs
before each step's prediction (DiTFlow optimises the latent there); a step whose latent the hook
replaced skips UniPC's corrector (:func:`forget_corrector`), so the edit is what gets denoised.
Initial noise is drawn on the CPU from ``seed``, so a seed gives the same starting point on every
device.
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
import torch

from motionbench.backbones.flow import NUM_TRAIN_TIMESTEPS
from motionbench.backbones.frames import size_multiple
from motionbench.backbones.wan import WanBackbone

Sampler = Literal["unipc", "euler"]
LatentGuidance = Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor]


def make_scheduler(sampler: Sampler = "unipc", shift: float = 5.0):
    """A diffusers flow-matching scheduler with the given flow shift."""
    if sampler == "unipc":
        from diffusers import UniPCMultistepScheduler

        return UniPCMultistepScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, prediction_type="flow_prediction",
                                       use_flow_sigmas=True, flow_shift=shift)
    if sampler == "euler":
        from diffusers import FlowMatchEulerDiscreteScheduler

        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=shift)
    raise ValueError(f"unknown sampler {sampler!r}; choose unipc or euler")


def forget_corrector(scheduler) -> None:
    """Make the scheduler's next step start from the latent it is given.

    UniPC's corrector rebuilds the current sample from the *previous* sample and the model outputs
    (``x_t <- C(x_{t-1}, eps(x_{t-1}), eps(x_t))``); after a guidance hook edited ``x_t`` it would
    discard almost all of the edit (about 1% of an edit survives on Wan's schedule). Dropping the
    stored previous sample makes this one step predictor-only, from the edited latent; the
    multistep history of model outputs stays. Euler has no corrector: nothing to do.
    """
    if hasattr(scheduler, "last_sample"):
        scheduler.last_sample = None


def initial_noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Standard normal latents from ``seed`` (CPU generator, float32)."""
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)


@torch.no_grad()
def sample_latents(backbone: WanBackbone, prompt_embeds: torch.Tensor, negative_embeds: torch.Tensor | None, *,
                   num_frames: int, height: int, width: int, steps: int = 50, guidance: float = 5.0,
                   shift: float = 5.0, seed: int = 0, sampler: Sampler = "unipc",
                   latent_guidance: LatentGuidance | None = None) -> torch.Tensor:
    """Denoise from seeded noise to clean latents ``[1, C, F, h, w]`` (float32).

    Args:
        prompt_embeds: ``[1, L, D]`` from :meth:`WanBackbone.encode_prompts`.
        negative_embeds: unconditional embeddings for CFG (needed when ``guidance > 1``).
        num_frames, height, width: output video geometry (``4k+1`` frames; multiples of the backbone's
            :func:`~motionbench.backbones.frames.size_multiple`).
        steps, guidance, shift, seed, sampler: the usual sampling knobs.
        latent_guidance: optional hook run before each prediction; gets ``(i, t, latents)`` and
            returns the latents to continue from (grad is enabled inside it if it enables it): the
            same tensor to leave the step alone, a new one to edit it.
    """
    mh, mw = size_multiple(backbone)
    if height % mh or width % mw:
        raise ValueError(f"height and width must be multiples of {mh} and {mw} for this backbone (VAE factor x patch), "
                         f"got {height}x{width}")
    do_cfg = guidance > 1.0
    if do_cfg and negative_embeds is None:
        raise ValueError("guidance > 1 needs negative_embeds (encode '' or a negative prompt)")
    scheduler = make_scheduler(sampler, shift)
    scheduler.set_timesteps(steps, device=backbone.device)
    latents = initial_noise(backbone.latent_shape(num_frames, height, width), seed).to(backbone.device)
    context = torch.cat([prompt_embeds, negative_embeds]) if do_cfg else prompt_embeds
    context = context.to(backbone.device, backbone.dtype)
    transformer = backbone.transformer
    for i, t in enumerate(scheduler.timesteps):
        if latent_guidance is not None:
            with torch.enable_grad():
                guided = latent_guidance(i, t, latents)
            if guided is not latents:
                latents = guided.detach()
                forget_corrector(scheduler)
        model_in = latents.to(backbone.dtype)
        if do_cfg:
            model_in = torch.cat([model_in, model_in])
        timestep = t.expand(model_in.shape[0]).to(backbone.device)
        pred = transformer(hidden_states=model_in, timestep=timestep, encoder_hidden_states=context,
                           return_dict=False)[0].float()
        if do_cfg:
            cond, uncond = pred.chunk(2)
            pred = uncond + guidance * (cond - uncond)
        latents = scheduler.step(pred, t, latents, return_dict=False)[0]
    return latents.float()


def generate_video(backbone: WanBackbone, prompt: str, *, num_frames: int, height: int, width: int,
                   negative_prompt: str = "", steps: int = 50, guidance: float = 5.0, shift: float = 5.0,
                   seed: int = 0, sampler: Sampler = "unipc",
                   latent_guidance: LatentGuidance | None = None) -> np.ndarray:
    """Prompt -> ``uint8 [num_frames, height, width, 3]`` (encode prompts, sample, decode)."""
    embeds = backbone.encode_prompts([prompt])
    negative = backbone.encode_prompts([negative_prompt]) if guidance > 1.0 else None
    latents = sample_latents(backbone, embeds, negative, num_frames=num_frames, height=height, width=width,
                             steps=steps, guidance=guidance, shift=shift, seed=seed, sampler=sampler,
                             latent_guidance=latent_guidance)
    return backbone.decode(latents)
