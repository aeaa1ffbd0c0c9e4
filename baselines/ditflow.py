"""DiTFlow (entry point ``ditflow``): training-free motion transfer by Attention Motion Flow guidance.

Algorithm (Pondaven et al., CVPR 2025), on Wan2.1:

* ``fit`` (per reference, seconds): encode the reference, run the DiT once on its clean latent
  (``reference_timestep`` 0) with the empty prompt (``train_prompt`` ""), read block ``block``'s
  self-attention queries and keys through the toolkit's probe, and keep their Attention Motion
  Flow (:mod:`motionbench_baselines.attention_flow`; hard argmax, temperature 2, every ordered frame pair).
  That AMF (plus its token grid) is the state, saved as safetensors.
* ``generate``: sample from seeded noise; before each of the first ``guidance_steps`` denoising
  steps, optimise the latent itself with Adam for ``optimization_steps`` steps so that the AMF of
  the current noisy latent (conditional prompt, current timestep, soft argmax) matches the
  reference's, with a learning rate going linearly from ``lr_start`` to ``lr_end``; then continue
  sampling normally (CFG, flow shift). Only blocks up to ``block`` run in the guidance passes.
  A guided step steps from the optimised latent: the sampler skips UniPC's corrector there (it
  would rebuild the latent from the previous step and throw the edit away; see
  :func:`motionbench.backbones.sample_latents`), as DiTFlow's released code steps its corrector-free
  DDIM / DPM-Solver from the optimised latent.

Adaptation to Wan2.1. DiTFlow was built on CogVideoX, whose attention mixes text and video tokens;
Wan's self-attention holds video tokens only (text enters by cross-attention), so no text tokens
are dropped. Tokens are 2x2 latent patches, frame-major. DiTFlow's released code can also inject
the reference's keys and values into some blocks during the guided steps (``injection_blocks``,
block 0 in its config); this baseline does not (latent optimisation only). The AMF ties the state
to the reference's token grid; like every Wan-based method, ``ditflow`` fits and samples at the
shared working size (:mod:`motionbench.methods.wan`) and maps the video back to the request. In
time, latent frame ``t`` of the video is matched to latent frame ``t`` of the reference (the same
timing): a video shorter than the reference is guided by the pairs among its frames, and the frames
of a longer one beyond the reference (e.g. a 33-frame sample for a 32-frame clip fitted on its first
29 frames) are left free, so no frame is duplicated or dropped to make the lengths agree.

Presets: ``paper`` (the defaults: DiTFlow's published guidance: 10 of 50 denoising steps, 5 Adam
steps each, lr 0.002 -> 0.001, temperature 2, thresholded loss, hard reference AMF); the guidance
block is **uncertain** for Wan: DiTFlow used block 20 of CogVideoX-5B's 42 and block 15 of
CogVideoX-2B's 30; Wan2.1-1.3B has 30 blocks, so ``block=15`` by analogy. ``tiny``: CPU seconds.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

import numpy as np

from motionbench.errors import ConfigError, MotionBenchError
from motionbench.methods.base import GenerationRequest, Reference
from motionbench.methods.config import option
from motionbench.methods.wan import SAMPLING_OPTIONS, TOY_SAMPLING, WanMethod, WanOptions

STATE_FORMAT = "ditflow-state/1"
GUIDANCE_OPTIONS = frozenset({"guidance_steps", "optimization_steps", "lr_start", "lr_end", "ignore_static"})


@dataclass
class DiTFlowConfig(WanOptions):
    """Options of ``ditflow`` (``--method-opt key=value``); shared ones in :mod:`motionbench.methods.wan`."""

    train_prompt: str = option("", "released code", "DiTFlow sees the reference with its source prompt; none here")
    block: int = option(15, "MotionBench choice", "uncertain for Wan; see module docstring")
    frame_pairs: Literal["all", "adjacent"] = option("all", "released code", "DiTFlow: every ordered frame pair")
    motion_temperature: float = option(2.0, "released code", "DiTFlow motion_temp")
    reference_argmax: bool = option(True, "released code", "DiTFlow argmax_motion_flow")
    reference_timestep: float = option(0.0, "released code", "DiTFlow: the clean reference latent, timestep 0")
    # guidance (sampling only: never changes the fitted AMF)
    sample_steps: int = option(50, "released code", "DiTFlow: 50 denoising steps")
    guidance_steps: int = option(10, "released code", "DiTFlow: the first 10 of 50 steps are guided")
    optimization_steps: int = option(5, "released code", "DiTFlow optimization_steps")
    lr_start: float = option(0.002, "released code", "DiTFlow lr range")
    lr_end: float = option(0.001, "released code", "DiTFlow lr range")
    ignore_static: bool = option(True, "released code", "DiTFlow threshloss")

    def validate(self) -> None:
        self.check("ditflow", positive=("motion_temperature",),
                   non_negative=("block", "guidance_steps", "optimization_steps", "lr_start", "lr_end"))
        if not 0.0 <= self.reference_timestep <= 1000.0:
            raise ConfigError(f"ditflow: option reference_timestep={self.reference_timestep} must be in [0, 1000]")


@dataclass
class AMFState:
    """The reference's Attention Motion Flow and the geometry it belongs to.

    Attributes:
        flow: ``[pairs, h * w, 2]`` float32 CPU tensor, displacements in tokens.
        pairs: the ``(source, target)`` latent frames of each row of ``flow``.
        grid: ``(F, h, w)`` token grid.
        frames, height, width: the pixel geometry sampled at generation (``frames = 4(F-1)+1``).
    """

    flow: Any
    pairs: list[tuple[int, int]]
    grid: tuple[int, int, int]
    frames: int
    height: int
    width: int
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        save_file({"flow": self.flow.detach().to("cpu").float().contiguous()}, str(directory / "amf.safetensors"),
                  metadata={"format": STATE_FORMAT})
        meta = {"format": STATE_FORMAT, "pairs": self.pairs, "grid": list(self.grid), "frames": self.frames,
                "height": self.height, "width": self.width, "info": self.info}
        (directory / "amf.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, directory: Path) -> "AMFState":
        from safetensors.torch import load_file

        directory = Path(directory)
        side, weights = directory / "amf.json", directory / "amf.safetensors"
        if not side.is_file() or not weights.is_file():
            raise MotionBenchError(f"{directory} holds no DiTFlow state (need amf.json and amf.safetensors); "
                                   "delete it to refit")
        try:
            meta = json.loads(side.read_text())
            flow = load_file(str(weights))["flow"]
        except (OSError, ValueError, KeyError) as exc:
            raise MotionBenchError(f"cannot read DiTFlow state {directory}: {exc}; delete it to refit") from None
        if meta.get("format") != STATE_FORMAT:
            raise MotionBenchError(f"{side}: format {meta.get('format')!r}, expected {STATE_FORMAT!r}; "
                                   f"delete {directory} to refit")
        return cls(flow=flow, pairs=[tuple(p) for p in meta["pairs"]], grid=tuple(meta["grid"]),
                   frames=int(meta["frames"]), height=int(meta["height"]), width=int(meta["width"]),
                   info=meta.get("info", {}))


@contextlib.contextmanager
def blocks_up_to(transformer: Any, last: int) -> Iterator[None]:
    """Within the block the transformer runs blocks ``0..last`` only (later ones cannot affect their q/k)."""
    import torch

    blocks = transformer.blocks
    transformer.blocks = torch.nn.ModuleList(list(blocks)[: last + 1])
    try:
        yield
    finally:
        transformer.blocks = blocks


class BlockQK:
    """Read one block's self-attention query and key during forward passes of the backbone.

    Use as a context manager around every forward *and* backward that needs them (with gradient
    checkpointing the backward pass re-runs the block, which must see the same processor).
    """

    def __init__(self, backbone: Any, block: int) -> None:
        if not 0 <= block < backbone.num_blocks:
            raise ConfigError(f"ditflow: block={block} but the model has {backbone.num_blocks} blocks "
                              f"(0..{backbone.num_blocks - 1}); pass --method-opt ditflow.block=N")
        self.backbone, self.block = backbone, block
        self._stack: contextlib.ExitStack | None = None
        self._qk: tuple[Any, Any] | None = None

    def __enter__(self) -> "BlockQK":
        from motionbench.backbones import probe_self_attention

        stack = contextlib.ExitStack()
        stack.enter_context(probe_self_attention(self.backbone.transformer, self._grab, blocks=[self.block]))
        stack.enter_context(blocks_up_to(self.backbone.transformer, self.block))
        self._stack = stack
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._stack is not None
        self._stack.close()
        self._stack = None

    def _grab(self, block: int, query: Any, key: Any) -> None:
        if self._qk is None:  # a checkpointed backward re-runs the block: keep the forward's tensors
            self._qk = (query, key)

    def __call__(self, latents: Any, timestep: Any, prompt_embeds: Any) -> tuple[Any, Any]:
        """``(query, key)`` ``[1, S, heads, d]`` of the block for ``latents`` at ``timestep`` (0..1000)."""
        import torch

        from motionbench.backbones import predict_velocity

        if self._stack is None:
            raise RuntimeError("BlockQK must be entered (with BlockQK(...) as qk:) before use")
        self._qk = None
        sigma = torch.as_tensor(timestep, dtype=torch.float32).reshape(1) / 1000.0
        predict_velocity(self.backbone, latents, sigma, prompt_embeds)
        assert self._qk is not None
        return self._qk


def reference_flow(backbone: Any, latents: Any, prompt_embeds: Any, cfg: DiTFlowConfig) -> tuple[Any, list]:
    """The reference's AMF ``[pairs, hw, 2]`` and its pairs (no gradients)."""
    import torch

    from motionbench_baselines.attention_flow import attention_motion_flow, frame_pairs

    grid = token_grid(backbone, latents)
    pairs = frame_pairs(grid[0], cfg.frame_pairs)
    with torch.no_grad(), BlockQK(backbone, cfg.block) as qk:
        q, k = qk(latents, cfg.reference_timestep, prompt_embeds)
        flow = attention_motion_flow(q, k, grid, pairs, temperature=cfg.motion_temperature, hard=cfg.reference_argmax)
    return flow.float().cpu(), pairs


