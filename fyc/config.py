"""FYC's options, presets and ablation switches.

Presets: ``paper`` (the published figures: Wan2.1-VACE-14B, LoRA rank 128, 512x512, 81 frames,
2000 steps at lr 1e-5 with weight decay 0.1; inference 30 steps, guidance 6.5, LoRA weight 0.7),
``1.3b`` (the same recipe on the 1.3B VACE, what fits a single mid-range GPU), and ``tiny`` (the
random tiny VACE on the CPU in seconds, for tests and smoke runs), and ``toy`` (the inpainting model
MotionBench trained on its rooms, :mod:`motionbench.toy.inpaint`, at the recapture scenes' 64x64 and 17
frames, with a CPU-sized tuning budget). Options the paper does not
publish carry our defaults; each is marked *(ours)* below.

Ablation switches (the paper's ablation rows):

=============================  ==========================================================
paper row                      options
=============================  ==========================================================
w/o composite masks            ``composite_masks=false`` (point-cloud masks only)
w/o iterative tuning           ``iterative=false`` (one stage at the widest angle, same step budget)
w/o temporal packing           ``temporal_packing=false`` (each trajectory generated alone)
=============================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from motionbench.backbones.vace import VACE_1_3B_HUB_ID, VACE_14B_HUB_ID
from motionbench.errors import ConfigError


@dataclass
class FYCConfig:
    """Options of ``fyc`` (``--method-opt key=value``)."""

    # backbone
    model: str = VACE_1_3B_HUB_ID  # tiny | toy | wan2.1-vace-1.3b-random | a hub id | a local folder
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"
    # per-video tuning data
    train_frames: int = 81  # first N source frames (then floor to 4k+1)
    height: int = 512
    width: int = 512
    train_prompt: str = "a video"  # (ours) no captions of the source are assumed
    stage_angles: tuple[float, ...] = (20.0, 30.0, 40.0)  # (ours) paper: start under 30, about +10 per round
    theta_ratio: float = 0.5  # (ours) vertical angle range as a fraction of the horizontal one
    composite_masks: bool = True
    mask_probabilities: tuple[float, ...] = (1.0, 1.0, 1.0)  # (ours) point_cloud, editing, union (unpublished)
    # LoRA and optimiser
    rank: int = 128
    alpha: float = 128.0  # (ours) alpha = rank: LoRA scale 1 at full weight
    lr: float = 1e-5
    weight_decay: float = 0.1
    steps: int = 2000  # the first stage (the paper's tuning)
    round_steps: int = 500  # (ours) each further self-iterative round
    iterative: bool = True
    outputs_per_round: int = 2  # (ours) own re-renderings per round (orbit left and right)
    source_mix: float = 0.5  # (ours) share of a round's examples that still come from the source
    example_pool: int = 0  # (ours) 0: a fresh pair every step; N: each stage cycles through N pairs (cheaper)
    shift: float = 5.0
    timestep_sampling: Literal["uniform", "logit_normal"] = "uniform"
    train_seed: int = 0
    # inference
    sample_steps: int = 30
    guidance: float = 6.5
    lora_scale: float = 0.7
    sample_shift: float = 5.0
    sampler: Literal["unipc", "euler"] = "unipc"
    negative_prompt: str = ""
    hole_dilation: int = 0  # (ours) pixels; TrajectoryCrafter dilates slightly, FYC does not say
    temporal_packing: bool = True
    packing_frames: int = 4  # (ours) K: unpublished
    packing_mode: Literal["reference", "renoise"] = "reference"  # (ours) whether packed frames are re-noised: unpublished

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the bad option."""
        for name in ("train_frames", "height", "width", "rank", "sample_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"fyc: option {name}={getattr(self, name)} must be at least 1")
        for name in ("height", "width"):
            if getattr(self, name) % 16:
                raise ConfigError(f"fyc: option {name}={getattr(self, name)} must be a multiple of 16 (VAE x transformer patch)")
        if self.steps < 0 or self.round_steps < 0:
            raise ConfigError("fyc: steps and round_steps must be non-negative")
        if not self.stage_angles or any(a <= 0 or a > 80 for a in self.stage_angles):
            raise ConfigError(f"fyc: stage_angles {self.stage_angles} must be angles in (0, 80] degrees")
        if list(self.stage_angles) != sorted(self.stage_angles):
            raise ConfigError(f"fyc: stage_angles {self.stage_angles} must increase (each round widens the view)")
        if len(self.mask_probabilities) != 3 or min(self.mask_probabilities) < 0 or sum(self.mask_probabilities) <= 0:
            raise ConfigError(f"fyc: mask_probabilities {self.mask_probabilities} must be 3 non-negative weights "
                              "(point_cloud, editing, union) with a positive sum")
        if not 0.0 <= self.source_mix <= 1.0:
            raise ConfigError(f"fyc: source_mix={self.source_mix} must be in [0, 1]")
        if not 0.0 <= self.theta_ratio <= 1.0:
            raise ConfigError(f"fyc: theta_ratio={self.theta_ratio} must be in [0, 1]")
        if self.packing_frames < 1:
            raise ConfigError(f"fyc: packing_frames={self.packing_frames} must be at least 1")
        if self.example_pool < 0:
            raise ConfigError(f"fyc: example_pool={self.example_pool} must be non-negative")
        if self.outputs_per_round < 1:
            raise ConfigError(f"fyc: outputs_per_round={self.outputs_per_round} must be at least 1")
        if self.lora_scale < 0:
            raise ConfigError(f"fyc: lora_scale={self.lora_scale} must be non-negative")


# Config instances, so a misspelt option fails at import (motionbench.methods.config).
PRESETS: dict[str, FYCConfig] = {
    "paper": FYCConfig(model=VACE_14B_HUB_ID, rank=128, alpha=128.0, height=512, width=512, train_frames=81,
                       steps=2000, lr=1e-5, weight_decay=0.1, sample_steps=30, guidance=6.5, lora_scale=0.7),
    "1.3b": FYCConfig(model=VACE_1_3B_HUB_ID, rank=128, alpha=128.0, height=512, width=512, train_frames=81,
                      steps=2000, lr=1e-5, weight_decay=0.1, sample_steps=30, guidance=6.5, lora_scale=0.7),
    "tiny": FYCConfig(model="tiny", dtype="fp32", rank=4, alpha=4.0, height=32, width=32, train_frames=9, steps=3,
                      round_steps=2, stage_angles=(10.0, 20.0), lr=1e-3, weight_decay=0.0, sample_steps=2,
                      guidance=1.0, packing_frames=2, outputs_per_round=1, example_pool=2),
    # The toy VACE learned to inpaint from the control alone (its captions carry nothing), hence no guidance;
    # it was trained with flow shift 1 and samples best at 2, as the toy T2V.
    "toy": FYCConfig(model="toy", dtype="fp32", rank=8, alpha=8.0, height=64, width=64, train_frames=17, steps=120,
                     round_steps=60, stage_angles=(15.0, 25.0), lr=5e-4, weight_decay=0.0, shift=2.0, sample_steps=20,
                     guidance=1.0, sample_shift=2.0, packing_frames=2, outputs_per_round=1, example_pool=8),
}

#: Options that only affect generation: changing them never retrains (excluded from the state key).
GENERATION_ONLY = frozenset({"sample_steps", "guidance", "lora_scale", "sample_shift", "sampler", "negative_prompt",
                             "hole_dilation", "temporal_packing", "packing_frames", "packing_mode"})
