"""What every baseline on Wan2.1 shares: backbone options, reference preprocessing, sampling, output.

Options (:class:`WanOptions`, the base of each baseline's ``Config``) use the same names as the
``fym`` method, so one ``--method-opt`` means the same thing for every method on this backbone:

* backbone: ``model`` (``tiny``, ``wan2.1-1.3b-random``, a hub id or a local folder), ``dtype``,
  ``gradient_checkpointing``;
* reference as the method sees it: the first ``train_frames`` frames, floored to ``4k+1`` (no
  invented frames), resized to ``train_height`` x ``train_width`` (cover, then centre-crop), and
  ``train_prompt`` (the benchmark has no reference captions);
* sampling: ``sample_steps``, ``guidance`` (CFG), ``sample_shift``, ``sampler``, ``negative_prompt``.

:class:`WanMethod` loads the backbone once per method instance, caches prompt embeddings and turns
a sampled video into what the request asked for (``uint8 [num_frames, H, W, 3]`` at ``size``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from motionbench.backbones.session import BackboneSession
from motionbench.errors import ConfigError
from motionbench.methods.base import GenerationRequest, Method, Reference

#: Diffusers id of Wan2.1-T2V-1.3B (as a literal: importing the toolkit here would import torch).
WAN_1_3B = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
#: Options that only change sampling; they never invalidate a fitted state.
SAMPLING_OPTIONS = frozenset({"sample_steps", "guidance", "sample_shift", "sampler", "negative_prompt",
                              "sample_height", "sample_width", "spatial_scale", "temporal_scale"})


@dataclass
class WanOptions:
    """Options every baseline on Wan2.1 shares (see module docstring)."""

    # backbone
    model: str = WAN_1_3B  # or tiny | wan2.1-1.3b-random | a local diffusers folder
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"
    # the reference as the method sees it
    train_frames: int = 81  # first N frames (then floor to 4k+1)
    train_height: int = 480
    train_width: int = 832
    train_prompt: str = "a video"
    seed: int = 0
    # sampling
    sample_steps: int = 50
    guidance: float = 5.0
    sample_shift: float = 5.0
    sampler: Literal["unipc", "euler"] = "unipc"
    negative_prompt: str = ""

    def check(self, method: str, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
              multiple_of_16: tuple[str, ...] = ()) -> None:
        """Raise :class:`ConfigError` naming ``method`` and the first option out of range."""
        for name in ("train_frames", "train_height", "train_width", "sample_steps", *positive):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{method}: option {name}={getattr(self, name)} must be > 0")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"{method}: option {name}={getattr(self, name)} must be >= 0")
        for name in ("train_height", "train_width", *multiple_of_16):
            if getattr(self, name) % 16:
                raise ConfigError(f"{method}: option {name}={getattr(self, name)} must be a multiple of 16 "
                                  "(Wan's 8x VAE times its 2x2 patches)")
        if self.guidance < 0 or self.sample_shift <= 0:
            raise ConfigError(f"{method}: guidance must be >= 0 and sample_shift > 0 "
                              f"(got guidance={self.guidance}, sample_shift={self.sample_shift})")


class WanMethod(Method):
    """A :class:`Method` on the Wan2.1 toolkit: backbone, prompt cache, reference frames, output."""

    fit_format: ClassVar[str] = ""  # bumped when a method's state layout or meaning changes
    #: Options that never change the fitted state (excluded from :meth:`state_key`).
    sampling_options: ClassVar[frozenset[str]] = SAMPLING_OPTIONS

    def __init__(self, config: Any, device: str = "cpu") -> None:
        super().__init__(config, device)
        self._session = BackboneSession(config.model, device=device, dtype=config.dtype,
                                        gradient_checkpointing=config.gradient_checkpointing)

    def backbone(self):
        """The :class:`~motionbench.backbones.WanBackbone`, loaded on first use."""
        return self._session.backbone()

    def embed(self, prompt: str):
        """Prompt embeddings ``[1, L, D]``, cached (a sample's prompts repeat across seeds)."""
        return self._session.embed(prompt)

    def state_key(self) -> str:
        """Every option except the sampling-only ones (changing those never refits)."""
        cfg = self.config
        items = sorted((f.name, repr(getattr(cfg, f.name))) for f in dataclasses.fields(cfg)
                       if f.name not in self.sampling_options)
        return hashlib.sha256(repr((self.name, self.fit_format, items)).encode()).hexdigest()[:16]

    def reference_frames(self, reference: Reference) -> np.ndarray:
        """The reference as fitted: first ``train_frames`` frames, floor ``4k+1``, resized."""
        from motionbench.backbones import resize_frames, vae_frame_count

        frames = reference.clip.frames[: self.config.train_frames]
        frames = frames[: vae_frame_count(frames.shape[0], "floor")]
        return resize_frames(frames, self.config.train_height, self.config.train_width)

    def sampling_geometry(self, request: GenerationRequest, height: int = 0, width: int = 0) -> tuple[int, int, int]:
        """``(frames, height, width)`` to sample for ``request``: ``ceil 4k+1`` frames, size rounded to 16.

        ``height``/``width`` override the request's size when non-zero.
        """
        from motionbench.backbones import round_size, vae_frame_count

        w, h = request.size
        return vae_frame_count(request.num_frames, "ceil"), height or round_size(h), width or round_size(w)

    def sample(self, request: GenerationRequest, *, num_frames: int, height: int, width: int,
               latent_guidance=None) -> np.ndarray:
        """Sample ``request.prompt`` at the given geometry and return frames conforming to ``request``."""
        from motionbench.backbones import sample_latents

        cfg = self.config
        b = self.backbone()
        negative = self.embed(cfg.negative_prompt) if cfg.guidance > 1.0 else None
        latents = sample_latents(b, self.embed(request.prompt), negative, num_frames=num_frames, height=height,
                                 width=width, steps=cfg.sample_steps, guidance=cfg.guidance, shift=cfg.sample_shift,
                                 seed=request.seed, sampler=cfg.sampler, latent_guidance=latent_guidance)
        return conform(b.decode(latents), request)

    def close(self) -> None:
        self._session.close()


def conform(frames: np.ndarray, request: GenerationRequest) -> np.ndarray:
    """``frames`` as the request wants them: the first ``num_frames`` frames (dropping the ``4k+1``
    round-up), resized to ``size`` by cover + centre-crop."""
    from motionbench.backbones import resize_frames

    n = request.num_frames
    if frames.shape[0] < n:
        raise ValueError(f"sampled {frames.shape[0]} frames for a request of {n}; sample ceil 4k+1 frames")
    w, h = request.size
    return np.ascontiguousarray(resize_frames(frames[:n], h, w))