def token_grid(backbone: Any, latents: Any) -> tuple[int, int, int]:
    """``(F, h, w)`` tokens of latents ``[1, C, F, H, W]`` after the transformer's patching."""
    p_t, p_h, p_w = backbone.transformer.config.patch_size
    _, _, f, h, w = latents.shape
    return f // p_t, h // p_h, w // p_w


class AMFGuidance:
    """The ``latent_guidance`` hook of :func:`motionbench.backbones.sample_latents` (see module docstring).

    Args:
        backbone: the Wan backbone.
        state: the reference's :class:`AMFState`.
        prompt_embeds: the target prompt's embeddings (guidance uses the conditional branch).
        cfg: the method's options (block, temperature, steps, learning rates, loss).
        latent_frames: latent frames of the generated video (default: the reference's). Frame ``t``
            of the video is matched to frame ``t`` of the reference: only the reference's pairs whose
            two frames both exist in the video are guided; frames beyond the reference are free.

    Attributes:
        pairs: the guided ``(source, target)`` latent-frame pairs.
        losses: the AMF loss before each optimisation step, one list per guided denoising step.
    """

    def __init__(self, backbone: Any, state: AMFState, prompt_embeds: Any, cfg: DiTFlowConfig,
                 latent_frames: int | None = None) -> None:
        self.backbone, self.state, self.embeds, self.cfg = backbone, state, prompt_embeds, cfg
        f, h, w = state.grid
        self.grid = (latent_frames or f, h, w)
        keep = [n for n, (i, j) in enumerate(state.pairs) if max(i, j) < self.grid[0]]
        self.pairs = [state.pairs[n] for n in keep]
        self.reference = state.flow[keep].to(backbone.device)
        self.lrs = np.linspace(cfg.lr_start, cfg.lr_end, max(cfg.guidance_steps, 1))
        self.losses: list[list[float]] = []

    def _loss(self, qk: BlockQK, latents: Any, timestep: Any) -> Any:
        from motionbench_baselines.attention_flow import amf_loss, attention_motion_flow

        q, k = qk(latents, timestep, self.embeds)
        flow = attention_motion_flow(q, k, self.grid, self.pairs, temperature=self.cfg.motion_temperature)
        return amf_loss(flow, self.reference, self.cfg.ignore_static)

    def loss(self, latents: Any, timestep: Any) -> float:
        """The AMF loss of ``latents`` at ``timestep`` (no gradients)."""
        import torch

        with torch.no_grad(), BlockQK(self.backbone, self.cfg.block) as qk:
            return float(self._loss(qk, latents.float(), timestep))

    def optimise(self, latents: Any, timestep: Any, lr: float) -> Any:
        """``optimization_steps`` Adam steps on the latent towards the reference AMF; returns the new latent."""
        import torch

        x = latents.detach().float().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([x], lr=lr)
        trace = []
        with torch.enable_grad(), BlockQK(self.backbone, self.cfg.block) as qk:
            for _ in range(self.cfg.optimization_steps):
                optimizer.zero_grad(set_to_none=True)
                loss = self._loss(qk, x, timestep)
                loss.backward()
                optimizer.step()
                trace.append(float(loss.detach()))
        self.losses.append(trace)
        return x.detach()

    def __call__(self, step: int, timestep: Any, latents: Any) -> Any:
        if step >= self.cfg.guidance_steps or self.cfg.optimization_steps == 0 or not self.pairs:
            return latents
        return self.optimise(latents, timestep, float(self.lrs[step])).to(latents.dtype)


