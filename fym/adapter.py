"""Follow-Your-Motion as a MotionBench method (entry point ``fym``).

``fit`` (once per reference): trim the reference to ``train_frames`` (then 4k+1 frames) and resize
it (``size_policy``: ``area`` keeps the clip's aspect ratio at about ``train_height*train_width``
pixels; ``fixed`` cover-crops to exactly ``train_height`` x ``train_width``), classify heads (:mod:`fym.heads`), train the spatial LoRA then the
temporal LoRA (:mod:`fym.stages`). The state is the head scores, both LoRAs and the training
statistics; ``save_state`` writes ``heads.json``, ``spatial.safetensors``/``.json``,
``temporal.safetensors``/``.json`` and ``fym_state.json`` (the runner keeps its own ``fit.json``
beside them); ``load_state`` reads them back, so a second run reuses the LoRAs instead of
retraining. With ``heads_cache=DIR`` the head scores are also kept per reference in ``DIR`` and
reused by fits that differ only in LoRA or stage options (the rule is re-applied with the
configured ``alpha_threshold``).

``generate`` (per prompt and seed): activate both LoRAs (``spatial_scale``, ``temporal_scale``),
sample ``ceil_4k+1(num_frames)`` frames (at ``sample_height`` x ``sample_width`` when set, else at
the request's aspect ratio with the training pixel count under ``area``, or the request's size
under ``fixed``; multiples of 16), drop the extra trailing frames and resize to the request.
Sampling near the training resolution matters: Wan2.1 degrades far below 480p.

Presets: ``tiny`` (CPU, seconds; the tiny random Wan), ``code`` (the public code's
hyper-parameters: rank 16, alpha 16, lr 1e-4, 1500 steps per stage, weight decay 0.1/0.5, alpha
1.3, 45 frames at 544x544) and ``paper`` (rank 128, 3000/2000 steps, alpha 1.25, 81 frames at
480x832 with 17 sparse frames). The public code has neither sparse sampling nor adaptive RoPE; the
``code`` preset keeps them on (this is FYM); add ``sparse=false adaptive_rope=false`` to mirror
the public code exactly. Ablation rows of the paper's table:

=========================  ===============================================
paper row                  options
=========================  ===============================================
all components off         ``decoupled=false sparse=false adaptive_rope=false motion_loss=false``
w/o decoupled LoRA         ``decoupled=false``
w/o adaptive RoPE          ``adaptive_rope=false``
w/o sparse sampling        ``sparse=false``
=========================  ===============================================
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from motionbench.backbones.session import BackboneSession
from motionbench.errors import ConfigError, MotionBenchError
from motionbench.methods.base import GenerationRequest, Method, Reference

#: Options that only affect sampling; changing them never retrains (excluded from state_key).
GENERATION_ONLY = frozenset({"spatial_scale", "temporal_scale", "sample_steps", "guidance", "sample_shift", "sampler",
                             "negative_prompt", "sample_height", "sample_width"})
#: Options that change where things are cached, not what is computed (also excluded from state_key).
BOOKKEEPING = frozenset({"heads_cache"})
STATE_FORMAT = "fym-state/1"
STATE_FILE = "fym_state.json"


@dataclass
class FYMConfig:
    """Options of ``fym`` (``--method-opt key=value``)."""

    # backbone
    model: str = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"  # or tiny | wan2.1-1.3b-random | a local folder
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    gradient_checkpointing: Literal["auto", "on", "off"] = "auto"
    # reference preprocessing
    train_frames: int = 81  # first N frames of the reference (then floor to 4k+1)
    train_height: int = 480
    train_width: int = 832
    size_policy: Literal["area", "fixed"] = "area"
    train_prompt: str = "a video"  # the benchmark has no reference captions; a neutral prompt
    # stage 1: head classification
    alpha_threshold: float = 1.25  # temporal iff w_t >= alpha * w_s (paper 1.25, code 1.3)
    classify_timestep_index: int = 1  # of 1000 shifted timesteps (index 1: noise level ~0.9998)
    classify_band: int = 0  # template half-width in tokens; 0: half a frame's tokens
    heads_cache: str = ""  # folder to keep/reuse head scores per reference ("" = only inside the state)
    # LoRA and optimisation
    rank: int = 128
    lora_alpha: float = 128.0
    lr: float = 1e-4
    spatial_steps: int = 3000
    temporal_steps: int = 2000
    spatial_weight_decay: float = 0.1
    temporal_weight_decay: float = 0.5
    max_grad_norm: float = 1.0
    train_shift: float = 5.0
    timestep_sampling: Literal["uniform", "logit_normal"] = "uniform"
    loss_weighting: Literal["none", "sigma_sqrt", "cosmap"] = "none"
    seed: int = 0
    # FYM components (ablation switches)
    decoupled: bool = True
    sparse: bool = True
    sparse_frames: int = 17
    sparse_pattern: Literal["uniform", "random"] = "uniform"
    adaptive_rope: bool = True
    motion_loss: bool = True
    motion_weight: float = 1.0
    # generation only
    spatial_scale: float = 1.0
    temporal_scale: float = 1.0
    sample_steps: int = 50
    guidance: float = 5.0
    sample_shift: float = 5.0
    sampler: Literal["unipc", "euler"] = "unipc"
    negative_prompt: str = ""
    sample_height: int = 0  # 0: from size_policy (see module docstring)
    sample_width: int = 0

    def validate(self) -> None:
        positive = ("train_frames", "train_height", "train_width", "rank", "sparse_frames", "sample_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"fym: option {name}={getattr(self, name)} must be >= 1")
        for name in ("spatial_steps", "temporal_steps", "classify_band", "sample_height", "sample_width"):
            if getattr(self, name) < 0:
                raise ConfigError(f"fym: option {name}={getattr(self, name)} must be >= 0")
        for name in ("train_height", "train_width", "sample_height", "sample_width"):
            if getattr(self, name) % 16:
                raise ConfigError(f"fym: option {name}={getattr(self, name)} must be a multiple of 16 (Wan's VAE x patch)")
        if self.lr <= 0 or self.alpha_threshold <= 0:
            raise ConfigError("fym: lr and alpha_threshold must be > 0")
        if not 0 <= self.classify_timestep_index < 1000:
            raise ConfigError(f"fym: classify_timestep_index={self.classify_timestep_index} must be in [0, 1000)")


def area_size(size: tuple[int, int], area: int, multiple: int = 16) -> tuple[int, int]:
    """(height, width), multiples of ``multiple``, with the aspect ratio of ``size = (width, height)``
    and about ``area`` pixels."""
    width, height = size
    if width < 1 or height < 1:
        raise MotionBenchError(f"cannot size a video of {width}x{height} pixels")
    h = (area * height / width) ** 0.5
    w = h * width / height
    return max(multiple, round(h / multiple) * multiple), max(multiple, round(w / multiple) * multiple)


@dataclass
class FYMState:
    """A fitted reference: head scores, LoRA weights (CPU float32) and what training measured."""

    heads: Any  # fym.heads.HeadScores
    loras: dict[str, dict[str, Any]]  # name -> {"heads_per_block", "rank", "alpha", "state": {key: tensor}}
    info: dict[str, Any] = field(default_factory=dict)


class FollowYourMotion(Method):
    """Follow-Your-Motion on Wan2.1 (see module docstring)."""

    name = "fym"
    summary = "Follow-Your-Motion: head-decoupled spatial/temporal LoRA with sparse sampling and adaptive RoPE (Wan2.1)"
    Config = FYMConfig
    fits = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        # Random weights have no real head specialisation (w_t/w_s is ~0.8-1.25 for every head), so the tiny
        # preset splits at 1.0 to give both stages heads to train.
        "tiny": dict(model="tiny", alpha_threshold=1.0, train_frames=17, train_height=32, train_width=32, rank=4,
                     lora_alpha=4.0, lr=3e-3,
                     spatial_steps=6, temporal_steps=6, sparse_frames=9, sample_steps=4, guidance=3.0,
                     sample_height=32, sample_width=32),
        "code": dict(rank=16, lora_alpha=16.0, lr=1e-4, spatial_steps=1500, temporal_steps=1500,
                     spatial_weight_decay=0.1, temporal_weight_decay=0.5, alpha_threshold=1.3,
                     train_frames=45, train_height=544, train_width=544, sparse_frames=17),
        "paper": dict(rank=128, lora_alpha=128.0, spatial_steps=3000, temporal_steps=2000, alpha_threshold=1.25,
                      train_frames=81, train_height=480, train_width=832, sparse_frames=17),
    }

    def __init__(self, config: FYMConfig, device: str = "cpu") -> None:
        super().__init__(config, device)
        self._session = BackboneSession(config.model, device=device, dtype=config.dtype,
                                        gradient_checkpointing=config.gradient_checkpointing)
        self._active: FYMState | None = None  # the state whose LoRAs are installed

    # -- plumbing -----------------------------------------------------------------------------
    def backbone(self):
        return self._session.backbone()

    def _embed(self, prompt: str):
        return self._session.embed(prompt)

    def state_key(self) -> str:
        cfg = self.config
        items = sorted((f.name, repr(getattr(cfg, f.name))) for f in dataclasses.fields(cfg)
                       if f.name not in GENERATION_ONLY | BOOKKEEPING)
        return hashlib.sha256(repr((self.name, STATE_FORMAT, items)).encode()).hexdigest()[:16]

    def training_frames(self, reference: Reference) -> np.ndarray:
        """The reference as trained on: first ``train_frames`` frames, floor 4k+1, resized."""
        from motionbench.backbones import resize_frames, vae_frame_count

        frames = reference.clip.frames[: self.config.train_frames]
        frames = frames[: vae_frame_count(frames.shape[0], "floor")]
        height, width = self.train_size(reference.clip.size)
        return resize_frames(frames, height, width)

    def train_size(self, clip_size: tuple[int, int]) -> tuple[int, int]:
        """(height, width) the reference is trained at, for a clip of ``(width, height)``."""
        cfg = self.config
        if cfg.size_policy == "fixed":
            return cfg.train_height, cfg.train_width
        return area_size(clip_size, cfg.train_height * cfg.train_width)

    def sample_size(self, request_size: tuple[int, int]) -> tuple[int, int]:
        """(height, width) videos are sampled at for a request of ``(width, height)``."""
        from motionbench.backbones import round_size

        cfg = self.config
        if cfg.sample_height and cfg.sample_width:
            return cfg.sample_height, cfg.sample_width
        if cfg.size_policy == "fixed":
            return round_size(request_size[1]), round_size(request_size[0])
        return area_size(request_size, cfg.train_height * cfg.train_width)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, reference: Reference, workdir: Path) -> FYMState:
        from motionbench.backbones.lora import lora_state, remove_loras

        from fym.stages import SPATIAL, StageSettings, TemporalOptions, spatial_stage, temporal_stage

        cfg = self.config
        b = self.backbone()
        remove_loras(b.transformer)
        self._active = None
        t0 = time.perf_counter()
        frames = self.training_frames(reference)
        embeds = self._embed(cfg.train_prompt)
        clip_latents = b.encode_video(frames)
        frame_latents = b.encode_frames(frames)
        t_encode = time.perf_counter()
        heads = self._head_scores(reference, b, clip_latents, embeds)
        t_heads = time.perf_counter()
        every = [list(range(b.num_heads))] * b.num_blocks
        spatial_heads = heads.spatial_heads() if cfg.decoupled else every
        temporal_heads = heads.temporal_heads() if cfg.decoupled else every

        def settings(steps: int, wd: float) -> StageSettings:
            return StageSettings(steps=steps, lr=cfg.lr, weight_decay=wd, rank=cfg.rank, alpha=cfg.lora_alpha,
                                 shift=cfg.train_shift, timestep_sampling=cfg.timestep_sampling,
                                 weighting=cfg.loss_weighting, seed=cfg.seed, max_grad_norm=cfg.max_grad_norm or None)

        results = []
        if cfg.spatial_steps:
            results.append(spatial_stage(b, frame_latents, embeds, spatial_heads,
                                         settings(cfg.spatial_steps, cfg.spatial_weight_decay)))
        if cfg.temporal_steps:
            options = TemporalOptions(sparse=cfg.sparse, sparse_frames=cfg.sparse_frames,
                                      sparse_pattern=cfg.sparse_pattern, adaptive_rope=cfg.adaptive_rope,
                                      motion_loss=cfg.motion_loss, motion_weight=cfg.motion_weight)
            results.append(temporal_stage(b, frames, clip_latents, embeds, temporal_heads,
                                          settings(cfg.temporal_steps, cfg.temporal_weight_decay), options,
                                          frozen=(SPATIAL,)))
        loras = {r.name: {"heads_per_block": r.lora.heads_per_block, "rank": r.lora.rank, "alpha": r.lora.alpha,
                          "state": lora_state(b.transformer, r.lora)} for r in results if r.lora is not None}
        n_spatial, n_temporal = heads.counts()
        info = {
            "format": STATE_FORMAT, "reference": reference.key, "state_key": self.state_key(),
            "frames": int(frames.shape[0]), "height": int(frames.shape[1]), "width": int(frames.shape[2]),
            "heads": {"spatial": n_spatial, "temporal": n_temporal},
            "seconds": {"encode": t_encode - t0, "classify": t_heads - t_encode},
            "stages": {r.name: {"heads": r.heads, "steps": len(r.stats.losses) if r.stats else 0,
                                "seconds": r.stats.seconds if r.stats else 0.0,
                                "seconds_per_step": r.stats.seconds_per_step if r.stats else 0.0,
                                "peak_memory_bytes": r.stats.peak_memory_bytes if r.stats else None,
                                "latent_frames": r.latent_frames_per_step[-1] if r.latent_frames_per_step else 0,
                                "first_loss": r.stats.losses[0] if r.stats else None,
                                "last_loss": r.stats.losses[-1] if r.stats else None} for r in results},
        }
        info["seconds"]["total"] = time.perf_counter() - t0
        # The adapters stay installed: the state just fitted is the active one.
        state = FYMState(heads=heads, loras=loras, info=info)
        self._active = state
        return state

    def _head_scores(self, reference: Reference, backbone, clip_latents, embeds):
        """Classify heads, or reuse scores from ``heads_cache`` computed under the same conditions."""
        from fym.heads import HeadScores, classify_heads

        cfg = self.config
        path = None
        if cfg.heads_cache:
            what = (reference.key, cfg.model, str(backbone.dtype), backbone.device.type, cfg.train_frames,
                    cfg.train_height, cfg.train_width, cfg.size_policy, cfg.train_prompt, cfg.classify_timestep_index, cfg.train_shift,
                    cfg.classify_band, cfg.seed)
            digest = hashlib.sha256(repr(what).encode()).hexdigest()[:16]
            path = Path(cfg.heads_cache).expanduser() / f"{reference.key}-{digest}.json"
            if path.is_file():
                return dataclasses.replace(HeadScores.load(path), alpha=cfg.alpha_threshold)
        heads = classify_heads(backbone, clip_latents, embeds, alpha=cfg.alpha_threshold,
                               timestep_index=cfg.classify_timestep_index, shift=cfg.train_shift,
                               band=cfg.classify_band or None, seed=cfg.seed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            heads.save(path)
        return heads

    # -- state I/O ---------------------------------------------------------------------------------
    def save_state(self, state: FYMState, directory: Path) -> None:
        from safetensors.torch import save_file

        from motionbench.backbones.lora import LORA_FORMAT

        directory = Path(directory)
        state.heads.save(directory / "heads.json")
        for name, lora in state.loras.items():
            meta = {"format": LORA_FORMAT, "name": name, "rank": lora["rank"], "alpha": lora["alpha"],
                    "heads_per_block": lora["heads_per_block"]}
            save_file(lora["state"], str(directory / f"{name}.safetensors"), metadata={"format": meta["format"]})
            (directory / f"{name}.json").write_text(json.dumps(meta, indent=1))
        (directory / STATE_FILE).write_text(json.dumps(state.info, indent=1))

    def load_state(self, directory: Path) -> FYMState:
        from motionbench.backbones.lora import read_lora

        from fym.heads import HeadScores

        directory = Path(directory)
        fit_file = directory / STATE_FILE
        if not fit_file.is_file():
            raise MotionBenchError(f"{directory} holds no FYM state ({STATE_FILE} missing); delete it to refit")
        info = json.loads(fit_file.read_text())
        if info.get("format") != STATE_FORMAT:
            raise MotionBenchError(f"{fit_file}: format {info.get('format')!r}, expected {STATE_FORMAT!r}; delete it to refit")
        heads = HeadScores.load(directory / "heads.json")
        loras = {}
        for name in ("spatial", "temporal"):
            path = directory / f"{name}.safetensors"
            if path.exists():
                meta, tensors = read_lora(path)
                loras[name] = {"heads_per_block": meta["heads_per_block"], "rank": int(meta["rank"]),
                               "alpha": float(meta["alpha"]), "state": tensors}
        return FYMState(heads=heads, loras=loras, info=info)

    # -- generate ----------------------------------------------------------------------------------
    def _activate(self, state: FYMState) -> None:
        from motionbench.backbones.lora import install_lora, remove_loras, set_lora_scales

        transformer = self.backbone().transformer
        if self._active is not state:
            remove_loras(transformer)
            for name, lora in state.loras.items():
                install_lora(transformer, name, lora["heads_per_block"], lora["rank"], lora["alpha"], lora["state"],
                             source=f"state of {state.info.get('reference', '?')}")
            self._active = state
        scales = {"spatial": self.config.spatial_scale, "temporal": self.config.temporal_scale}
        present = {n: s for n, s in scales.items() if n in state.loras}
        if present:
            set_lora_scales(transformer, present)

    def generate(self, state: FYMState | None, reference: Reference, request: GenerationRequest) -> np.ndarray:
        from motionbench.backbones import resize_frames, sample_latents, vae_frame_count

        cfg = self.config
        if state is None:
            raise MotionBenchError("fym.generate needs the state returned by fit (or load_state)")
        b = self.backbone()
        self._activate(state)
        width, height = request.size
        sh, sw = self.sample_size(request.size)
        n = vae_frame_count(request.num_frames, "ceil")
        negative = self._embed(cfg.negative_prompt) if cfg.guidance > 1.0 else None
        latents = sample_latents(b, self._embed(request.prompt), negative, num_frames=n, height=sh, width=sw,
                                 steps=cfg.sample_steps, guidance=cfg.guidance, shift=cfg.sample_shift,
                                 seed=request.seed, sampler=cfg.sampler)
        frames = b.decode(latents)[: request.num_frames]
        return resize_frames(frames, height, width)

    def close(self) -> None:
        self._session.close()
        self._active = None
