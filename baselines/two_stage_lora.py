"""Naive two-stage LoRA (entry point ``two-stage-lora``): FYM's "all components off" row.

Algorithm (Follow-Your-Motion's ablation baseline, on Wan2.1):

1. *Spatial stage.* A LoRA ``spatial`` on the self-attention q/k/v projections of **all** heads of
   every block is trained on one random reference frame per step, each frame encoded alone as a
   1-frame video, with plain flow-matching MSE (the model sees single images: appearance).
2. *Temporal stage.* ``spatial`` stays active (scale 1) and frozen; a second all-head LoRA
   ``temporal`` is trained on the whole clip (every frame, integer RoPE positions) with plain
   flow-matching MSE.
3. *Sampling* uses both adapters (``spatial_scale``, ``temporal_scale``, 1 and 1).

What it lacks compared with FYM is exactly FYM's contribution: no spatial/temporal head split
(both LoRAs touch every head), no sparse frame sampling, no adaptive RoPE, no motion loss. With the
same options it yields bit-identical weights and videos to ``fym`` with ``decoupled=false
sparse=false adaptive_rope=false motion_loss=false`` (checked in ``tests/test_baselines.py``), so
the two implementations cross-check each other.

Presets: ``tiny`` (CPU seconds, the tiny random Wan); ``code`` (FYM's released-code settings, the
setting of its ablation table as far as it is published: rank 16, alpha 16, lr 1e-4, 1500 steps
per stage, weight decay 0.1 / 0.5, 45 frames at 544x544 pixels); ``paper`` (FYM paper: rank 128,
3000 + 2000 steps, 81 frames at 480x832 pixels). The defaults are ``paper``'s, and sampling is
FYM's released inference (35 steps, CFG 7), as for ``fym``. Which of the two produced the reported
"all off" row (0.362 / 0.658 / 0.824, 2493 s) is not stated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from motionbench.methods.base import Reference
from motionbench.methods.wan import (
    TOY_LORA,
    SPATIAL,
    TEMPORAL,
    LoRAMethod,
    LoRAState,
    StagedLoRAOptions,
    all_heads,
    random_index,
    several_adapters,
    stats_info,
    train_settings,
)

@dataclass
class TwoStageLoRAConfig(StagedLoRAOptions):
    """Options of ``two-stage-lora`` (``--method-opt key=value``); all shared, in :mod:`motionbench.methods.wan`."""

    def validate(self) -> None:
        self.check_stages("two-stage-lora")


class TwoStageLoRA(LoRAMethod):
    """Two LoRAs on all heads: single frames, then the clip, plain MSE (see module docstring)."""

    name = "two-stage-lora"
    Config = TwoStageLoRAConfig
    fit_format = "two-stage-lora-state/1"
    presets: ClassVar[dict[str, TwoStageLoRAConfig]] = {
        "tiny": TwoStageLoRAConfig(model="tiny", train_frames=17, pixels=64 * 64, rank=4, lora_alpha=4.0, lr=3e-3,
                                   spatial_steps=4, temporal_steps=4, sample_steps=4, guidance=3.0),
        "toy": TwoStageLoRAConfig(**TOY_LORA, spatial_steps=100, temporal_steps=150, spatial_weight_decay=0.0,
                                  temporal_weight_decay=0.0),
        "code": TwoStageLoRAConfig(rank=16, lora_alpha=16.0, lr=1e-4, spatial_steps=1500, temporal_steps=1500,
                                   spatial_weight_decay=0.1, temporal_weight_decay=0.5, train_frames=45,
                                   pixels=544 * 544),
        "paper": TwoStageLoRAConfig(rank=128, lora_alpha=128.0, spatial_steps=3000, temporal_steps=2000,
                                    train_frames=81, pixels=480 * 832),
    }

    def fit(self, reference: Reference, workdir: Path) -> LoRAState:
        from motionbench.backbones import TrainBatch, flow_matching_mse, train
        from motionbench.backbones.lora import add_head_lora, set_lora_scales

        cfg = self.config
        b = self.begin_fit()
        frames = self.reference_frames(reference)
        embeds = self.embed(self.training_prompt(reference))
        frame_latents = b.encode_frames(frames)  # [T, C, 1, h, w]: each frame alone (an image)
        clip_latents = b.encode_video(frames)  # [1, C, F, h, w]
        heads = all_heads(b)

        spatial = add_head_lora(b.transformer, SPATIAL, heads, rank=cfg.rank, alpha=cfg.lora_alpha,
                                init_seed=cfg.seed)
        set_lora_scales(b.transformer, {SPATIAL: 1.0})
        spatial.set_trainable(True)

        def one_frame(step: int, generator) -> TrainBatch:
            i = random_index(frame_latents.shape[0], generator)
            return TrainBatch(latents=frame_latents[i:i + 1], prompt_embeds=embeds)

        spatial_stats = train(b, spatial.parameters(), one_frame, steps=cfg.spatial_steps,
                              weight_decay=cfg.spatial_weight_decay, loss_fn=flow_matching_mse, seed=cfg.seed,
                              after_step=spatial.project, **train_settings(cfg))
        spatial.set_trainable(False)

        with several_adapters():
            temporal = add_head_lora(b.transformer, TEMPORAL, heads, rank=cfg.rank, alpha=cfg.lora_alpha,
                                     init_seed=cfg.seed + 1)
        set_lora_scales(b.transformer, {SPATIAL: 1.0, TEMPORAL: 1.0})  # spatial active, frozen
        temporal.set_trainable(True)
        temporal_stats = train(b, temporal.parameters(), lambda step, g: TrainBatch(clip_latents, embeds),
                               steps=cfg.temporal_steps, weight_decay=cfg.temporal_weight_decay,
                               loss_fn=flow_matching_mse, seed=cfg.seed + 1, after_step=temporal.project,
                               **train_settings(cfg))
        temporal.set_trainable(False)
        info = {"frames": int(frames.shape[0]), "height": int(frames.shape[1]), "width": int(frames.shape[2]),
                "latent_frames": int(clip_latents.shape[2]),
                "stages": {SPATIAL: stats_info(spatial_stats), TEMPORAL: stats_info(temporal_stats)}}
        return self.finish_fit([spatial, temporal], reference, info)

