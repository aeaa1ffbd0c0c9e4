"""FYM stage 1: classify every self-attention head of the DiT as spatial or temporal.

The reference latent is noised at an almost-pure-noise level (by default the 2nd of 1000 shifted
flow-matching timesteps, shift 5, as in the released code: noise level ~0.9998) and run once through
the transformer with the prompt. For each head the softmax attention map ``A`` (``S x S`` over the
``S = F*h*w`` tokens in frame-major order) is compared with two 0/1 templates, built as the released
code builds them (``get_attention_mask`` in ``examples/wanvideo/Collect_attn_map.py``):

* spatial ``M_s[i, j] = 1`` iff ``|i // B - j // B| < (h*w) // B``: tokens are cut into blocks of
  ``B = 128`` and a block sees the blocks less than one frame's worth of blocks away, a band about
  one frame wide on each side of the diagonal, so mostly the same and the neighbouring frame;
* temporal ``M_t[i, j] = M_s[pi(i), pi(j)]``, the same band after re-ordering tokens position-major
  (``pi(f, p) = p*F + f``), so it links the same (and nearby) spatial locations across frames.

Both templates have the same number of ones, so ``w_s = sum(A * M_s)`` and ``w_t = sum(A * M_t)``
are comparable; they are reported divided by ``S`` (mean attention mass per query, in [0, 1]). A
head is temporal iff ``w_t >= alpha * w_s`` (alpha 1.25 in the paper, 1.3 in the released code);
the threshold was tuned on this geometry, which is why the band must be the released code's.
Models with fewer than ``B`` tokens a frame (the tiny and toy models) would get an empty band
(``(h*w) // B = 0``); for them ``B`` is cut to one frame's tokens, so the spatial template is the
frame's own block (a documented difference, see :mod:`fym`).

Maps are never materialised whole: scores are accumulated over chunks of queries inside a q/k
probe (:func:`motionbench.backbones.probe_self_attention`), so the 1.3B model at 81 frames
(S = 32760 tokens) fits. The scores are saved per reference as JSON and reused; the rule can be
re-applied with another alpha without a forward pass (:meth:`HeadScores.temporal_heads`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from motionbench.backbones import WanBackbone, add_noise, predict_velocity, probe_self_attention
from motionbench.backbones.flow import NUM_TRAIN_TIMESTEPS
from motionbench.errors import MotionBenchError

HEADS_FORMAT = "fym-head-scores/2"
#: Token block of the released code's templates.
BLOCK = 128
# Elements of one chunk of attention probabilities (heads x queries x keys): ~0.5 GiB in float32.
CHUNK_ELEMENTS = 1 << 27


@dataclass
class HeadScores:
    """Per-head template scores of one reference, and the rule that turns them into kinds.

    Attributes:
        spatial: ``w_s[block][head]``; temporal: ``w_t[block][head]`` (mean mass per query).
        alpha: the threshold used for :attr:`is_temporal`.
        sigma, timestep: the noise level / model timestep of the probing pass.
        latent_frames, tokens_per_frame: geometry of the templates; block: their token block
            (``min(128, tokens_per_frame)``), band ``tokens_per_frame // block`` blocks.
    """

    spatial: list[list[float]]
    temporal: list[list[float]]
    alpha: float
    sigma: float
    timestep: float
    latent_frames: int
    tokens_per_frame: int
    block: int

    def is_temporal(self, alpha: float | None = None) -> list[list[bool]]:
        """``w_t >= alpha * w_s`` per head (``alpha`` defaults to the stored one)."""
        a = self.alpha if alpha is None else alpha
        return [[wt >= a * ws for ws, wt in zip(bs, bt)] for bs, bt in zip(self.spatial, self.temporal)]

    def temporal_heads(self, alpha: float | None = None) -> list[list[int]]:
        return [[h for h, t in enumerate(block) if t] for block in self.is_temporal(alpha)]

    def spatial_heads(self, alpha: float | None = None) -> list[list[int]]:
        return [[h for h, t in enumerate(block) if not t] for block in self.is_temporal(alpha)]

    def counts(self, alpha: float | None = None) -> tuple[int, int]:
        """(spatial, temporal) head counts over all blocks."""
        flags = [t for block in self.is_temporal(alpha) for t in block]
        return len(flags) - sum(flags), sum(flags)

    def save(self, path: Path) -> None:
        data = {"format": HEADS_FORMAT, **asdict(self),
                "is_temporal": [[int(t) for t in block] for block in self.is_temporal()]}
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "HeadScores":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise MotionBenchError(f"cannot read head scores {path}: {exc}; delete it to recompute") from None
        if data.get("format") != HEADS_FORMAT:
            raise MotionBenchError(f"{path}: format {data.get('format')!r}, expected {HEADS_FORMAT!r}")
        data.pop("format")
        data.pop("is_temporal", None)
        return cls(**data)


def position_major_index(latent_frames: int, tokens_per_frame: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``pi[i]``: position-major rank of frame-major token ``i = f*hw + p``, i.e. ``p*F + f``."""
    i = torch.arange(latent_frames * tokens_per_frame, device=device)
    return (i % tokens_per_frame) * latent_frames + i // tokens_per_frame


