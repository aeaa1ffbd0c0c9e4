"""Wan2.1 VACE as a video inpainting backbone: loading, the control latents, and masked sampling.

VACE (diffusers ``WanVACETransformer3DModel``) is the Wan2.1 DiT plus a *context branch*: every
``vace_layers`` block gets a hint computed from the control latents. For inpainting the control
latents are, per latent frame (as ``WanVACEPipeline`` builds them):

* ``inactive``: the VAE latent of the video with the holes blanked (what is kept),
* ``reactive``: the latent of the video with the kept part blanked (what may change; blank for
  pure inpainting, but encoded all the same),
* the mask, reshaped: each 8x8 pixel block becomes 64 channels at latent resolution, and time is
  resampled to the latent frames (nearest), 1 = generate;

``16 + 16 + 64 = 96`` channels for the real models (``2 z + 64`` for the tiny VAE). *Prefix frames*
(VACE's reference images, and FYC's temporal packing) are extra latent frames before the video:
their control is their clean latent, zeros, and a zero mask, and they are cut off after sampling.

:func:`load_vace_backbone` accepts ``"tiny"`` (random, CPU, the T2V ``tiny`` dimensions with one
VACE layer), ``"wan2.1-vace-1.3b-random"`` (the real 1.3B architecture with random weights, for
GPU timing), a hub id (``VACE_1_3B_HUB_ID``, ``VACE_14B_HUB_ID``) or a local diffusers folder, and
``"toy"`` (the inpainting model MotionBench trained on its rooms and ships, :mod:`motionbench.toy.inpaint`), and
returns the same :class:`~motionbench.backbones.wan.WanBackbone` the T2V methods use (VAE, text
encoder, prompt encoding, decoding and LoRA helpers all apply unchanged).

Masks in MotionBench say *visible* (True = keep); :func:`control_latents` converts to VACE's
generate-where-1 convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from motionbench.backbones.frames import frames_to_tensor, latent_frame_count
from motionbench.backbones.sampling import Sampler, initial_noise, make_scheduler
from motionbench.backbones.session import BackboneSession
from motionbench.backbones.text import build_byte_tokenizer, build_text_encoder
from motionbench.backbones.wan import (PIPELINE_SUBFOLDERS, SPECS, BackboneSpec, WanBackbone, _cast_keeping_fp32,
                                       _module_dtype, _offline, _quiet_transformers, _vae_class,
                                       resolve_backbone)
from motionbench.errors import ConfigError, WeightsError

VACE_1_3B_HUB_ID = "Wan-AI/Wan2.1-VACE-1.3B-diffusers"
VACE_14B_HUB_ID = "Wan-AI/Wan2.1-VACE-14B-diffusers"
DOWNLOAD_HINT = (f"huggingface-cli download {VACE_1_3B_HUB_ID} --local-dir DIR (or {VACE_14B_HUB_ID}), then pass "
                 "the folder as the model (or set HF_HUB_OFFLINE=0 to let diffusers download it)")
MASK_BLOCK = 8  # the VAE's spatial factor: one mask channel per pixel of an 8x8 block


def _vace(spec: BackboneSpec, name: str, vace_layers: list[int], summary: str) -> BackboneSpec:
    """A T2V spec turned into a VACE one: same DiT, hints at ``vace_layers``, ``2 z + 64`` control channels."""
    z = int(spec.transformer["in_channels"])
    transformer = dict(spec.transformer, vace_layers=vace_layers, vace_in_channels=2 * z + MASK_BLOCK * MASK_BLOCK)
    return BackboneSpec(name=name, transformer=transformer, vae=spec.vae, text_encoder=spec.text_encoder,
                        max_text_length=spec.max_text_length, summary=summary)


VACE_SPECS: dict[str, BackboneSpec] = {
    "tiny": _vace(SPECS["tiny"], "tiny", [0], "random 2-block VACE DiT (VACE hint at block 0) + tiny VAE; CPU, tests"),
    "wan2.1-vace-1.3b-random": _vace(SPECS["wan2.1-1.3b-random"], "wan2.1-vace-1.3b-random", list(range(0, 30, 2)),
                                     "Wan2.1-VACE-1.3B architecture (hints at every 2nd of 30 blocks), random weights"),
}


def _toy_folder() -> Path:
    from motionbench.toy.assets import toy_vace_folder

    return toy_vace_folder()


#: Inpainting models the project trained itself and ships (name -> folder in the diffusers layout).
TRAINED = {"toy": _toy_folder}


def _build_random(spec: BackboneSpec, device: torch.device, dtype: torch.dtype, seed: int) -> WanBackbone:
    from diffusers import AutoencoderKLWan, WanVACETransformer3DModel

    on_gpu = device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if on_gpu else []), torch.device(device if on_gpu else "cpu"):
        torch.manual_seed(seed)
        transformer = WanVACETransformer3DModel(**spec.transformer)
        vae = AutoencoderKLWan(**spec.vae)
    text_encoder = build_text_encoder(seed=seed, **spec.text_encoder)
    return WanBackbone(transformer=_cast_keeping_fp32(transformer.to(device), dtype), vae=vae.to(device).eval(),
                       text_encoder=text_encoder.to(device=device, dtype=dtype), tokenizer=build_byte_tokenizer(),
                       name=spec.name, device=device, dtype=dtype, max_text_length=spec.max_text_length)


def _load_pretrained(source: str, device: torch.device, dtype: torch.dtype) -> WanBackbone:
    from diffusers import WanVACETransformer3DModel
    from transformers import AutoTokenizer, UMT5EncoderModel

    local = Path(source).expanduser()
    if local.exists() or source.startswith((".", "/", "~")):
        missing = [s for s in PIPELINE_SUBFOLDERS if not (local / s).is_dir()] if local.is_dir() else ["(the folder)"]
        if missing:
            raise WeightsError(f"VACE model folder {local} lacks {', '.join(missing)} (expected the diffusers layout of "
                               f"{VACE_1_3B_HUB_ID}); get it with: {DOWNLOAD_HINT}")
        where, kwargs = str(local), {}
    else:
        where, kwargs = source, {"local_files_only": _offline()}
    try:
        transformer = WanVACETransformer3DModel.from_pretrained(where, subfolder="transformer", torch_dtype=dtype, **kwargs)
        vae = _vae_class(where, kwargs).from_pretrained(where, subfolder="vae", torch_dtype=torch.float32, **kwargs)
        with _quiet_transformers():
            text_encoder = UMT5EncoderModel.from_pretrained(where, subfolder="text_encoder", torch_dtype=dtype, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(where, subfolder="tokenizer", **kwargs)
    except Exception as exc:  # noqa: BLE001 - offline OSError, network errors, bad files (as in wan.py)
        if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
            raise
        offline = " (HF_HUB_OFFLINE is set)" if _offline() else ""
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(f"cannot load VACE weights from {source!r}{offline}: {first_line}\n"
                           f"Get them with: {DOWNLOAD_HINT}") from None
    max_length = min(512, int(getattr(tokenizer, "model_max_length", 512) or 512))  # the toy model's 16
    return WanBackbone(transformer=transformer.to(device), vae=vae.to(device).eval(),
                       text_encoder=text_encoder.to(device).eval().requires_grad_(False), tokenizer=tokenizer,
                       name=source, device=device, dtype=dtype, max_text_length=max_length)


def load_vace_backbone(model: str = "tiny", device: str | torch.device = "cpu", dtype: str | torch.dtype | None = "auto",
                       gradient_checkpointing: bool | None = None, seed: int = 0) -> WanBackbone:
    """Load or build a Wan2.1 VACE backbone (arguments as :func:`motionbench.backbones.wan.load_backbone`).

    Raises:
        WeightsError: weights not found (offline, not cached, bad folder), with the command to get them.
        ConfigError: unknown dtype.
    """
    return resolve_backbone(model, VACE_SPECS, TRAINED, _build_random, _load_pretrained, device=device, dtype=dtype,
                            gradient_checkpointing=gradient_checkpointing, seed=seed)


# -- control latents ------------------------------------------------------------------------------


def _latent_stats(backbone: WanBackbone) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = backbone.vae.config
    mean = torch.tensor(cfg.latents_mean, dtype=torch.float32, device=backbone.device).view(1, -1, 1, 1, 1)
    std = torch.tensor(cfg.latents_std, dtype=torch.float32, device=backbone.device).view(1, -1, 1, 1, 1)
    return mean, std


@torch.no_grad()
def encode_pixels(backbone: WanBackbone, video: torch.Tensor) -> torch.Tensor:
    """``[1, 3, T, H, W]`` in ``[-1, 1]`` -> normalised latents (posterior mode, float32)."""
    vae_dtype = _module_dtype(backbone.vae)  # the toy codec has buffers only
    z = backbone.vae.encode(video.to(backbone.device, vae_dtype)).latent_dist.mode().float()
    mean, std = _latent_stats(backbone)
    return (z - mean) / std


def mask_latents(generate: torch.Tensor, temporal_factor: int = 4, block: int = MASK_BLOCK) -> torch.Tensor:
    """Pixel mask ``[T, H, W]`` (1 = generate) -> VACE mask channels ``[1, block^2, F, H/block, W/block]``.

    Each ``block x block`` pixel block becomes ``block^2`` channels (row-major within the block), and
    the ``T`` frames are resampled to ``F = ceil(T / temporal_factor)`` latent frames by nearest
    neighbour, as ``WanVACEPipeline.prepare_masks`` does.
    """
    t, h, w = generate.shape
    if h % block or w % block:
        raise ConfigError(f"mask size {w}x{h} must be a multiple of {block}")
    m = generate.float().view(t, h // block, block, w // block, block).permute(2, 4, 0, 1, 3).reshape(block * block, t,
                                                                                                       h // block, w // block)
    frames = (t + temporal_factor - 1) // temporal_factor
    return F.interpolate(m.unsqueeze(0), size=(frames, h // block, w // block), mode="nearest-exact")


@torch.no_grad()
def control_latents(backbone: WanBackbone, frames: np.ndarray, visible: np.ndarray) -> torch.Tensor:
    """The VACE control latents of an inpainting task: ``[1, 2 z + 64, F, h, w]`` (float32).

    Args:
        frames: uint8 ``[T, H, W, 3]`` (``T = 4k + 1``; hole pixels are ignored).
        visible: bool ``[T, H, W]``, True = keep (MotionBench's convention).
    """
    if visible.shape != frames.shape[:3]:
        raise ConfigError(f"visibility mask {tuple(visible.shape)} does not match the frames {tuple(frames.shape[:3])}")
    latent_frame_count(frames.shape[0], backbone.temporal_factor)  # 4k+1 frames, with a clear error
    video = frames_to_tensor(frames, backbone.device, torch.float32)
    generate = torch.from_numpy(~np.asarray(visible, bool)).to(backbone.device)
    m = generate.float().view(1, 1, *generate.shape)
    # One batched VAE pass for both halves (the pipeline encodes them one after the other: equal up to rounding).
    inactive, reactive = encode_pixels(backbone, torch.cat([video * (1 - m), video * m])).chunk(2)
    return torch.cat([inactive, reactive, mask_latents(generate, backbone.temporal_factor).to(inactive)], dim=1)


def prefix_control(latents: torch.Tensor) -> torch.Tensor:
    """Control latents of prefix frames ``[1, z, K, h, w]``: their latent, zeros, a zero (keep) mask."""
    b, _, k, h, w = latents.shape
    return torch.cat([latents, torch.zeros_like(latents), latents.new_zeros(b, MASK_BLOCK * MASK_BLOCK, k, h, w)], dim=1)


# -- sampling -------------------------------------------------------------------------------------

PrefixMode = Literal["reference", "renoise"]


@dataclass
class Prefix:
    """Clean latents of frames packed before the video (``[1, z, K, h, w]``).

    ``mode``: ``reference`` (VACE's reference images: the prefix positions start as noise and are
    denoised freely; their content enters through the control branch only) or ``renoise`` (each
    step, the prefix positions are reset to the clean latents noised to the current level, so the
    main branch sees them too).
    """

    latents: torch.Tensor
    mode: PrefixMode = "reference"

    @property
    def length(self) -> int:
        return int(self.latents.shape[2])


@torch.no_grad()
def sample_inpaint(backbone: WanBackbone, control: torch.Tensor, prompt_embeds: torch.Tensor,
                   negative_embeds: torch.Tensor | None, *, steps: int = 30, guidance: float = 5.0, shift: float = 5.0,
                   seed: int = 0, sampler: Sampler = "unipc", prefix: Prefix | None = None,
                   conditioning_scale: float = 1.0) -> torch.Tensor:
    """Denoise video latents ``[1, z, F, h, w]`` under VACE control (see the module docstring).

    The video's initial noise depends only on ``seed`` and its shape, so the same seed gives the
    same starting point with and without a prefix; the prefix's own noise comes from ``seed + 1``.
    """
    do_cfg = guidance > 1.0
    if do_cfg and negative_embeds is None:
        raise ValueError("guidance > 1 needs negative_embeds (encode '' or a negative prompt)")
    _, _, frames, h, w = control.shape
    z = backbone.latent_channels
    latents = initial_noise((1, z, frames, h, w), seed).to(backbone.device)
    k = 0
    if prefix is not None:
        k = prefix.length
        prefix_noise = initial_noise((1, z, k, h, w), seed + 1).to(backbone.device)
        latents = torch.cat([prefix_noise, latents], dim=2)
        control = torch.cat([prefix_control(prefix.latents.to(control)), control], dim=2)
    scheduler = make_scheduler(sampler, shift)
    scheduler.set_timesteps(steps, device=backbone.device)
    context = torch.cat([prompt_embeds, negative_embeds]) if do_cfg else prompt_embeds
    context = context.to(backbone.device, backbone.dtype)
    control_in = control.to(backbone.device, backbone.dtype)
    if do_cfg:
        control_in = torch.cat([control_in, control_in])
    n_hints = len(backbone.transformer.config.vace_layers)
    scale = torch.full((n_hints,), float(conditioning_scale), device=backbone.device, dtype=backbone.dtype)
    sigmas = scheduler.sigmas.to(backbone.device)
    for i, t in enumerate(scheduler.timesteps):
        if prefix is not None and prefix.mode == "renoise":
            s = sigmas[i].float()
            latents[:, :, :k] = (1 - s) * prefix.latents.to(latents) + s * prefix_noise
        model_in = latents.to(backbone.dtype)
        if do_cfg:
            model_in = torch.cat([model_in, model_in])
        timestep = t.expand(model_in.shape[0]).to(backbone.device)
        pred = backbone.transformer(hidden_states=model_in, timestep=timestep, encoder_hidden_states=context,
                                    control_hidden_states=control_in, control_hidden_states_scale=scale,
                                    return_dict=False)[0].float()
        if do_cfg:
            cond, uncond = pred.chunk(2)
            pred = uncond + guidance * (cond - uncond)
        latents = scheduler.step(pred, t, latents, return_dict=False)[0]
    return latents[:, :, k:].float()


class VaceSession(BackboneSession):
    """A method's VACE backbone, loaded on first use (as :class:`BackboneSession` does for T2V)."""

    def backbone(self) -> WanBackbone:
        if self._backbone is None:
            self._backbone = load_vace_backbone(self.model, device=self.device, dtype=self.dtype,
                                                gradient_checkpointing=self.checkpointing, seed=0)
        return self._backbone
