"""MotionDirector (entry point ``motiondirector``): dual-path LoRA with the appearance-debiased loss.

Algorithm (Zhao et al., 2023), as trained per reference video:

* *Spatial path*: LoRA ``spatial`` learns the reference's appearance from one random frame per
  step, with plain diffusion (here flow-matching) MSE.
* *Temporal path*: LoRA ``temporal`` learns its motion from the whole clip, with the spatial LoRA
  active but not updated by this path, and the loss
  ``mse_weight * MSE(pred, target) + debias_weight * MSE(pred - pred[a], target - target[a])``
  where ``a`` is a random anchor frame (:func:`appearance_debiased_mse`): subtracting the anchor
  frame from every frame removes whatever all frames share (the appearance), so the second term
  only sees how frames differ (the motion).
* Both paths train jointly: each of the ``steps`` joint steps makes one spatial and one temporal
  update (two AdamW-equivalent updates: one optimizer whose frozen adapter gets no gradient).
* *Sampling* uses the temporal LoRA only (``spatial_scale=0``, the published inference setting), so
  the prompt, not the reference, decides the look.

Adaptation to a DiT (Wan2.1). MotionDirector was built for UNet video models whose spatial and
temporal layers are separate modules, each path tuning its own layers. Wan has one 3D
self-attention per block, so here **both paths live in the same 3D attention**: two peft adapters
on the self-attention q/k/v projections of every head of every block (output projection,
cross-attention and FFN frozen, as for FYM and ``two-stage-lora``). The split between paths comes
from the data each adapter is trained on, not from the layer it sits in: a 1-latent-frame input
makes Wan's 3D attention purely spatial, so the spatial adapter only ever sees within-frame
attention; the temporal adapter sees the clip. Frames for the spatial path are encoded alone as
1-frame videos (Wan's causal VAE encodes an image that way), not sliced from the clip latent,
whose later latent frames each summarise four frames.

Loss form. The public UNet code writes the debiased term as
``MSE(sqrt(b^2+1) pred - b pred[a], sqrt(b^2+1) target - b target[a])`` with ``b = 1``, which
leaves ``sqrt(2) - 1`` of any appearance shared by all frames in the term; we use the exact anchor
subtraction the method describes, because a velocity-predicting DiT's target contains the clean
latent itself and a partial cancellation would let appearance leak back into the temporal LoRA.
Not reproduced: LoRA dropout 0.1 and the optional inversion-noise prior at sampling (default off).

Presets: ``tiny`` (CPU seconds); ``paper`` (the defaults): the published single-video recipe
(rank 32, lr 5e-4, AdamW weight decay 1e-2, 150 steps) on the same reference geometry as FYM's
paper preset (81 frames at 480x832 pixels; MotionDirector itself used 16 frames at 384x384 on
ZeroScope), sampled with diffusers' Wan pipeline defaults (50 steps, CFG 5). FYM reports 3008 s of
MotionDirector tuning on Wan2.1 but not the steps, frames or resolution behind it, so whether
``paper`` matches that run is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from motionbench.methods.base import Reference
from motionbench.methods.config import option
from motionbench.methods.wan import (
    TOY_LORA,
    SPATIAL,
    TEMPORAL,
    LoRAMethod,
    LoRAOptions,
    LoRAState,
    all_heads,
    random_index,
    several_adapters,
    stats_info,
    train_settings,
)

_MD = "MotionDirector's single-video config"


@dataclass
class MotionDirectorConfig(LoRAOptions):
    """Options of ``motiondirector`` (``--method-opt key=value``); shared ones in :mod:`motionbench.methods.wan`."""

    rank: int = option(32, "released code", _MD)
    lora_alpha: float = option(32.0, "MotionBench choice", "alpha = rank: the original LoRA layers have scale 1")
    lr: float = option(5e-4, "released code", _MD)
    steps: int = option(150, "released code", f"{_MD}; joint steps, each updates both paths once")
    weight_decay: float = option(1e-2, "released code", f"{_MD} (AdamW)")
    mse_weight: float = option(1.0, "released code", "plain MSE term of the temporal path's loss")
    debias_weight: float = option(1.0, "released code", "appearance-debiased term of the temporal path's loss")
    spatial_scale: float = option(0.0, "released code", "MotionDirector's inference: temporal path only")
    temporal_scale: float = option(1.0, "released code", "MotionDirector's inference")

    def validate(self) -> None:
        self.check_lora("motiondirector", positive=("steps",),
                        non_negative=("weight_decay", "mse_weight", "debias_weight"))


def appearance_debiased_mse(pred: Any, target: Any, anchor: int, weights: Any | None = None) -> Any:
    """``MSE(pred - pred[:, :, anchor], target - target[:, :, anchor])`` per sample, then weighted mean.

    Args:
        pred, target: ``[B, C, F, h, w]`` velocity prediction and target.
        anchor: latent frame subtracted from every frame of both.
        weights: per-sample loss weights ``[B]`` (default 1).

    Returns:
        A float32 scalar. Adding any tensor that is the same in every frame to ``pred`` (or to
        ``target``) leaves it unchanged; with one frame it is exactly 0.
    """
    import torch

    pred, target = pred.float(), target.float()
    if not 0 <= anchor < pred.shape[2]:
        raise ValueError(f"anchor frame {anchor} outside the {pred.shape[2]} latent frames")
    moved_pred = pred - pred[:, :, anchor:anchor + 1]
    moved_target = target - target[:, :, anchor:anchor + 1]
    per_sample = (moved_pred - moved_target).pow(2).flatten(1).mean(dim=1)
    if weights is None:
        weights = torch.ones_like(per_sample)
    return (per_sample * weights.to(per_sample)).mean()


def _batch_type():
    from motionbench.backbones import TrainBatch

    @dataclass
    class PathBatch(TrainBatch):
        """A training batch of one path; ``anchor`` is the temporal path's debiasing frame."""

        path: str = TEMPORAL
        anchor: int = 0

    return PathBatch