def template_block(tokens_per_frame: int, block: int = BLOCK) -> int:
    """The token block of the templates: ``block``, or one frame's tokens when a frame has fewer."""
    if tokens_per_frame < 1 or block < 1:
        raise ValueError(f"need >= 1 token a frame and a block >= 1, got {tokens_per_frame} and {block}")
    return min(block, tokens_per_frame)


def band_mask(rows: torch.Tensor, cols: torch.Tensor, tokens_per_frame: int, block: int) -> torch.Tensor:
    """The spatial template ``M_s[rows][:, cols]`` (0/1 float): ``|i // B - j // B| < (h*w) // B``."""
    width = tokens_per_frame // block
    return ((rows[:, None] // block - cols[None, :] // block).abs() < width).float()


def template_scores(query: torch.Tensor, key: torch.Tensor, latent_frames: int, tokens_per_frame: int,
                    block: int = BLOCK) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of each head's softmax attention inside the spatial and temporal templates.

    Args:
        query, key: ``[B, S, H, D]`` (after norm and RoPE), tokens frame-major.
        latent_frames, tokens_per_frame: ``F`` and ``h*w`` with ``S = F*h*w``.
        block: the templates' token block (cut to ``tokens_per_frame`` by :func:`template_block`).

    Returns:
        ``(w_s, w_t)``, each ``[H]`` float32: attention mass in the template summed over queries and
        batch, divided by ``B*S``.
    """
    b, s, h, d = query.shape
    if s != latent_frames * tokens_per_frame:
        raise ValueError(f"{s} tokens do not match {latent_frames} frames x {tokens_per_frame} tokens")
    block = template_block(tokens_per_frame, block)
    q = query.transpose(1, 2).float()  # [B, H, S, D]
    k = key.transpose(1, 2).float()
    scale = d ** -0.5
    pi = position_major_index(latent_frames, tokens_per_frame, query.device)
    idx = torch.arange(s, device=query.device)
    w_s = torch.zeros(h, device=query.device)
    w_t = torch.zeros(h, device=query.device)
    chunk = max(1, CHUNK_ELEMENTS // (b * h * s))
    for start in range(0, s, chunk):
        stop = min(s, start + chunk)
        probs = torch.softmax(q[:, :, start:stop] @ k.transpose(-1, -2) * scale, dim=-1)  # [B, H, c, S]
        m_s = band_mask(idx[start:stop], idx, tokens_per_frame, block)
        m_t = band_mask(pi[start:stop], pi, tokens_per_frame, block)
        w_s += torch.einsum("bhqk,qk->h", probs, m_s)
        w_t += torch.einsum("bhqk,qk->h", probs, m_t)
    return w_s / (b * s), w_t / (b * s)


def classification_sigma(timestep_index: int = 1, shift: float = 5.0) -> tuple[float, float]:
    """(noise level, model timestep) of the ``timestep_index``-th of 1000 shifted sampling steps."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    if not 0 <= timestep_index < NUM_TRAIN_TIMESTEPS:
        raise MotionBenchError(f"classify_timestep_index must be in [0, {NUM_TRAIN_TIMESTEPS}), got {timestep_index}")
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=shift)
    scheduler.set_timesteps(NUM_TRAIN_TIMESTEPS)
    sigma = float(scheduler.sigmas[timestep_index])  # index 1 with shift 5: 0.99980
    return sigma, sigma * NUM_TRAIN_TIMESTEPS


@torch.no_grad()
def classify_heads(backbone: WanBackbone, latents: torch.Tensor, prompt_embeds: torch.Tensor, *, alpha: float = 1.25,
                   timestep_index: int = 1, shift: float = 5.0, block: int = BLOCK, seed: int = 0) -> HeadScores:
    """Score and classify every self-attention head on the reference ``latents`` (see module doc).

    Args:
        latents: reference latents ``[1, C, F, h, w]``.
        prompt_embeds: ``[1, L, D]``.
        alpha: temporal iff ``w_t >= alpha * w_s``.
        timestep_index, shift: which of 1000 shifted timesteps to noise at.
        block: the templates' token block (128 in the released code).
        seed: seed of the probing noise.
    """
    transformer = backbone.transformer
    p_t, p_h, p_w = transformer.config.patch_size
    _, _, f, hh, ww = latents.shape
    frames, tokens_per_frame = f // p_t, (hh // p_h) * (ww // p_w)
    block = template_block(tokens_per_frame, block)
    sigma, timestep = classification_sigma(timestep_index, shift)
    noise = torch.randn(latents.shape, generator=torch.Generator("cpu").manual_seed(seed)).to(latents.device)
    x_t = add_noise(latents.float(), noise, torch.tensor([sigma]))
    ws: dict[int, torch.Tensor] = {}
    wt: dict[int, torch.Tensor] = {}

    def record(index: int, query: torch.Tensor, key: torch.Tensor) -> None:
        ws[index], wt[index] = template_scores(query, key, frames, tokens_per_frame, block)

    with probe_self_attention(transformer, record):
        predict_velocity(backbone, x_t, torch.tensor([sigma]), prompt_embeds)
    order = range(len(transformer.blocks))
    return HeadScores(spatial=[ws[i].tolist() for i in order], temporal=[wt[i].tolist() for i in order],
                      alpha=float(alpha), sigma=sigma, timestep=timestep, latent_frames=frames,
                      tokens_per_frame=tokens_per_frame, block=block)
