"""Baselines of the recapture task (registered in ``motionbench.methods`` like every method).

* ``warp-only``: the source lifted with its depth and splatted along the path, holes left black:
  what every depth-warping method starts from, and the floor a re-rendering must beat inside the
  holes (outside them it is the best a method that copies can do).
* ``warp-inpaint-untuned``: the same warp, holes filled by the VACE inpainting backbone without any
  per-video tuning or packing: what FYC's tuning and packing add is measured against it.

The anchor ``reference`` (the source clip unchanged) needs no class of its own: it is the
motion-transfer anchor run on the source (:class:`motionbench.recapture.task.OnSource`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from motionbench.backbones.vace import VACE_1_3B_HUB_ID, VACE_14B_HUB_ID, VaceSession
from motionbench.errors import ConfigError
from motionbench.recapture.inpaint import InpaintSettings, inpaint_path, to_size
from motionbench.recapture.splat import DEFAULT_DEPTH_TOLERANCE
from motionbench.recapture.task import Recapture, RecaptureMethod, RecaptureRequest, SourceClip
from motionbench.recapture.warp import warp_along_path


@dataclass
class WarpOnlyConfig:
    depth_tolerance: float = DEFAULT_DEPTH_TOLERANCE  # relative depth band behind the z-buffer

    def validate(self) -> None:
        if not 0.0 <= self.depth_tolerance < 1.0:
            raise ConfigError(f"warp-only: depth_tolerance={self.depth_tolerance} must be in [0, 1)")


class WarpOnly(RecaptureMethod):
    name = "warp-only"
    summary = "Depth warp of the source along the path, holes left black (no model)"
    Config = WarpOnlyConfig

    def generate(self, state: Any, source: SourceClip, request: RecaptureRequest, context: Any = None) -> Recapture:
        warped = warp_along_path(source.frames, source.require_depth(), source.intrinsics, request.path,
                                 device=self.device, depth_tolerance=self.config.depth_tolerance)
        frames, visible = to_size(warped.frames, warped.visible, request.size or source.size)
        return Recapture(frames=frames, visible=visible, info={"hole_fraction": float(warped.hole_fraction.mean())})


@dataclass
class UntunedConfig:
    model: str = VACE_1_3B_HUB_ID
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    height: int = 512
    width: int = 512
    prompt: str = "a video"  # used when the request has none
    sample_steps: int = 30
    guidance: float = 6.5
    sample_shift: float = 5.0
    sampler: Literal["unipc", "euler"] = "unipc"
    negative_prompt: str = ""
    hole_dilation: int = 0

    def validate(self) -> None:
        for name in ("height", "width"):
            if getattr(self, name) < 16 or getattr(self, name) % 16:
                raise ConfigError(f"warp-inpaint-untuned: option {name}={getattr(self, name)} must be a positive "
                                  "multiple of 16")
        if self.sample_steps < 1:
            raise ConfigError(f"warp-inpaint-untuned: sample_steps={self.sample_steps} must be at least 1")


class WarpInpaintUntuned(RecaptureMethod):
    name = "warp-inpaint-untuned"
    summary = "Depth warp + VACE inpainting of the holes, no per-video tuning"
    Config = UntunedConfig
    presets = {
        "paper": UntunedConfig(model=VACE_14B_HUB_ID, sample_steps=30, guidance=6.5),
        "tiny": UntunedConfig(model="tiny", dtype="fp32", height=32, width=32, sample_steps=2, guidance=1.0),
        # the toy VACE MotionBench trained on its rooms (motionbench.toy.inpaint); sampling as FYC's toy preset
        "toy": UntunedConfig(model="toy", dtype="fp32", height=64, width=64, sample_steps=20, guidance=1.0,
                             sample_shift=2.0),
    }

    def __init__(self, config: UntunedConfig, device: str = "cpu") -> None:
        super().__init__(config, device)
        self.session = VaceSession(config.model, device=device, dtype=config.dtype)

    def generate(self, state: Any, source: SourceClip, request: RecaptureRequest, context: Any = None) -> Recapture:
        cfg = self.config
        settings = InpaintSettings(steps=cfg.sample_steps, guidance=cfg.guidance, shift=cfg.sample_shift,
                                   sampler=cfg.sampler, hole_dilation=cfg.hole_dilation)
        negative = self.session.embed(cfg.negative_prompt) if cfg.guidance > 1.0 else None
        result = inpaint_path(self.session.backbone(), source, request.path, size=(cfg.width, cfg.height),
                              settings=settings, prompt_embeds=self.session.embed(request.prompt or cfg.prompt),
                              negative_embeds=negative, seed=request.seed, device=self.device)
        frames, visible = to_size(result.frames, result.warped.visible, request.size or source.size)
        return Recapture(frames=frames, visible=visible,
                         info={"hole_fraction": float(result.warped.hole_fraction.mean())})

    def close(self) -> None:
        self.session.close()
