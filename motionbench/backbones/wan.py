"""Wan2.1 text-to-video components: load from the hub or a folder, or build from a named config.

:func:`load_backbone` accepts

* ``"tiny"``: a random 2-block, 4-head DiT (dim 48), a tiny Wan VAE (4 latent channels) and a
  tiny UMT5 encoder with a byte-level tokenizer; builds offline on the CPU in about a second; for
  tests and smoke runs;
* ``"wan2.1-1.3b-random"``: the real Wan2.1-T2V-1.3B transformer architecture (30 blocks, 12
  heads, dim 1536, FFN 8960, text dim 4096) and the real VAE configuration with random weights,
  plus a 1-layer stand-in text encoder; for timing and memory measurements on a GPU;
* a hub id such as ``"Wan-AI/Wan2.1-T2V-1.3B-Diffusers"`` (loaded from the local Hugging Face
  cache; downloaded only when the network is allowed) or a local folder holding the diffusers
  layout (``transformer/``, ``vae/``, ``text_encoder/``, ``tokenizer/``).

Pretrained weights are loaded in the requested dtype (bf16 on GPU by default) with the VAE in
float32 (its decoder is sensitive to bf16). Missing weights raise :class:`WeightsError` saying how
to get them.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from motionbench.backbones.frames import frames_to_tensor, latent_frame_count, tensor_to_frames
from motionbench.backbones.rope import install_frame_position_rope
from motionbench.backbones.text import build_byte_tokenizer, build_text_encoder, encode_text
from motionbench.errors import ConfigError, WeightsError

WAN_1_3B_HUB_ID = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
DOWNLOAD_HINT = (f"huggingface-cli download {WAN_1_3B_HUB_ID} --local-dir DIR, then pass "
                 "--method-opt model=DIR (or set HF_HUB_OFFLINE=0 to let diffusers download it)")
PIPELINE_SUBFOLDERS = ("transformer", "vae", "text_encoder", "tokenizer")


@dataclass(frozen=True)
class BackboneSpec:
    """A random-weight configuration: the diffusers/transformers constructor arguments."""

    name: str
    transformer: dict[str, Any]
    vae: dict[str, Any]
    text_encoder: dict[str, Any]
    max_text_length: int
    summary: str


_TINY_Z = 4
SPECS: dict[str, BackboneSpec] = {
    "tiny": BackboneSpec(
        name="tiny",
        transformer=dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=12, in_channels=_TINY_Z,
                         out_channels=_TINY_Z, text_dim=32, freq_dim=32, ffn_dim=96, num_layers=2,
                         cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=256),
        vae=dict(base_dim=8, z_dim=_TINY_Z, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
                 temperal_downsample=[False, True, True], latents_mean=[0.0] * _TINY_Z,
                 latents_std=[1.0] * _TINY_Z),
        text_encoder=dict(d_model=32, num_layers=2, num_heads=4, d_kv=8, d_ff=64),
        max_text_length=64,
        summary="random 2-block DiT (4 heads, dim 48) + tiny VAE + tiny UMT5; CPU, tests",
    ),
    "wan2.1-1.3b-random": BackboneSpec(
        name="wan2.1-1.3b-random",
        transformer=dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                         out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30,
                         cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),
        vae=dict(),  # AutoencoderKLWan's defaults are the Wan2.1 VAE configuration
        text_encoder=dict(d_model=4096, num_layers=1, num_heads=8, d_kv=64, d_ff=256),
        max_text_length=512,
        summary="Wan2.1-T2V-1.3B architecture with random weights; GPU timing",
    ),
}


def _module_dtype(module: Any) -> torch.dtype:
    """The dtype of a module's first parameter, or buffer (the toy codec has buffers only)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.dtype
    return torch.float32


def _toy_folder() -> Path:
    from motionbench.toy.assets import toy_t2v_folder

    return toy_t2v_folder()


#: Models the project trained itself and ships (name -> folder in the diffusers layout).
TRAINED: dict[str, Any] = {"toy": _toy_folder}


