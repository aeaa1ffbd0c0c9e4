"""The toy model's video codec: a fixed linear space-time code fitted by PCA, in place of Wan's VAE.

Wan2.1's VAE compresses a ``4k+1``-frame clip by 4 in time (the first frame on its own) and by 8 in
space. The toy world's clips are 32 x 32 pixels, flat-coloured and simple, so the toy model uses a
*pixel-space variant* with the same layout: each latent frame holds 4 video frames (the first latent
frame holds frame 0, repeated, as Wan's causal padding does), cut into 4 x 4-pixel blocks; each
``4 x 4 x 4 x 3 = 192``-value block is projected on the first ``C`` principal components of such
blocks in toy clips (mean removed). Encoding is that projection, decoding its transpose: no
learned nonlinearity, no variational posterior (``latent_dist.mode()`` is the projection itself).
It keeps the transformer's token count at 64 per latent frame while every token carries a whole
4-frame block, and it reconstructs toy clips at 30-37 dB PSNR with 48 components.

The class follows the small part of ``diffusers.AutoencoderKLWan``'s interface that MotionBench
uses (``encode(x).latent_dist.mode()``, ``decode(z, return_dict=False)[0]``, ``config.z_dim``,
``scale_factor_temporal``/``scale_factor_spatial``, ``latents_mean``/``latents_std``), is a diffusers
``ModelMixin``/``ConfigMixin`` (``save_pretrained``/``from_pretrained``, safetensors) and is found by
the backbone loader from ``vae/config.json``'s ``_class_name``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin


@dataclass
class _Posterior:
    """What ``encode(...).latent_dist`` returns: a point mass (the code is deterministic)."""

    z: torch.Tensor

    def mode(self) -> torch.Tensor:
        return self.z

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.z


@dataclass
class _EncoderOutput:
    latent_dist: _Posterior


class ToyPCACodec(ModelMixin, ConfigMixin):
    """Linear space-time block codec (see the module docstring).

    Args:
        z_dim: number of principal components kept (latent channels).
        block: block side in pixels (the spatial factor).
        frames_per_latent: video frames per latent frame (the temporal factor).
        latents_mean, latents_std: per-channel statistics the backbone normalises latents with
            (as for Wan's VAE); the PCA coefficients have mean 0 and std sqrt(eigenvalue).
    """

    @register_to_config
    def __init__(self, z_dim: int = 48, block: int = 4, frames_per_latent: int = 4,
                 latents_mean: list[float] | None = None, latents_std: list[float] | None = None,
                 scale_factor_spatial: int | None = None, scale_factor_temporal: int | None = None) -> None:
        super().__init__()
        dims = frames_per_latent * block * block * 3
        if not 1 <= z_dim <= dims:
            raise ValueError(f"z_dim must be in [1, {dims}] for {block}x{block} blocks of {frames_per_latent} frames")
        self.register_to_config(scale_factor_spatial=block, scale_factor_temporal=frames_per_latent,
                                latents_mean=list(latents_mean or [0.0] * z_dim),
                                latents_std=list(latents_std or [1.0] * z_dim))
        self.register_buffer("mean", torch.zeros(dims))
        self.register_buffer("basis", torch.eye(dims)[:, :z_dim].clone())  # [dims, z_dim], orthonormal columns

    # -- fitting ----------------------------------------------------------------------------------
    @classmethod
    def fit(cls, clips: list[np.ndarray], z_dim: int = 48, block: int = 4, frames_per_latent: int = 4) -> "ToyPCACodec":
        """PCA of the blocks of ``clips`` (each ``uint8 [4k+1, H, W, 3]``)."""
        codec = cls(z_dim=z_dim, block=block, frames_per_latent=frames_per_latent)
        rows = torch.cat([codec._blocks(torch.from_numpy(c).permute(3, 0, 1, 2)[None].double() / 127.5 - 1)
                          .reshape(-1, codec.mean.numel()) for c in clips])
        mean = rows.mean(dim=0)
        cov = torch.cov((rows - mean).T)
        evals, evecs = torch.linalg.eigh(cov)
        order = torch.argsort(evals, descending=True)[:z_dim]
        basis = evecs[:, order]
        # A fixed sign per component (largest entry positive), so refits on the same data agree.
        basis = basis * torch.sign(basis.gather(0, basis.abs().argmax(dim=0, keepdim=True)))
        codec.mean.copy_(mean.float())
        codec.basis.copy_(basis.float())
        std = evals[order].clamp(min=1e-12).sqrt()
        codec.register_to_config(latents_std=[float(s) for s in std], latents_mean=[0.0] * z_dim)
        return codec

    # -- layout -------------------------------------------------------------------------------------
    def _blocks(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, 4k+1, H, W]`` -> ``[B, k+1, H/b, W/b, 4*b*b*3]`` (frame 0 repeated to fill latent 0)."""
        b, f = self.config.block, self.config.frames_per_latent
        n, c, t, h, w = x.shape
        if (t - 1) % f or h % b or w % b:
            raise ValueError(f"the toy codec needs {f}k+1 frames and sides divisible by {b}, got {t} x {h} x {w}")
        x = torch.cat([x[:, :, :1].expand(n, c, f, h, w), x[:, :, 1:]], dim=2)  # [B, 3, 4(k+1), H, W]
        lat = x.shape[2] // f
        x = x.reshape(n, c, lat, f, h // b, b, w // b, b)
        return x.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(n, lat, h // b, w // b, f * b * b * c)

    def _unblocks(self, rows: torch.Tensor) -> torch.Tensor:
        b, f = self.config.block, self.config.frames_per_latent
        n, lat, hb, wb, _ = rows.shape
        x = rows.reshape(n, lat, hb, wb, f, b, b, 3).permute(0, 7, 1, 4, 2, 5, 3, 6)
        x = x.reshape(n, 3, lat * f, hb * b, wb * b)
        first = x[:, :, :f].mean(dim=2, keepdim=True)  # latent 0 stands for frame 0 alone
        return torch.cat([first, x[:, :, f:]], dim=2)

    # -- the AutoencoderKLWan-like interface ----------------------------------------------------------
    def encode(self, x: torch.Tensor, return_dict: bool = True):
        """``[B, 3, 4k+1, H, W]`` in ``[-1, 1]`` -> latents ``[B, z_dim, k+1, H/b, W/b]``."""
        rows = self._blocks(x.to(self.basis.dtype))
        z = (rows - self.mean) @ self.basis
        z = z.permute(0, 4, 1, 2, 3).contiguous()
        return _EncoderOutput(_Posterior(z)) if return_dict else (_Posterior(z),)

    def decode(self, z: torch.Tensor, return_dict: bool = True):
        """Latents ``[B, z_dim, F, h, w]`` -> video ``[B, 3, 4(F-1)+1, b*h, b*w]`` (not clamped)."""
        rows = z.to(self.basis.dtype).permute(0, 2, 3, 4, 1) @ self.basis.T + self.mean
        video = self._unblocks(rows)
        if return_dict:
            from diffusers.models.autoencoders.vae import DecoderOutput

            return DecoderOutput(sample=video)
        return (video,)