class DiTFlow(WanMethod):
    """Training-free AMF guidance (see module docstring)."""

    name = "ditflow"
    Config = DiTFlowConfig
    fits = True  # fit extracts the reference AMF (a DiT forward); worth caching
    fit_format = STATE_FORMAT
    sampling_options: ClassVar[frozenset[str]] = SAMPLING_OPTIONS | GUIDANCE_OPTIONS
    presets: ClassVar[dict[str, DiTFlowConfig]] = {
        "tiny": DiTFlowConfig(model="tiny", train_frames=17, pixels=64 * 64, block=1, sample_steps=4, guidance=3.0,
                              guidance_steps=2, optimization_steps=2, lr_start=0.02, lr_end=0.01),
        # The toy model's middle block (3 of 6), guidance over the first 8 of 20 steps.
        "toy": DiTFlowConfig(**TOY_SAMPLING, block=3, guidance_steps=8, optimization_steps=5, lr_start=0.02,
                             lr_end=0.01),
        "paper": DiTFlowConfig(block=15, frame_pairs="all", motion_temperature=2.0, reference_argmax=True,
                               guidance_steps=10, optimization_steps=5, lr_start=0.002, lr_end=0.001, sample_steps=50,
                               train_frames=81, pixels=480 * 832),
    }

    def fit(self, reference: Reference, workdir: Path) -> AMFState:
        cfg = self.config
        b = self.backbone()
        frames = self.reference_frames(reference)
        latents = b.encode_video(frames)
        flow, pairs = reference_flow(b, latents, self.embed(self.training_prompt(reference)), cfg)
        grid = token_grid(b, latents)
        moving = float((flow.norm(dim=-1) > 0).float().mean())
        info = {"reference": reference.key, "state_key": self.state_key(), "block": cfg.block,
                "moving_fraction": moving, "mean_displacement": float(flow.norm(dim=-1).mean())}
        return AMFState(flow=flow, pairs=[tuple(p) for p in pairs], grid=grid, frames=int(frames.shape[0]),
                        height=int(frames.shape[1]), width=int(frames.shape[2]), info=info)

    def save_state(self, state: AMFState, directory: Path) -> None:
        state.save(directory)

    def load_state(self, directory: Path) -> AMFState:
        return AMFState.load(directory)

    def guidance(self, state: AMFState, prompt: str, num_frames: int | None = None) -> AMFGuidance:
        """The guidance hook for ``prompt`` towards ``state``'s AMF, for a ``num_frames`` video."""
        from motionbench.backbones import latent_frame_count

        b = self.backbone()
        latent_frames = latent_frame_count(num_frames, b.temporal_factor) if num_frames else None
        return AMFGuidance(b, state, self.embed(prompt), self.config, latent_frames=latent_frames)

    def generate(self, state: AMFState | None, reference: Reference, request: GenerationRequest) -> np.ndarray:
        from motionbench.backbones import vae_frame_count

        if not isinstance(state, AMFState):
            raise MotionBenchError(f"ditflow.generate needs the state returned by fit (or load_state), "
                                   f"got {type(state).__name__}")
        # The AMF is tied to the reference's token grid, i.e. to the working size it was fitted at.
        if (state.height, state.width) != self.working_size(reference):
            raise MotionBenchError(f"ditflow: the state was fitted at {state.height}x{state.width}, this reference "
                                   f"works at {'x'.join(map(str, self.working_size(reference)))}; refit it")
        hook = self.guidance(state, request.prompt,
                             vae_frame_count(request.num_frames, "ceil", self.backbone().temporal_factor))
        return self.sample(reference, request, latent_guidance=hook)
