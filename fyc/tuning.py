"""Per-video LoRA tuning of the VACE backbone: one stage, and the self-iterative schedule.

:func:`tune_stage` runs the shared flow-matching loop (:func:`motionbench.backbones.flow.train`) on
fresh training pairs (:mod:`motionbench_fyc.pairs`): each step draws one example, encodes its target clip (once
per clip, cached) and its control latents (damaged clip + mask), and regresses the velocity of the
noised target. The LoRA (:func:`add_fyc_lora`) sits on the self-attention q/k/v of every head of
every main DiT block (the shared toolkit's head LoRA with all heads owned); the VACE context
blocks stay frozen.

:func:`self_iterative_tuning` is the schedule: stage 1 on the source's pairs up to the first angle;
each further round first re-renders the source with the current LoRA along orbits at the previous
round's angle (:func:`render_round_outputs`), lifts those outputs with their splatted depth (holes
filled from the background side), and trains on pairs damaged from them by up to one angle step
(so the total view change reaches the round's angle), mixed with source pairs up to the round's
angle (``source_mix``). With ``iterative=false`` there is one stage on source pairs up to the widest
angle, with the whole step budget.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from motionbench_fyc.config import FYCConfig
from motionbench_fyc.pairs import Example, TrainingClip, make_example
from motionbench.backbones.flow import TrainBatch, TrainStats, train
from motionbench.backbones.lora import HeadLoRA, add_head_lora, set_lora_scales
from motionbench.backbones.vace import control_latents
from motionbench.backbones.wan import WanBackbone
from motionbench.recapture.depth import fill_holes
from motionbench.recapture.inpaint import InpaintSettings, inpaint_warped
from motionbench.recapture.masks import MASK_KINDS
from motionbench.recapture.warp import warp_along_path

LORA_NAME = "fyc"


def add_fyc_lora(backbone: WanBackbone, rank: int, alpha: float) -> HeadLoRA:
    """A LoRA on the self-attention q/k/v of every head of every main block."""
    heads = [list(range(backbone.num_heads)) for _ in range(backbone.num_blocks)]
    return add_head_lora(backbone.transformer, LORA_NAME, heads, rank=rank, alpha=alpha)


@dataclass
class StageRecord:
    """What one tuning stage did (kept in the fitted state and the fit record)."""

    index: int
    max_angle: float
    steps: int
    losses: list[float] = field(default_factory=list)
    mask_kinds: dict[str, int] = field(default_factory=dict)
    origins: dict[str, int] = field(default_factory=dict)
    own_outputs: list[str] = field(default_factory=list)  # the re-renderings this round trained on
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"index": self.index, "max_angle": self.max_angle, "steps": self.steps, "losses": self.losses,
                "mask_kinds": self.mask_kinds, "origins": self.origins, "own_outputs": self.own_outputs,
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> "StageRecord":
        return cls(**d)


ExampleFn = Callable[[np.random.Generator], Example]


def tune_stage(backbone: WanBackbone, lora: HeadLoRA, example_fn: ExampleFn, prompt_embeds: torch.Tensor, *,
               steps: int, lr: float, weight_decay: float, shift: float, timestep_sampling: str, seed: int,
               record: StageRecord, pool: int = 0) -> TrainStats:
    """Train ``lora`` for ``steps`` on examples from ``example_fn`` (see the module docstring).

    ``pool > 0`` draws ``pool`` examples up front and samples among them each step (each example's
    VAE encodings are then computed once).
    """
    rng = np.random.default_rng(seed)
    targets: dict[int, torch.Tensor] = {}
    kinds: Counter = Counter()
    origins: Counter = Counter()

    def encoded(ex: Example) -> tuple[Example, torch.Tensor]:
        key = id(ex.target)
        if key not in targets:  # a clip's latents are encoded once
            targets[key] = backbone.encode_video(ex.target)
        return ex, control_latents(backbone, ex.damaged, ex.visible)

    cache = [encoded(example_fn(rng)) for _ in range(pool)]

    def batch_fn(step: int, generator: torch.Generator) -> TrainBatch:
        ex, control = cache[int(rng.integers(pool))] if pool else encoded(example_fn(rng))
        kinds[ex.kind] += 1
        origins[ex.origin] += 1
        return TrainBatch(latents=targets[id(ex.target)], prompt_embeds=prompt_embeds,
                          conditioning={"control_hidden_states": control})

    set_lora_scales(backbone.transformer, {lora.name: 1.0})
    lora.set_trainable(True)
    try:
        stats = train(backbone, lora.parameters(), batch_fn, steps=steps, lr=lr, weight_decay=weight_decay,
                      shift=shift, timestep_sampling=timestep_sampling, seed=seed, after_step=lora.project)
    finally:
        lora.set_trainable(False)
    record.losses.extend(stats.losses)
    record.mask_kinds = dict(kinds)
    record.origins = dict(origins)
    record.seconds = stats.seconds
    return stats


def render_round_outputs(backbone: WanBackbone, lora: HeadLoRA, source: TrainingClip, angle: float, count: int,
                         prompt_embeds: torch.Tensor, negative_embeds: torch.Tensor | None, settings: InpaintSettings,
                         lora_scale: float, seed: int) -> list[TrainingClip]:
    """The LoRA's own re-renderings of ``source`` along orbits to ``+angle``, ``-angle``, ... (``count`` of them)."""
    outputs = []
    set_lora_scales(backbone.transformer, {lora.name: lora_scale})
    for j in range(count):
        phi = angle if j % 2 == 0 else -angle
        spec = f"orbit:phi={phi:g}"
        warped = warp_along_path(source.frames, source.depth, source.intrinsics, spec, pivot=source.pivot)
        frames = inpaint_warped(backbone, warped.frames, warped.visible, prompt_embeds, negative_embeds, settings,
                                seed=seed + j)
        depth = fill_holes(warped.depth, warped.visible)
        outputs.append(TrainingClip(frames=frames, depth=depth, intrinsics=warped.intrinsics[0],
                                    origin=f"own:{spec}"))
    return outputs