def motiondirector_loss(mse_weight: float = 1.0, debias_weight: float = 1.0) -> Callable[..., Any]:
    """The ``loss_fn`` of the joint loop: plain MSE on spatial batches, MSE + debiased on temporal ones."""
    from motionbench.backbones import flow_matching_mse

    def loss(pred: Any, target: Any, batch: Any, weights: Any) -> Any:
        plain = flow_matching_mse(pred, target, batch, weights)
        if batch.path == SPATIAL:
            return plain
        return mse_weight * plain + debias_weight * appearance_debiased_mse(pred, target, batch.anchor, weights)

    return loss


class DualPathSchedule:
    """``batch_fn`` of the joint loop: even steps train the spatial path, odd steps the temporal one.

    Before each step it activates the path's adapters and makes only that path's adapter
    trainable, so the other one gets no gradient (and AdamW leaves it alone).
    """

    def __init__(self, transformer: Any, spatial: Any, temporal: Any, frame_latents: Any, clip_latents: Any,
                 prompt_embeds: Any) -> None:
        self.transformer, self.spatial, self.temporal = transformer, spatial, temporal
        self.frame_latents, self.clip_latents, self.prompt_embeds = frame_latents, clip_latents, prompt_embeds
        self.batch_type = _batch_type()
        self.log: list[tuple[str, int, int]] = []  # (path, latent frames, anchor) per step

    def __call__(self, step: int, generator: Any) -> Any:
        from motionbench.backbones.lora import set_lora_scales

        if step % 2 == 0:
            set_lora_scales(self.transformer, {SPATIAL: 1.0})
            self.spatial.set_trainable(True)
            i = random_index(self.frame_latents.shape[0], generator)
            batch = self.batch_type(latents=self.frame_latents[i:i + 1], prompt_embeds=self.prompt_embeds,
                                    path=SPATIAL)
        else:
            set_lora_scales(self.transformer, {SPATIAL: 1.0, TEMPORAL: 1.0})
            self.temporal.set_trainable(True)
            anchor = random_index(self.clip_latents.shape[2], generator)
            batch = self.batch_type(latents=self.clip_latents, prompt_embeds=self.prompt_embeds, path=TEMPORAL,
                                    anchor=anchor)
        self.log.append((batch.path, int(batch.latents.shape[2]), batch.anchor))
        return batch

    def after_step(self, step: int) -> None:
        self.spatial.project()
        self.temporal.project()


class MotionDirector(LoRAMethod):
    """Dual-path LoRA with the appearance-debiased temporal loss (see module docstring)."""

    name = "motiondirector"
    Config = MotionDirectorConfig
    fit_format = "motiondirector-state/1"
    presets: ClassVar[dict[str, MotionDirectorConfig]] = {
        "tiny": MotionDirectorConfig(model="tiny", train_frames=17, pixels=64 * 64, rank=4, lora_alpha=4.0, lr=3e-3,
                                     steps=4, sample_steps=4, guidance=3.0),
        "toy": MotionDirectorConfig(**TOY_LORA, steps=150, weight_decay=0.0, spatial_scale=0.0),
        "paper": MotionDirectorConfig(rank=32, lora_alpha=32.0, lr=5e-4, steps=150, weight_decay=1e-2,
                                      train_frames=81, pixels=480 * 832, spatial_scale=0.0),
    }

    def fit(self, reference: Reference, workdir: Path) -> LoRAState:
        from motionbench.backbones import train
        from motionbench.backbones.lora import add_head_lora

        cfg = self.config
        b = self.begin_fit()
        frames = self.reference_frames(reference)
        embeds = self.embed(self.training_prompt(reference))
        frame_latents = b.encode_frames(frames)
        clip_latents = b.encode_video(frames)
        heads = all_heads(b)
        with several_adapters():
            spatial = add_head_lora(b.transformer, SPATIAL, heads, rank=cfg.rank, alpha=cfg.lora_alpha,
                                    init_seed=cfg.seed)
            temporal = add_head_lora(b.transformer, TEMPORAL, heads, rank=cfg.rank, alpha=cfg.lora_alpha,
                                     init_seed=cfg.seed + 1)
        spatial.set_trainable(True)
        temporal.set_trainable(True)  # train() keeps the parameters that are trainable when it starts
        schedule = DualPathSchedule(b.transformer, spatial, temporal, frame_latents, clip_latents, embeds)
        stats = train(b, spatial.parameters() + temporal.parameters(), schedule, steps=2 * cfg.steps,
                      weight_decay=cfg.weight_decay, loss_fn=motiondirector_loss(cfg.mse_weight, cfg.debias_weight),
                      seed=cfg.seed, after_step=schedule.after_step, **train_settings(cfg))
        spatial.set_trainable(False)
        temporal.set_trainable(False)
        losses = {path: [loss for (p, _, _), loss in zip(schedule.log, stats.losses) if p == path]
                  for path in (SPATIAL, TEMPORAL)}
        info = {"frames": int(frames.shape[0]), "height": int(frames.shape[1]), "width": int(frames.shape[2]),
                "latent_frames": int(clip_latents.shape[2]), "training": stats_info(stats),
                "paths": {p: {"updates": len(v), "first_loss": v[0] if v else None, "last_loss": v[-1] if v else None}
                          for p, v in losses.items()}}
        return self.finish_fit([spatial, temporal], reference, info)