@dataclass
class WanBackbone:
    """The components of a Wan2.1 T2V model and the operations methods build on.

    Latents are ``[B, C, F_latent, H/8, W/8]``, normalised by the VAE's per-channel
    ``latents_mean``/``latents_std`` exactly as the diffusers Wan pipeline does.
    """

    transformer: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    name: str
    device: torch.device
    dtype: torch.dtype
    max_text_length: int = 512
    _latent_stats: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False)

    # -- geometry -------------------------------------------------------------------------
    @property
    def temporal_factor(self) -> int:
        return int(getattr(self.vae.config, "scale_factor_temporal", 4) or 4)

    @property
    def spatial_factor(self) -> int:
        return int(getattr(self.vae.config, "scale_factor_spatial", 8) or 8)

    @property
    def num_blocks(self) -> int:
        return len(self.transformer.blocks)

    @property
    def num_heads(self) -> int:
        return int(self.transformer.config.num_attention_heads)

    @property
    def head_dim(self) -> int:
        return int(self.transformer.config.attention_head_dim)

    @property
    def latent_channels(self) -> int:
        return int(self.transformer.config.in_channels)

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int, int, int]:
        """Latent shape of a ``num_frames`` x ``height`` x ``width`` video (``4k+1`` frames)."""
        s = self.spatial_factor
        return (1, self.latent_channels, latent_frame_count(num_frames, self.temporal_factor), height // s, width // s)

    # -- latents --------------------------------------------------------------------------
    def _stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._latent_stats is None:
            cfg = self.vae.config
            mean = torch.tensor(cfg.latents_mean, dtype=torch.float32).view(1, -1, 1, 1, 1)
            std = torch.tensor(cfg.latents_std, dtype=torch.float32).view(1, -1, 1, 1, 1)
            self._latent_stats = (mean.to(self.device), std.to(self.device))
        return self._latent_stats

    @torch.no_grad()
    def encode_video(self, frames: np.ndarray) -> torch.Tensor:
        """``uint8 [T, H, W, 3]`` (``T = 4k+1``) -> normalised latents ``[1, C, k+1, H/8, W/8]`` (float32).

        Uses the posterior mean (deterministic, so latents can be cached per reference).
        """
        latent_frame_count(frames.shape[0], self.temporal_factor)  # validates 4k+1 with a clear error
        vae_dtype = _module_dtype(self.vae)
        x = frames_to_tensor(frames, self.device, vae_dtype)
        z = self.vae.encode(x).latent_dist.mode().float()
        mean, std = self._stats()
        return (z - mean) / std

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """Each frame encoded alone as a 1-frame video: ``[T, C, 1, H/8, W/8]`` (float32)."""
        return torch.cat([self.encode_video(frames[i:i + 1]) for i in range(frames.shape[0])], dim=0)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Normalised latents ``[1, C, F, h, w]`` -> ``uint8 [4(F-1)+1, 8h, 8w, 3]``."""
        mean, std = self._stats()
        vae_dtype = _module_dtype(self.vae)
        z = (latents.float() * std + mean).to(vae_dtype)
        return tensor_to_frames(self.vae.decode(z, return_dict=False)[0])

    # -- text -----------------------------------------------------------------------------
    def encode_prompts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Prompts -> ``[B, max_text_length, text_dim]`` in the transformer's dtype."""
        return encode_text(self.tokenizer, self.text_encoder, prompts, self.max_text_length, self.device, self.dtype)

    # -- training setup -------------------------------------------------------------------
    def set_gradient_checkpointing(self, enabled: bool) -> None:
        if enabled:
            self.transformer.enable_gradient_checkpointing()
        else:
            self.transformer.disable_gradient_checkpointing()


def _torch_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
             "fp32": torch.float32, "float32": torch.float32}
    if dtype not in table:
        raise ConfigError(f"dtype {dtype!r} is not supported; choose one of: auto, {', '.join(table)}")
    return table[dtype]


def _cast_keeping_fp32(transformer: Any, dtype: torch.dtype) -> Any:
    """Cast parameters to ``dtype`` except the modules diffusers keeps in float32 (norms, time embedder)."""
    keep = set(getattr(transformer, "_keep_in_fp32_modules", None) or ())
    for name, param in transformer.named_parameters():
        # Entries name modules (norm1, time_embedder) or parameters (scale_shift_table), as in diffusers.
        if not keep.intersection(name.split(".")):
            param.data = param.data.to(dtype)
    return transformer


def _build_random(spec: BackboneSpec, device: torch.device, dtype: torch.dtype, seed: int) -> WanBackbone:
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    # Initialise on the GPU when there is one: the 1.3B random config takes a minute on the CPU.
    on_gpu = device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if on_gpu else []), torch.device(device if on_gpu else "cpu"):
        torch.manual_seed(seed)
        transformer = WanTransformer3DModel(**spec.transformer)
        vae = AutoencoderKLWan(**spec.vae)
    text_encoder = build_text_encoder(seed=seed, **spec.text_encoder)
    return WanBackbone(transformer=_cast_keeping_fp32(transformer.to(device), dtype), vae=vae.to(device).eval(),
                       text_encoder=text_encoder.to(device=device, dtype=dtype), tokenizer=build_byte_tokenizer(),
                       name=spec.name, device=device, dtype=dtype, max_text_length=spec.max_text_length)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _vae_class(where: str, kwargs: dict[str, Any]) -> Any:
    """The VAE class a pipeline folder names (``vae/config.json``'s ``_class_name``): Wan's, or the toy codec."""
    from diffusers import AutoencoderKLWan

    config = Path(where) / "vae" / "config.json"
    if config.is_file():
        if json.loads(config.read_text()).get("_class_name") == "ToyPCACodec":
            from motionbench.toy.codec import ToyPCACodec

            return ToyPCACodec
    return AutoencoderKLWan


