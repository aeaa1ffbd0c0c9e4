"""The toolkit of methods on the Wan2.1 video DiT: shared options, one size policy, sampling, LoRA state.

Several method families run on this backbone (Follow-Your-Motion in ``fym/``, the baselines in
``baselines/``). What they share lives here once, so every Wan-based row of a leaderboard sees the
same frames, samples the same way and is mapped back to the request the same way; a family keeps
only its own options and its ``fit``.

Options
    :class:`WanOptions` (backbone, the reference as seen, sampling) and :class:`LoRAOptions`
    (LoRA rank, optimiser, sampling scales), :class:`StagedLoRAOptions` (a spatial then a temporal
    LoRA stage). Every default names its source (:func:`motionbench.methods.config.option`).
    The same option name means the same thing for every method, so ``--method-opt pixels=...``
    changes all of them alike.

Size policy (one for every Wan-based method)
    A method trains *and* samples at one *working size* derived from the reference clip: the
    clip's aspect ratio at about ``pixels`` pixels, each side a multiple of the backbone's VAE
    spatial factor times its patch size (16 for Wan2.1, whatever the backbone says otherwise;
    :func:`motionbench.backbones.working_size`). The reference is resized to it (cover, then a
    centre-crop of less than one multiple: the rounding), sampling runs at it, and the sampled video
    is mapped back to the request with the same cover + centre-crop resize for every method
    (:func:`conform`), so all rows show the same field of view as the reference.

Frames
    The reference's first ``train_frames`` frames, floored to the VAE's ``4k+1`` (no invented
    frames); videos are sampled at the next ``4k+1`` count and trimmed to the request.

State (:class:`LoRAState`)
    The trained adapters (heads, rank, alpha, CPU float32 weights) and what fitting measured, saved
    as ``state.json`` plus one ``<adapter>.safetensors``/``.json`` pair per adapter; a method family
    may subclass it to keep more (FYM keeps its head scores). :class:`LoRAMethod` captures, saves,
    loads and installs states and samples with the adapters at ``spatial_scale``/``temporal_scale``.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

import numpy as np

from motionbench.backbones.session import BackboneSession
from motionbench.errors import ConfigError, MotionBenchError
from motionbench.methods.base import GenerationRequest, Method, Reference
from motionbench.methods.config import option

#: Diffusers id of Wan2.1-T2V-1.3B (a literal: importing the backbone toolkit here would import torch).
WAN_1_3B = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
#: Wan's standard negative prompt, as diffusers' Wan pipeline example and FYM's released inference use it.
WAN_NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly "
    "drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy "
    "background, three legs, many people in the background, walking backwards")
#: The toy world's settings, shared by every method's ``toy`` preset (data/toy.yaml; motionbench.bench.toy):
#: the toy model trained by MotionBench, its 33 frames of 32 x 32 pixels, and how it samples (tuned on
#: held-out captions, benchmarks/toy_quality.py). Its negative is the empty caption it was trained with for
#: classifier-free guidance: it knows no other words.
TOY_SAMPLING: dict[str, Any] = dict(model="toy", train_frames=33, pixels=32 * 32, sample_steps=20, guidance=4.0,
                                    sample_shift=2.0, sampler="unipc", negative_prompt="")
#: ... and the LoRA methods' common toy recipe: they train with the reference's caption (toy clips have one).
TOY_LORA: dict[str, Any] = dict(TOY_SAMPLING, train_prompt="{caption}", rank=8, lora_alpha=8.0, lr=2e-3,
                                train_shift=2.0)
#: Options that only change sampling; they never invalidate a fitted state.
SAMPLING_OPTIONS = frozenset({"sample_steps", "guidance", "sample_shift", "sampler", "negative_prompt"})
#: ... and those of LoRA methods: the adapters' strengths when sampling.
LORA_SAMPLING_OPTIONS = SAMPLING_OPTIONS | {"spatial_scale", "temporal_scale"}
SPATIAL, TEMPORAL = "spatial", "temporal"
_FYM_INFERENCE = "examples/wanvideo/inference.py"


@dataclass
class WanOptions:
    """Options every method on Wan2.1 shares (see module docstring)."""

    # backbone
    model: str = option(WAN_1_3B, "paper", "Wan2.1-T2V-1.3B; or tiny | wan2.1-1.3b-random | a local folder")
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = option("auto", "MotionBench choice", "bf16 on CUDA, else fp32")
    gradient_checkpointing: Literal["auto", "on", "off"] = option("auto", "MotionBench choice", "on for CUDA")
    # the reference as the method sees it
    train_frames: int = option(81, "released code", "--num_frames 81 (the paper's sparse example is 81 -> 17)")
    pixels: int = option(480 * 832, "released code",
                         "480x832 (--height/--width), as a pixel budget at the clip's aspect ratio")
    train_prompt: str = option("a video", "MotionBench choice",
                               "the real benchmark has no reference captions; {caption} is the sample's caption")
    seed: int = option(0, "MotionBench choice")
    # sampling
    sample_steps: int = option(50, "diffusers", "WanPipeline num_inference_steps")
    guidance: float = option(5.0, "diffusers", "WanPipeline guidance_scale")
    sample_shift: float = option(5.0, "released code", f"FYM {_FYM_INFERENCE}: flow_shift 5.0")
    sampler: Literal["unipc", "euler"] = option("unipc", "released code", f"FYM {_FYM_INFERENCE}: UniPC")
    negative_prompt: str = option(WAN_NEGATIVE_PROMPT, "diffusers", "Wan pipeline example; FYM's inference uses it")

    def check(self, method: str, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
        """Raise :class:`ConfigError` naming ``method`` and the first option out of range."""
        for name in ("train_frames", "pixels", "sample_steps", *positive):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{method}: option {name}={getattr(self, name)} must be > 0")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"{method}: option {name}={getattr(self, name)} must be >= 0")
        if self.guidance < 0 or self.sample_shift <= 0:
            raise ConfigError(f"{method}: guidance must be >= 0 and sample_shift > 0 "
                              f"(got guidance={self.guidance}, sample_shift={self.sample_shift})")


@dataclass
class LoRAOptions(WanOptions):
    """Options of methods that tune LoRA adapters on the self-attention q/k/v of some heads."""

    rank: int = option(16, "released code", "FYM README: --lora_rank 16")
    lora_alpha: float = option(16.0, "released code", "FYM README: --lora_alpha 16")
    lr: float = option(1e-4, "released code", "FYM README: --learning_rate 1e-4")
    max_grad_norm: float = option(1.0, "MotionBench choice", "0: no clipping")
    train_shift: float = option(5.0, "MotionBench choice", "the sampler's flow shift")
    timestep_sampling: Literal["uniform", "logit_normal"] = option(
        "uniform", "released code", "FYM: a uniform index of 1000 shifted timesteps")
    loss_weighting: Literal["none", "sigma_sqrt", "cosmap"] = option("none", "MotionBench choice")
    # sampling only
    spatial_scale: float = option(1.0, "MotionBench choice", "FYM's fusion scales are not published")
    temporal_scale: float = option(1.0, "MotionBench choice", "FYM's fusion scales are not published")

    def check_lora(self, method: str, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
        self.check(method, positive=("rank", "lora_alpha", "lr", "train_shift", *positive),
                   non_negative=("max_grad_norm", *non_negative))


@dataclass
class StagedLoRAOptions(LoRAOptions):
    """FYM's recipe shape: a spatial LoRA stage on single frames, then a temporal one on the clip
    (``fym`` and its "all components off" row ``two-stage-lora``), sampled as FYM's inference."""

    rank: int = option(128, "paper")
    lora_alpha: float = option(128.0, "MotionBench choice", "alpha = rank (the paper gives the rank only)")
    spatial_steps: int = option(3000, "paper")
    temporal_steps: int = option(2000, "paper")
    spatial_weight_decay: float = option(0.1, "released code", "FYM README: --spatial_lora_wd 0.1")
    temporal_weight_decay: float = option(0.5, "released code", "FYM README: --temporal_lora_wd 0.5")
    # sampling: FYM's released inference (also for its "all components off" row)
    sample_steps: int = option(35, "released code", f"FYM {_FYM_INFERENCE}: num_inference_steps=35")
    guidance: float = option(7.0, "released code", f"FYM {_FYM_INFERENCE}: guidance_scale=7.0")

    def check_stages(self, method: str, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
        self.check_lora(method, positive=positive,
                        non_negative=("spatial_steps", "temporal_steps", "spatial_weight_decay",
                                      "temporal_weight_decay", *non_negative))


class WanMethod(Method):
    """A :class:`Method` on the Wan toolkit: backbone, prompt cache, the size policy, sampling, output."""

    sampling_options: ClassVar[frozenset[str]] = SAMPLING_OPTIONS

    def __init__(self, config: Any, device: str = "cpu") -> None:
        super().__init__(config, device)
        self._session = BackboneSession(config.model, device=device, dtype=config.dtype,
                                        gradient_checkpointing=config.gradient_checkpointing)

    def backbone(self):
        """The :class:`~motionbench.backbones.WanBackbone`, loaded on first use."""
        return self._session.backbone()

    def embed(self, prompt: str):
        """Prompt embeddings ``[1, L, D]``, cached (a sample's prompts repeat across seeds)."""
        return self._session.embed(prompt)

    def training_prompt(self, reference: Reference) -> str:
        """``train_prompt`` with ``{caption}`` replaced by the reference's caption (toy clips have one).

        Raises:
            ConfigError: ``{caption}`` is asked for and the sample has none (how to give it one).
        """
        template = self.config.train_prompt
        if "{caption}" not in template:
            return template
        if not reference.caption:
            raise ConfigError(f"{self.name}: train_prompt={template!r} needs the reference's caption, and sample "
                              f"{reference.sample_id!r} has none; add `caption: ...` to its manifest entry or set "
                              "--method-opt train_prompt=...")
        return template.replace("{caption}", reference.caption)

    def working_size(self, reference: Reference) -> tuple[int, int]:
        """``(height, width)`` this method trains and samples at for ``reference`` (module docstring)."""
        from motionbench.backbones import size_multiple, working_size

        return working_size(reference.clip.size, self.config.pixels, size_multiple(self.backbone()))

    def reference_frames(self, reference: Reference) -> np.ndarray:
        """The reference as fitted: first ``train_frames`` frames, floor ``4k+1``, at the working size."""
        from motionbench.backbones import resize_frames, vae_frame_count

        factor = self.backbone().temporal_factor
        frames = reference.clip.frames[: self.config.train_frames]
        frames = frames[: vae_frame_count(frames.shape[0], "floor", factor)]
        return resize_frames(frames, *self.working_size(reference))

    def sample(self, reference: Reference, request: GenerationRequest, *, latent_guidance=None) -> np.ndarray:
        """Sample ``request.prompt`` at the working size and return frames conforming to ``request``."""
        from motionbench.backbones import sample_latents, vae_frame_count

        cfg = self.config
        b = self.backbone()
        height, width = self.working_size(reference)
        negative = self.embed(cfg.negative_prompt) if cfg.guidance > 1.0 else None
        latents = sample_latents(b, self.embed(request.prompt), negative,
                                 num_frames=vae_frame_count(request.num_frames, "ceil", b.temporal_factor),
                                 height=height, width=width, steps=cfg.sample_steps, guidance=cfg.guidance,
                                 shift=cfg.sample_shift, seed=request.seed, sampler=cfg.sampler,
                                 latent_guidance=latent_guidance)
        return conform(b.decode(latents), request)

    def close(self) -> None:
        self._session.close()


def conform(frames: np.ndarray, request: GenerationRequest) -> np.ndarray:
    """``frames`` as the request wants them: the first ``num_frames`` frames (dropping the ``4k+1``
    round-up), resized to ``size`` by cover + centre-crop (the one output mapping of every method)."""
    from motionbench.backbones import resize_frames

    n = request.num_frames
    if frames.shape[0] < n:
        raise ValueError(f"sampled {frames.shape[0]} frames for a request of {n}; sample ceil 4k+1 frames")
    w, h = request.size
    return np.ascontiguousarray(resize_frames(frames[:n], h, w))


# -- LoRA methods ----------------------------------------------------------------------------------

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


@contextlib.contextmanager
def several_adapters() -> Iterator[None]:
    """Silence peft's warning that a model gets a second adapter: these methods mean to have two."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute", category=UserWarning)
        yield


@dataclass
class AdapterWeights:
    """One trained adapter, detached from any model."""

    heads_per_block: list[list[int]]
    rank: int
    alpha: float
    tensors: dict[str, Any]  # peft state-dict key -> CPU float32 tensor


@dataclass
class LoRAState:
    """Adapters of one fitted reference and what fitting measured (see module docstring)."""

    format: str
    adapters: dict[str, AdapterWeights]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(cls, transformer: Any, loras: list[Any], format: str, info: dict[str, Any],
                **fields: Any) -> "LoRAState":
        """Copy the weights of trained :class:`~motionbench.backbones.lora.HeadLoRA` adapters
        (``fields``: a subclass's own fields)."""
        from motionbench.backbones.lora import lora_state

        adapters = {lora.name: AdapterWeights(heads_per_block=[list(h) for h in lora.heads_per_block],
                                              rank=int(lora.rank), alpha=float(lora.alpha),
                                              tensors=lora_state(transformer, lora)) for lora in loras}
        return cls(format=format, adapters=adapters, info=info, **fields)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        from motionbench.backbones.lora import LORA_FORMAT

        directory = Path(directory)
        for name, a in self.adapters.items():
            meta = {"format": LORA_FORMAT, "name": name, "rank": a.rank, "alpha": a.alpha,
                    "heads_per_block": a.heads_per_block}
            save_file(a.tensors, str(directory / f"{name}.safetensors"), metadata={"format": LORA_FORMAT})
            (directory / f"{name}.json").write_text(json.dumps(meta, indent=1))
        (directory / "state.json").write_text(json.dumps({"format": self.format, "adapters": list(self.adapters),
                                                          "info": self.info}, indent=1))

    @classmethod
    def load(cls, directory: Path, format: str) -> "LoRAState":
        """Read a state written by :meth:`save`.

        Raises:
            MotionBenchError: missing files, another method's or an older format (delete to refit).
        """
        from motionbench.backbones.lora import read_lora

        directory = Path(directory)
        index = directory / "state.json"
        if not index.is_file():
            raise MotionBenchError(f"{directory} holds no fitted LoRA state (state.json missing); delete it to refit")
        try:
            data = json.loads(index.read_text())
        except ValueError as exc:
            raise MotionBenchError(f"{index} is not valid JSON ({exc}); delete {directory} to refit") from None
        if data.get("format") != format:
            raise MotionBenchError(f"{index}: state format {data.get('format')!r}, expected {format!r}; "
                                   f"delete {directory} to refit")
        adapters = {}
        for name in data.get("adapters", []):
            meta, tensors = read_lora(directory / f"{name}.safetensors")
            adapters[name] = AdapterWeights(heads_per_block=meta["heads_per_block"], rank=int(meta["rank"]),
                                            alpha=float(meta["alpha"]), tensors=tensors)
        return cls(format=format, adapters=adapters, info=data.get("info", {}))

    def install(self, transformer: Any) -> None:
        """Replace every adapter of ``transformer`` by this state's (frozen)."""
        from motionbench.backbones.lora import install_lora, remove_loras

        remove_loras(transformer)
        for name, a in self.adapters.items():
            with several_adapters():
                install_lora(transformer, name, a.heads_per_block, a.rank, a.alpha, a.tensors,
                             source=f"state of reference {self.info.get('reference', '?')}")


class ActiveAdapters:
    """Tracks which :class:`LoRAState` a transformer holds, so states are installed once."""

    def __init__(self) -> None:
        self.state: LoRAState | None = None

    def activate(self, transformer: Any, state: LoRAState, scales: dict[str, float]) -> None:
        """Install ``state`` (unless it already is) and sample with the adapters at ``scales``.

        Adapters with scale 0 are left out; with none left the base model samples.
        """
        from motionbench.backbones.lora import set_lora_scales

        if self.state is not state:
            state.install(transformer)
            self.state = state
        active = {n: s for n, s in scales.items() if n in state.adapters and s != 0.0}
        if active:
            transformer.enable_adapters()
            set_lora_scales(transformer, active)
        elif state.adapters:
            transformer.disable_adapters()  # every scale is 0: the base model, at the base model's cost

    def forget(self) -> None:
        self.state = None


class LoRAMethod(WanMethod):
    """Shared ``save_state`` / ``load_state`` / ``generate`` of the LoRA methods.

    A subclass's ``fit`` calls :meth:`begin_fit`, trains its adapters and returns
    :meth:`finish_fit`; ``State`` is the state class (a :class:`LoRAState` subclass keeps more).
    """

    fits = True
    sampling_options: ClassVar[frozenset[str]] = LORA_SAMPLING_OPTIONS
    State: ClassVar[type[LoRAState]] = LoRAState

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

    def finish_fit(self, loras: list[Any], reference: Reference, info: dict[str, Any], **fields: Any) -> LoRAState:
        """Capture the trained adapters as this reference's state (they stay installed)."""
        info = {"reference": reference.key, "state_key": self.state_key(), **info}
        state = self.State.capture(self.backbone().transformer, loras, self.fit_format, info, **fields)
        self._active.state = state
        return state

    def save_state(self, state: LoRAState, directory: Path) -> None:
        state.save(directory)

    def load_state(self, directory: Path) -> LoRAState:
        return self.State.load(directory, self.fit_format)

    def generate(self, state: LoRAState | None, reference: Reference, request: GenerationRequest) -> np.ndarray:
        if not isinstance(state, self.State):
            raise MotionBenchError(f"{self.name}.generate needs the state returned by fit (or load_state), "
                                   f"got {type(state).__name__}")
        cfg = self.config
        self._active.activate(self.backbone().transformer, state,
                              {SPATIAL: cfg.spatial_scale, TEMPORAL: cfg.temporal_scale})
        return self.sample(reference, request)

    def close(self) -> None:
        super().close()
        self._active.forget()