def stage_plan(cfg: FYCConfig) -> list[tuple[float, int]]:
    """``(max_angle, steps)`` per stage: the self-iterative rounds, or one stage with the whole budget."""
    angles = list(cfg.stage_angles)
    budget = [cfg.steps] + [cfg.round_steps] * (len(angles) - 1)
    if not cfg.iterative:
        return [(angles[-1], sum(budget))]
    return list(zip(angles, budget))


def self_iterative_tuning(backbone: WanBackbone, lora: HeadLoRA, source: TrainingClip, cfg: FYCConfig,
                          prompt_embeds: torch.Tensor, negative_embeds: torch.Tensor | None,
                          settings: InpaintSettings, *, device: str = "cpu",
                          log: Callable[[str], None] = lambda _: None) -> list[StageRecord]:
    """Tune ``lora`` stage by stage (see the module docstring); returns one record per stage."""
    kinds = MASK_KINDS if cfg.composite_masks else ("point_cloud",)
    probs = tuple(cfg.mask_probabilities) if cfg.composite_masks else None
    records = []
    plan = stage_plan(cfg)
    for index, (angle, steps) in enumerate(plan):
        start = time.perf_counter()
        record = StageRecord(index=index, max_angle=angle, steps=steps)
        if index == 0:
            def example_fn(rng: np.random.Generator, a: float = angle) -> Example:
                return make_example(source, rng, max_angle=a, theta_ratio=cfg.theta_ratio, kinds=kinds,
                                    probabilities=probs, device=device)
        else:
            previous = plan[index - 1][0]
            own = render_round_outputs(backbone, lora, source, previous, cfg.outputs_per_round, prompt_embeds,
                                       negative_embeds, settings, cfg.lora_scale, seed=cfg.train_seed + 1000 * index)
            record.own_outputs = [c.origin for c in own]

            def example_fn(rng: np.random.Generator, a: float = angle, step: float = angle - previous,
                           own: list[TrainingClip] = own) -> Example:
                if rng.random() < cfg.source_mix:
                    return make_example(source, rng, max_angle=a, theta_ratio=cfg.theta_ratio, kinds=kinds,
                                        probabilities=probs, device=device)
                clip = own[int(rng.integers(len(own)))]
                return make_example(clip, rng, max_angle=step, theta_ratio=cfg.theta_ratio, kinds=kinds,
                                    probabilities=probs, device=device)
        if steps > 0:
            tune_stage(backbone, lora, example_fn, prompt_embeds, steps=steps, lr=cfg.lr,
                       weight_decay=cfg.weight_decay, shift=cfg.shift, timestep_sampling=cfg.timestep_sampling,
                       seed=cfg.train_seed + index, record=record, pool=cfg.example_pool)
        record.seconds = time.perf_counter() - start
        log(f"fyc stage {index + 1}/{len(plan)}: angles up to {angle:g} deg, {steps} steps"
            + (f", loss {np.mean(record.losses[-10:]):.4f}" if record.losses else ""))
        records.append(record)
    return records