@contextlib.contextmanager
def _quiet_transformers():
    """No "Loading weights" progress bar from transformers (it would interleave with the run's own)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _load_pretrained(source: str, device: torch.device, dtype: torch.dtype) -> WanBackbone:
    from diffusers import WanTransformer3DModel
    from transformers import AutoTokenizer, UMT5EncoderModel

    local = Path(source).expanduser()
    is_local = local.exists() or source.startswith((".", "/", "~"))
    if is_local:
        if not local.is_dir():
            raise WeightsError(f"model folder {local} does not exist; get the weights with: {DOWNLOAD_HINT}")
        missing = [s for s in PIPELINE_SUBFOLDERS if not (local / s).is_dir()]
        if missing:
            raise WeightsError(f"model folder {local} lacks {', '.join(m + '/' for m in missing)} (expected the diffusers layout of "
                               f"{WAN_1_3B_HUB_ID}); get it with: {DOWNLOAD_HINT}")
        where, kwargs = str(local), {}
    else:
        where, kwargs = source, {"local_files_only": _offline()}
    try:
        transformer = WanTransformer3DModel.from_pretrained(where, subfolder="transformer", torch_dtype=dtype, **kwargs)
        vae = _vae_class(where, kwargs).from_pretrained(where, subfolder="vae", torch_dtype=torch.float32, **kwargs)
        with _quiet_transformers():
            text_encoder = UMT5EncoderModel.from_pretrained(where, subfolder="text_encoder", torch_dtype=dtype, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(where, subfolder="tokenizer", **kwargs)
    except Exception as exc:  # noqa: BLE001 - OSError offline, httpx/requests errors without a network, bad files
        if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
            raise
        offline = " (HF_HUB_OFFLINE is set)" if _offline() else ""
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(f"cannot load Wan weights from {source!r}{offline}: {first_line}\n"
                           f"Get them with: {DOWNLOAD_HINT}") from None
    # Wan pads prompts to 512 tokens; a pipeline whose tokenizer declares a shorter maximum (the toy
    # model's 16) uses that.
    max_length = min(512, int(getattr(tokenizer, "model_max_length", 512) or 512))
    return WanBackbone(transformer=transformer.to(device), vae=vae.to(device).eval(),
                       text_encoder=text_encoder.to(device).eval().requires_grad_(False), tokenizer=tokenizer,
                       name=source, device=device, dtype=dtype, max_text_length=max_length)


def load_backbone(model: str = "tiny", device: str | torch.device = "cpu", dtype: str | torch.dtype | None = "auto",
                  gradient_checkpointing: bool | None = None, seed: int = 0) -> WanBackbone:
    """Load or build a Wan2.1 T2V backbone (see module docstring for ``model``).

    Args:
        model: ``"tiny"``, ``"wan2.1-1.3b-random"``, a hub id or a local diffusers folder.
        device: torch device.
        dtype: transformer/text-encoder dtype: ``"auto"`` (bf16 on CUDA, else float32), ``"bf16"``,
            ``"fp16"``, ``"fp32"``. The VAE stays float32.
        gradient_checkpointing: default on for CUDA (the 1.3B model at 81 frames needs it), off on CPU.
        seed: seed of the random-weight configs.

    Raises:
        WeightsError: weights not found (offline, not cached, bad folder), with the fix.
        ConfigError: unknown dtype.
    """
    return resolve_backbone(model, SPECS, TRAINED, _build_random, _load_pretrained, device=device, dtype=dtype,
                            gradient_checkpointing=gradient_checkpointing, seed=seed)


def resolve_backbone(model: str, specs: dict[str, BackboneSpec], trained: dict[str, Any], build_random: Any,
                     load_pretrained: Any, *, device: str | torch.device, dtype: str | torch.dtype | None,
                     gradient_checkpointing: bool | None, seed: int) -> WanBackbone:
    """What :func:`load_backbone` and the VACE loader share: a named random config (``specs``), a model the
    project ships (``trained``: name -> folder) or a hub id / folder, then frozen, with frame-position RoPE
    and gradient checkpointing (default: on for CUDA)."""
    device = torch.device(device)
    torch_dtype = _torch_dtype(dtype, device)
    if model in specs:
        backbone = build_random(specs[model], device, torch_dtype, seed)
    elif model in trained:
        backbone = load_pretrained(str(trained[model]()), device, torch_dtype)
        backbone.name = model
    else:
        backbone = load_pretrained(model, device, torch_dtype)
    backbone.transformer.requires_grad_(False).eval()
    backbone.vae.requires_grad_(False)
    install_frame_position_rope(backbone.transformer)
    if gradient_checkpointing is None:
        gradient_checkpointing = device.type == "cuda"
    backbone.set_gradient_checkpointing(gradient_checkpointing)
    return backbone
