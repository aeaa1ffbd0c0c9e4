"""Follow-Your-Motion as a MotionBench method (entry point ``fym``).

``fit`` (once per reference): the reference as every Wan-based method sees it (the first
``train_frames`` frames, floored to 4k+1, at the shared working size: the clip's aspect ratio at
about ``pixels`` pixels; :mod:`motionbench.methods.wan`), classify heads (:mod:`motionbench_fym.heads`),
train the spatial LoRA then the temporal LoRA (:mod:`motionbench_fym.stages`). The state is a
:class:`FYMState`: both LoRAs, the head scores and what training measured; with
``heads_cache=DIR`` the head scores are also kept per reference in ``DIR`` and reused by fits that
differ only in LoRA or stage options (the rule is re-applied with the configured
``alpha_threshold``).

``generate`` (per prompt and seed): both LoRAs at ``spatial_scale``/``temporal_scale``, sampled at
the working size and mapped back to the request as for every Wan-based method.

Presets: ``tiny`` (CPU, seconds; the tiny random Wan), ``code`` (the released code's settings:
rank 16, alpha 16, lr 1e-4, 1500 steps per stage, weight decay 0.1/0.5, alpha 1.3, 45 frames at
544x544 pixels, its inference's 35 steps at CFG 7) and ``paper`` (the defaults: rank 128,
3000/2000 steps, alpha 1.25, 81 frames at 480x832 pixels with 17 sparse frames; the paper
publishes no inference settings, so the released inference's). The released code has neither
sparse sampling nor adaptive RoPE; the ``code`` preset keeps them on (this is FYM); add
``sparse=false adaptive_rope=false`` to mirror the released code exactly. Ablation rows of the
paper's table:

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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from motionbench.errors import ConfigError
from motionbench.methods.base import Reference
from motionbench.methods.config import option
from motionbench.methods.wan import (SPATIAL, TEMPORAL, TOY_LORA, LoRAMethod, LoRAState, StagedLoRAOptions, all_heads,
                                     stats_info)

if TYPE_CHECKING:
    from motionbench_fym.heads import HeadScores

_HEADS = "examples/wanvideo/Collect_attn_map.py"
_TRAIN = "examples/wanvideo/EffiVMT_train_wan_t2v_Head.py"


@dataclass
class FYMConfig(StagedLoRAOptions):
    """Options of ``fym`` (``--method-opt key=value``); shared ones in :mod:`motionbench.methods.wan`."""

    # stage 1: head classification
    alpha_threshold: float = option(1.25, "paper", "temporal iff w_t >= alpha * w_s (the released code: 1.3)")
    classify_timestep_index: int = option(1, "released code", f"{_HEADS}: timestep_id 1 of 1000 shifted timesteps")
    classify_block: int = option(128, "released code", f"{_HEADS}: templates of 128-token blocks")
    heads_cache: str = option("", "MotionBench choice", "folder to keep/reuse head scores per reference")
    # FYM components (ablation switches)
    decoupled: bool = option(True, "paper")
    sparse: bool = option(True, "paper")
    sparse_frames: int = option(17, "paper", "81 -> 17 frames")
    sparse_pattern: Literal["uniform", "random"] = option("uniform", "MotionBench choice", "the paper does not say")
    adaptive_rope: bool = option(True, "paper")
    motion_loss: bool = option(True, "paper")
    motion_weight: float = option(1.0, "released code", f"{_TRAIN}: loss + (1 - cos)")

    def validate(self) -> None:
        self.check_stages("fym", positive=("sparse_frames", "classify_block", "alpha_threshold"),
                          non_negative=("motion_weight",))
        if not 0 <= self.classify_timestep_index < 1000:
            raise ConfigError(f"fym: classify_timestep_index={self.classify_timestep_index} must be in [0, 1000)")


@dataclass
class FYMState(LoRAState):
    """A fitted reference: both LoRAs, the head scores they were split by, and what training measured."""

    heads: HeadScores | None = None

    def save(self, directory: Path) -> None:
        super().save(directory)
        if self.heads is not None:
            self.heads.save(Path(directory) / "heads.json")

    @classmethod
    def load(cls, directory: Path, format: str) -> "FYMState":
        from motionbench_fym.heads import HeadScores

        state = super().load(directory, format)
        state.heads = HeadScores.load(Path(directory) / "heads.json")
        return state


class FollowYourMotion(LoRAMethod):
    """Follow-Your-Motion on Wan2.1 (see module docstring)."""

    name = "fym"
    Config = FYMConfig
    State = FYMState
    fit_format = "fym-state/2"
    #: heads_cache says where scores are kept, not what is computed.
    sampling_options: ClassVar[frozenset[str]] = LoRAMethod.sampling_options | {"heads_cache"}
    presets: ClassVar[dict[str, FYMConfig]] = {
        # Random weights have no real head specialisation (w_t/w_s is ~0.8-1.25 for every head), so the tiny
        # preset splits at 1.0 to give both stages heads to train.
        "tiny": FYMConfig(model="tiny", alpha_threshold=1.0, train_frames=17, pixels=64 * 64, rank=4, lora_alpha=4.0,
                          lr=3e-3, spatial_steps=6, temporal_steps=6, sparse_frames=9, sample_steps=4, guidance=3.0),
        # The toy world (data/toy.yaml): 9 latent frames, 17 sparse frames -> 5, on the toy model's 6 x 4 heads.
        "toy": FYMConfig(**TOY_LORA, spatial_steps=100, temporal_steps=150, sparse_frames=17, alpha_threshold=1.25,
                         spatial_weight_decay=0.0, temporal_weight_decay=0.0),
        "code": FYMConfig(rank=16, lora_alpha=16.0, lr=1e-4, spatial_steps=1500, temporal_steps=1500,
                          spatial_weight_decay=0.1, temporal_weight_decay=0.5, alpha_threshold=1.3,
                          train_frames=45, pixels=544 * 544, sparse_frames=17, sample_steps=35, guidance=7.0),
        "paper": FYMConfig(rank=128, lora_alpha=128.0, spatial_steps=3000, temporal_steps=2000, alpha_threshold=1.25,
                           train_frames=81, pixels=480 * 832, sparse_frames=17, sample_steps=35, guidance=7.0),
    }

    def fit(self, reference: Reference, workdir: Path) -> FYMState:
        from motionbench_fym.stages import StageSettings, TemporalOptions, spatial_stage, temporal_stage

        cfg = self.config
        b = self.begin_fit()
        t0 = time.perf_counter()
        frames = self.reference_frames(reference)
        embeds = self.embed(self.training_prompt(reference))
        clip_latents = b.encode_video(frames)
        frame_latents = b.encode_frames(frames)
        t_encode = time.perf_counter()
        heads = self._head_scores(reference, b, clip_latents, embeds)
        t_heads = time.perf_counter()
        spatial_heads = heads.spatial_heads() if cfg.decoupled else all_heads(b)
        temporal_heads = heads.temporal_heads() if cfg.decoupled else all_heads(b)

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
        n_spatial, n_temporal = heads.counts()
        info = {
            "frames": int(frames.shape[0]), "height": int(frames.shape[1]), "width": int(frames.shape[2]),
            "heads": {SPATIAL: n_spatial, TEMPORAL: n_temporal},
            "seconds": {"encode": t_encode - t0, "classify": t_heads - t_encode, "total": time.perf_counter() - t0},
            "stages": {r.name: {"heads": r.heads, **(stats_info(r.stats) if r.stats else {"steps": 0}),
                                "latent_frames": r.latent_frames_per_step[-1] if r.latent_frames_per_step else 0}
                       for r in results},
        }
        # The adapters stay installed: the state just fitted is the active one.
        return self.finish_fit([r.lora for r in results if r.lora is not None], reference, info, heads=heads)

    def _head_scores(self, reference: Reference, backbone: Any, clip_latents: Any, embeds: Any) -> HeadScores:
        """Classify heads, or reuse scores from ``heads_cache`` computed under the same conditions."""
        from motionbench_fym.heads import HeadScores, classify_heads

        cfg = self.config
        path = None
        if cfg.heads_cache:
            what = (reference.key, cfg.model, str(backbone.dtype), backbone.device.type, cfg.train_frames,
                    cfg.pixels, self.training_prompt(reference), cfg.classify_timestep_index, cfg.train_shift,
                    cfg.classify_block, cfg.seed)
            digest = hashlib.sha256(repr(what).encode()).hexdigest()[:16]
            path = Path(cfg.heads_cache).expanduser() / f"{reference.key}-{digest}.json"
            if path.is_file():
                return dataclasses.replace(HeadScores.load(path), alpha=cfg.alpha_threshold)
        heads = classify_heads(backbone, clip_latents, embeds, alpha=cfg.alpha_threshold,
                               timestep_index=cfg.classify_timestep_index, shift=cfg.train_shift,
                               block=cfg.classify_block, seed=cfg.seed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            heads.save(path)
        return heads
