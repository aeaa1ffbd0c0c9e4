"""Follow-Your-Creation as a recapture method: fit per source clip, generate per camera path and seed.

``fit`` (once per source clip): the first ``train_frames`` frames (floor 4k+1) at ``height`` x
``width`` with their depth (the source's, e.g. exact for synthetic scenes) and intrinsics; a LoRA
(rank ``rank``) on the VACE backbone tuned by :func:`motionbench_fyc.tuning.self_iterative_tuning`. The state
is the LoRA weights plus the stage records; ``save_state`` writes ``fyc.safetensors`` and
``fyc_state.json``, ``load_state`` reads them back.

``generate`` (per path and seed): the source at the model's size is warped along the path
(:func:`motionbench.recapture.warp.warp_along_path`), padded to the next 4k+1 frames by repeating
the last warped frame, inpainted with the LoRA at ``lora_scale`` (packing the previous
trajectory's most-inpainted frames before it when ``temporal_packing`` and a context is given),
cut back to the path's frame count and resized to the request. The returned
:class:`~motionbench.recapture.task.Recapture` carries the context for the next path; with
``temporal_packing`` the method chains paths (:meth:`FollowYourCreation.chains_paths`) and saves
each context as ``packed.npz`` for the runner.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from motionbench_fyc.config import GENERATION_ONLY, PRESETS, FYCConfig
from motionbench_fyc.packing import PackedContext, context_prefix, select_context
from motionbench_fyc.pairs import TrainingClip
from motionbench_fyc.tuning import LORA_NAME, StageRecord, add_fyc_lora, self_iterative_tuning
from motionbench.backbones.frames import vae_frame_count
from motionbench.errors import MotionBenchError
from motionbench.recapture.inpaint import InpaintSettings, inpaint_path, to_size
from motionbench.recapture.task import Recapture, RecaptureMethod, RecaptureRequest, SourceClip, resize_source

STATE_FORMAT = "fyc-state/1"
STATE_FILE = "fyc_state.json"
LORA_FILE = "fyc.safetensors"
CONTEXT_FILE = "packed.npz"  # a path's packed frames, for the next path (the runner's context cache)
#: Options that matter for fitting only through the self-iterative rounds' own re-renderings.
ROUND_INFERENCE = frozenset({"sample_steps", "guidance", "lora_scale", "sample_shift", "sampler", "negative_prompt",
                             "hole_dilation"})


@dataclass
class FYCState:
    """A fitted FYC: the LoRA (``lora``: peft state dict, float32 CPU) and what tuning did."""

    lora: dict[str, Any]
    rank: int
    alpha: float
    stages: list[StageRecord] = field(default_factory=list)


class FollowYourCreation(RecaptureMethod):
    name = "fyc"
    summary = "Follow-Your-Creation: depth warp + VACE inpainting with per-video LoRA, self-iterative, packed"
    Config = FYCConfig
    presets = PRESETS
    fits = True

    def __init__(self, config: FYCConfig, device: str = "cpu") -> None:
        super().__init__(config, device)
        from motionbench.backbones.vace import VaceSession

        self.session = VaceSession(config.model, device=device, dtype=config.dtype,
                                   gradient_checkpointing=config.gradient_checkpointing)
        self._active: int | None = None  # id of the state whose LoRA is installed

    # -- configuration -------------------------------------------------------------------
    def state_key(self) -> str:
        cfg = self.config
        skip = set(GENERATION_ONLY) - (ROUND_INFERENCE if cfg.iterative and len(cfg.stage_angles) > 1 else set())
        items = sorted((f.name, repr(getattr(cfg, f.name))) for f in dataclasses.fields(cfg) if f.name not in skip)
        return hashlib.sha256(repr((self.name, STATE_FORMAT, items)).encode()).hexdigest()[:16]

    def settings(self) -> InpaintSettings:
        cfg = self.config
        return InpaintSettings(steps=cfg.sample_steps, guidance=cfg.guidance, shift=cfg.sample_shift,
                               sampler=cfg.sampler, hole_dilation=cfg.hole_dilation)

    def _negative(self):
        return self.session.embed(self.config.negative_prompt) if self.config.guidance > 1.0 else None

    def model_source(self, source: SourceClip) -> SourceClip:
        """The source at the model's size (depth required)."""
        source.require_depth()
        return resize_source(source, (self.config.width, self.config.height))

    # -- fit -------------------------------------------------------------------------------
    def fit(self, source: SourceClip, workdir: Path | None = None) -> FYCState:
        from motionbench.backbones.lora import lora_state, remove_loras

        cfg = self.config
        backbone = self.session.backbone()
        small = self.model_source(source)
        n = vae_frame_count(min(cfg.train_frames, small.num_frames), "floor")
        clip = TrainingClip(frames=small.frames[:n], depth=small.require_depth()[:n], intrinsics=small.intrinsics)
        remove_loras(backbone.transformer)
        self._active = None
        lora = add_fyc_lora(backbone, cfg.rank, cfg.alpha)
        stages = self_iterative_tuning(backbone, lora, clip, cfg, self.session.embed(cfg.train_prompt),
                                       self._negative(), self.settings(), device=self.device)
        state = FYCState(lora=lora_state(backbone.transformer, lora), rank=cfg.rank, alpha=cfg.alpha, stages=stages)
        self._active = id(state)
        return state

    def save_state(self, state: FYCState, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        save_file(state.lora, str(directory / LORA_FILE), metadata={"format": STATE_FORMAT})
        info = {"format": STATE_FORMAT, "rank": state.rank, "alpha": state.alpha,
                "stages": [s.to_dict() for s in state.stages]}
        (directory / STATE_FILE).write_text(json.dumps(info, indent=1))

    def load_state(self, directory: Path) -> FYCState:
        from safetensors.torch import load_file

        directory = Path(directory)
        info_file, lora_file = directory / STATE_FILE, directory / LORA_FILE
        if not info_file.is_file() or not lora_file.is_file():
            raise MotionBenchError(f"{directory} holds no FYC state ({STATE_FILE} and {LORA_FILE} expected); "
                                   "delete it to refit")
        info = json.loads(info_file.read_text())
        if info.get("format") != STATE_FORMAT:
            raise MotionBenchError(f"{info_file}: format {info.get('format')!r}, expected {STATE_FORMAT!r}; delete it to refit")
        return FYCState(lora=load_file(str(lora_file)), rank=int(info["rank"]), alpha=float(info["alpha"]),
                        stages=[StageRecord.from_dict(s) for s in info["stages"]])

    def _activate(self, state: FYCState | None) -> None:
        from motionbench.backbones.lora import install_lora, remove_loras, set_lora_scales

        backbone = self.session.backbone()
        if state is None:
            remove_loras(backbone.transformer)
            self._active = None
            return
        if self._active != id(state):
            remove_loras(backbone.transformer)
            heads = [list(range(backbone.num_heads)) for _ in range(backbone.num_blocks)]
            install_lora(backbone.transformer, LORA_NAME, heads, state.rank, state.alpha, state.lora, source="FYC state")
            self._active = id(state)
        set_lora_scales(backbone.transformer, {LORA_NAME: self.config.lora_scale})

    # -- generate --------------------------------------------------------------------------
    def generate(self, state: FYCState | None, source: SourceClip, request: RecaptureRequest,
                 context: PackedContext | None = None) -> Recapture:
        """Re-render ``source`` along ``request.path`` (``state`` None: the untuned backbone)."""
        cfg = self.config
        self._activate(state)
        backbone = self.session.backbone()
        prefix = context_prefix(backbone, context, cfg.packing_mode) if cfg.temporal_packing and context else None
        result = inpaint_path(backbone, source, request.path, size=(cfg.width, cfg.height), settings=self.settings(),
                              prompt_embeds=self.session.embed(request.prompt or cfg.train_prompt),
                              negative_embeds=self._negative(), seed=request.seed, prefix=prefix, device=self.device)
        visible = result.warped.visible
        packed = select_context(result.frames, visible, cfg.packing_frames) if cfg.temporal_packing else None
        frames, visible = to_size(result.frames, visible, request.size or source.size)
        return Recapture(frames=frames, visible=visible, context=packed,
                         info={"packed_frames": prefix.length if prefix is not None else 0,
                               "hole_fraction": float(result.warped.hole_fraction.mean())})

    # -- contexts between paths (temporal packing) ------------------------------------------
    def chains_paths(self) -> bool:
        return bool(self.config.temporal_packing)

    def save_context(self, context: PackedContext | None, directory: Path) -> None:
        directory = Path(directory)
        if context is None:  # a path that packs nothing for the next one (no frames chosen)
            (directory / CONTEXT_FILE).with_suffix(".none").write_text("")
            return
        np.savez(directory / CONTEXT_FILE, frames=context.frames, indices=np.asarray(context.indices, np.int64),
                 hole_fraction=np.asarray(context.hole_fraction, np.float64))

    def load_context(self, directory: Path) -> PackedContext | None:
        directory = Path(directory)
        if (directory / CONTEXT_FILE).with_suffix(".none").exists():
            return None
        with np.load(directory / CONTEXT_FILE) as data:
            return PackedContext(frames=data["frames"], indices=tuple(int(i) for i in data["indices"]),
                                 hole_fraction=tuple(float(h) for h in data["hole_fraction"]))

    def generate_paths(self, state: FYCState | None, source: SourceClip, requests: list[RecaptureRequest]) -> list[Recapture]:
        """Generate several paths of one source in order, each packing the previous one's context."""
        out, context = [], None
        for request in requests:
            result = self.generate(state, source, request, context)
            out.append(result)
            context = result.context
        return out

    def close(self) -> None:
        self.session.close()
        self._active = None
