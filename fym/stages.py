"""FYM stages 2 and 3: the spatial and the temporal LoRA, each on its own heads' q/k/v rows.

* :func:`spatial_stage` trains adapter ``spatial`` on one random reference frame per step, each
  frame encoded alone as a 1-frame video (appearance, no motion), with plain flow-matching MSE.
* :func:`temporal_stage` keeps the spatial adapter active at scale 1 and frozen, and trains adapter
  ``temporal`` on the clip: optionally on a sparse subset of its frames (:mod:`motionbench_fym.sparse`) at the
  positions those frames have in the clip (adaptive RoPE, :mod:`motionbench_fym.rope`) and with the motion
  loss (:mod:`motionbench_fym.losses`).

Which heads each adapter owns is the caller's choice: FYM passes the spatial / temporal heads of
:mod:`motionbench_fym.heads`; the "without decoupled LoRA" ablation and the two-stage LoRA baseline pass all
heads to both. Both stages run on :func:`motionbench.backbones.train`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from motionbench.backbones import TrainBatch, TrainStats, WanBackbone, flow_matching_mse, train
from motionbench.backbones.flow import LossWeighting, TimestepSampling
from motionbench.backbones.lora import HeadLoRA, add_head_lora, set_lora_scales

from motionbench_fym.losses import make_temporal_loss
from motionbench_fym.rope import sparse_positions
from motionbench_fym.sparse import SparsePattern, sparse_indices

SPATIAL, TEMPORAL = "spatial", "temporal"


@dataclass(frozen=True)
class StageSettings:
    """Optimisation settings of one stage."""

    steps: int
    lr: float
    weight_decay: float
    rank: int
    alpha: float
    shift: float = 5.0
    timestep_sampling: TimestepSampling = "uniform"
    weighting: LossWeighting = "none"
    seed: int = 0
    max_grad_norm: float | None = 1.0


@dataclass(frozen=True)
class TemporalOptions:
    """The temporal stage's FYM components (each an ablation switch)."""

    sparse: bool = True
    sparse_frames: int = 17
    sparse_pattern: SparsePattern = "uniform"
    adaptive_rope: bool = True
    motion_loss: bool = True
    motion_weight: float = 1.0


@dataclass
class StageResult:
    """A trained (or skipped) stage. ``lora`` is ``None`` when the stage owned no head."""

    name: str
    lora: HeadLoRA | None
    stats: TrainStats | None
    heads: int
    latent_frames_per_step: list[int] = field(default_factory=list)
    #: the temporal stage's pixel frames of each step (its sparse subset, or the whole clip)
    frames_per_step: list[tuple[int, ...]] = field(default_factory=list)


def _owned(heads_per_block: Sequence[Sequence[int]]) -> int:
    return sum(len(h) for h in heads_per_block)


def spatial_stage(backbone: WanBackbone, frame_latents: torch.Tensor, prompt_embeds: torch.Tensor,
                  heads_per_block: Sequence[Sequence[int]], settings: StageSettings, *,
                  name: str = SPATIAL) -> StageResult:
    """Train LoRA ``name`` on single frames.

    Args:
        frame_latents: ``[T, C, 1, h, w]``, each reference frame encoded alone.
        prompt_embeds: ``[1, L, D]``.
        heads_per_block: the heads this LoRA owns.
    """
    result = StageResult(name=name, lora=None, stats=None, heads=_owned(heads_per_block))
    if result.heads == 0:
        return result
    lora = add_head_lora(backbone.transformer, name, heads_per_block, rank=settings.rank, alpha=settings.alpha,
                         init_seed=settings.seed)
    set_lora_scales(backbone.transformer, {name: 1.0})
    lora.set_trainable(True)

    def batch_fn(step: int, generator: torch.Generator) -> TrainBatch:
        i = int(torch.randint(frame_latents.shape[0], (1,), generator=generator))
        result.latent_frames_per_step.append(1)
        return TrainBatch(latents=frame_latents[i:i + 1], prompt_embeds=prompt_embeds)

    result.stats = train(backbone, lora.parameters(), batch_fn, steps=settings.steps, lr=settings.lr,
                         weight_decay=settings.weight_decay, loss_fn=flow_matching_mse, shift=settings.shift,
                         timestep_sampling=settings.timestep_sampling, weighting=settings.weighting,
                         seed=settings.seed, max_grad_norm=settings.max_grad_norm, after_step=lora.project)
    lora.set_trainable(False)
    result.lora = lora
    return result


def temporal_stage(backbone: WanBackbone, frames: np.ndarray, clip_latents: torch.Tensor, prompt_embeds: torch.Tensor,
                   heads_per_block: Sequence[Sequence[int]], settings: StageSettings, options: TemporalOptions, *,
                   frozen: Sequence[str] = (SPATIAL,), name: str = TEMPORAL,
                   encoded: dict[tuple[int, ...], torch.Tensor] | None = None) -> StageResult:
    """Train LoRA ``name`` on the clip with the adapters in ``frozen`` active (scale 1) and fixed.

    Args:
        frames: the reference ``uint8 [T, H, W, 3]`` (``T = 4k+1``) sparse subsets are taken from.
        clip_latents: ``encode_video(frames)``, ``[1, C, F, h, w]`` (the dense input).
        frozen: names of already-trained adapters to keep active (missing ones are ignored).
        encoded: latents of frame subsets already encoded, by index tuple (filled as a cache).
    """
    result = StageResult(name=name, lora=None, stats=None, heads=_owned(heads_per_block))
    if result.heads == 0:
        return result
    transformer = backbone.transformer
    present = set(getattr(transformer, "peft_config", {}) or {})
    lora = add_head_lora(transformer, name, heads_per_block, rank=settings.rank, alpha=settings.alpha,
                         init_seed=settings.seed + 1)
    set_lora_scales(transformer, {**{n: 1.0 for n in frozen if n in present}, name: 1.0})
    lora.set_trainable(True)

    factor = backbone.temporal_factor
    cache: dict[tuple[int, ...], torch.Tensor] = {} if encoded is None else encoded

    def batch_fn(step: int, generator: torch.Generator) -> TrainBatch:
        if not options.sparse:
            idx, latents, positions = tuple(range(frames.shape[0])), clip_latents, None
        else:
            idx = tuple(sparse_indices(frames.shape[0], options.sparse_frames, options.sparse_pattern, generator,
                                       factor))
            if idx not in cache:
                if len(cache) >= 64:  # random pattern: bound the memory spent on encoded subsets
                    cache.clear()
                cache[idx] = backbone.encode_video(frames[list(idx)])
            latents = cache[idx]
            positions = sparse_positions(idx, factor) if options.adaptive_rope else None
        result.latent_frames_per_step.append(int(latents.shape[2]))
        result.frames_per_step.append(idx)
        return TrainBatch(latents=latents, prompt_embeds=prompt_embeds, frame_positions=positions)

    loss_fn = make_temporal_loss(options.motion_weight) if options.motion_loss else flow_matching_mse
    result.stats = train(backbone, lora.parameters(), batch_fn, steps=settings.steps, lr=settings.lr,
                         weight_decay=settings.weight_decay, loss_fn=loss_fn, shift=settings.shift,
                         timestep_sampling=settings.timestep_sampling, weighting=settings.weighting,
                         seed=settings.seed + 1, max_grad_norm=settings.max_grad_norm, after_step=lora.project)
    lora.set_trainable(False)
    result.lora = lora
    return result
