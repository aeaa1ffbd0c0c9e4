"""What the LoRA baselines share: LoRA options, the fitted-state plumbing and sampling with adapters.

Both LoRA baselines put their adapters on the self-attention q/k/v projections of every head of
every block (:func:`motionbench.backbones.lora.add_head_lora` with all heads), the parameters FYM
tunes too, so capacity is equal across methods and only the training recipe differs. Training runs
on :func:`motionbench.backbones.train` (AdamW, flow matching, shifted noise levels).

:class:`LoRAMethod` implements ``save_state`` / ``load_state`` (:class:`~baselines.lora_state.LoRAState`)
and ``generate``: install the fitted adapters at ``spatial_scale`` / ``temporal_scale`` and sample
``ceil 4k+1`` frames at the request's size rounded to 16 (or ``sample_height`` x ``sample_width``),
then drop the extra frames and resize to the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from motionbench.errors import MotionBenchError
from motionbench.methods.base import GenerationRequest, Reference

from baselines.lora_state import ActiveAdapters, LoRAState
from baselines.wan_method import WanMethod, WanOptions

SPATIAL, TEMPORAL = "spatial", "temporal"


@dataclass
class LoRAOptions(WanOptions):
    """Options of the LoRA baselines (on top of :class:`~baselines.wan_method.WanOptions`)."""

    rank: int = 16
    lora_alpha: float = 16.0
    lr: float = 1e-4
    max_grad_norm: float = 1.0  # 0: no clipping
    train_shift: float = 5.0
    timestep_sampling: Literal["uniform", "logit_normal"] = "uniform"
    loss_weighting: Literal["none", "sigma_sqrt", "cosmap"] = "none"
    # sampling only
    spatial_scale: float = 1.0
    temporal_scale: float = 1.0
    sample_height: int = 0  # 0: the request's height rounded to a multiple of 16
    sample_width: int = 0

    def check_lora(self, method: str, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
        self.check(method, positive=("rank", "lora_alpha", "lr", "train_shift", *positive),
                   non_negative=("max_grad_norm", "sample_height", "sample_width", *non_negative),
                   multiple_of_16=("sample_height", "sample_width"))


def all_heads(backbone: Any) -> list[list[int]]:
    """Every head of every block: the head lists of a plain q/k/v LoRA."""
    return [list(range(backbone.num_heads)) for _ in range(backbone.num_blocks)]


def train_settings(cfg: LoRAOptions) -> dict[str, Any]:
    """Keyword arguments of :func:`motionbench.backbones.train` the options fix."""
    return dict(lr=cfg.lr, shift=cfg.train_shift, timestep_sampling=cfg.timestep_sampling,
                weighting=cfg.loss_weighting, max_grad_norm=cfg.max_grad_norm or None)


def random_index(high: int, generator: Any) -> int:
    """A uniform integer in ``[0, high)`` drawn from the training loop's CPU generator."""
    import torch

    return int(torch.randint(high, (1,), generator=generator))


def stats_info(stats: Any) -> dict[str, Any]:
    """A JSON-able summary of :class:`~motionbench.backbones.TrainStats`."""
    return {"steps": len(stats.losses), "seconds": stats.seconds, "seconds_per_step": stats.seconds_per_step,
            "peak_memory_bytes": stats.peak_memory_bytes,
            "first_loss": stats.losses[0] if stats.losses else None,
            "last_loss": stats.losses[-1] if stats.losses else None}


class LoRAMethod(WanMethod):
    """Shared ``save_state`` / ``load_state`` / ``generate`` of the LoRA baselines."""

    fits = True

    def __init__(self, config: Any, device: str = "cpu") -> None:
        super().__init__(config, device)
        self._active = ActiveAdapters()

    def begin_fit(self) -> Any:
        """The backbone with every adapter removed (a fit starts from the base model)."""
        from motionbench.backbones.lora import remove_loras

        b = self.backbone()
        remove_loras(b.transformer)
        self._active.forget()
        return b

    def finish_fit(self, loras: list[Any], reference: Reference, info: dict[str, Any]) -> LoRAState:
        """Capture the trained adapters as this reference's state (they stay installed)."""
        info = {"reference": reference.key, "state_key": self.state_key(), **info}
        state = LoRAState.capture(self.backbone().transformer, loras, self.fit_format, info)
        self._active.state = state
        return state

    def save_state(self, state: LoRAState, directory: Path) -> None:
        state.save(directory)

    def load_state(self, directory: Path) -> LoRAState:
        return LoRAState.load(directory, self.fit_format)

    def generate(self, state: LoRAState | None, reference: Reference, request: GenerationRequest) -> np.ndarray:
        if not isinstance(state, LoRAState):
            raise MotionBenchError(f"{self.name}.generate needs the state returned by fit (or load_state), "
                                   f"got {type(state).__name__}")
        cfg = self.config
        self._active.activate(self.backbone().transformer, state,
                              {SPATIAL: cfg.spatial_scale, TEMPORAL: cfg.temporal_scale})
        frames, height, width = self.sampling_geometry(request, cfg.sample_height, cfg.sample_width)
        return self.sample(request, num_frames=frames, height=height, width=width)

    def close(self) -> None:
        super().close()
        self._active.forget()
