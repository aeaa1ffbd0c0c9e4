"""Attention Motion Flow (AMF), DiTFlow's motion descriptor, from a DiT block's queries and keys.

For a pair of latent frames ``(i, j)``, every token of frame ``i`` attends over the tokens of frame
``j``; the attention-weighted mean of their grid positions minus the token's own position is where
that token "moves" from ``i`` to ``j``: an expected displacement (a soft argmax), in token units
``(dx, dy)``. Following DiTFlow:

* the logits are ``q_i . k_j / sqrt(d)`` averaged over heads (the same as one dot product over the
  concatenated heads, divided by ``heads * sqrt(d)``), multiplied by a temperature (2 in DiTFlow)
  and softmaxed over frame ``j``'s tokens only;
* the reference's AMF uses the hard argmax (``hard=True``), the generated video's the soft one
  (differentiable);
* the loss is the MSE between the two over the entries where the reference moves (non-zero
  displacement), so static background does not pull the generated motion to zero.

Pairs are every ordered frame pair (``"all"``, DiTFlow's code) or consecutive frames
(``"adjacent"``, ``t -> t+1``). Tokens are in Wan's frame-major order ``(frame, row, column)``.
Memory: the ``hw x hw`` attention of one source frame exists at a time; with gradients each source
frame is recomputed in the backward pass rather than stored.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch
from torch.utils.checkpoint import checkpoint

FramePairs = Literal["all", "adjacent"]


def frame_pairs(num_frames: int, kind: FramePairs) -> list[tuple[int, int]]:
    """The ``(source, target)`` latent-frame pairs an AMF covers."""
    if kind == "all":
        return [(i, j) for i in range(num_frames) for j in range(num_frames)]
    if kind == "adjacent":
        return [(t, t + 1) for t in range(num_frames - 1)]
    raise ValueError(f"unknown frame pairs {kind!r}; choose all or adjacent")


def token_positions(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """``[height * width, 2]`` float ``(x, y)`` grid positions in row-major token order."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=-1).float()


def _source_flow(q_i: torch.Tensor, k_targets: torch.Tensor, positions: torch.Tensor, temperature: float,
                 hard: bool) -> torch.Tensor:
    """Displacements of frame ``i``'s tokens towards each target frame: ``[n_targets, hw, 2]``."""
    logits = torch.einsum("sc,ntc->nst", q_i, k_targets)  # [n_targets, hw, hw]
    if hard:
        return positions[logits.argmax(dim=-1)] - positions
    weights = torch.softmax(logits * temperature, dim=-1)
    return weights @ positions - positions


def attention_motion_flow(query: torch.Tensor, key: torch.Tensor, grid: tuple[int, int, int],
                          pairs: Sequence[tuple[int, int]], *, temperature: float = 2.0,
                          hard: bool = False) -> torch.Tensor:
    """AMF of one video from a block's post-RoPE query and key.

    Args:
        query, key: ``[S, heads, d]`` or ``[1, S, heads, d]`` (the toolkit's probe gives the latter),
            ``S = F * h * w`` tokens in frame-major order.
        grid: ``(F, h, w)`` token grid (latent frames, patch rows, patch columns).
        pairs: ``(source, target)`` frame pairs, e.g. from :func:`frame_pairs`.
        temperature: multiplies the head-averaged logits before the softmax.
        hard: argmax instead of soft argmax (not differentiable; DiTFlow's reference AMF).

    Returns:
        ``[len(pairs), h * w, 2]`` float32 displacements ``(dx, dy)`` in tokens.
    """
    if query.ndim == 4:
        if query.shape[0] != 1 or key.shape[0] != 1:
            raise ValueError(f"AMF takes one video at a time, got batch {query.shape[0]}")
        query, key = query[0], key[0]
    f, h, w = grid
    s, heads, d = query.shape
    if s != f * h * w:
        raise ValueError(f"{s} tokens do not fill a {f}x{h}x{w} grid")
    scale = 1.0 / (heads * math.sqrt(d))
    q = (query.float() * scale).reshape(f, h * w, heads * d)
    k = key.float().reshape(f, h * w, heads * d)
    positions = token_positions(h, w, query.device)
    by_source: dict[int, list[int]] = {}
    for i, j in pairs:
        by_source.setdefault(i, []).append(j)
    flows: dict[tuple[int, int], torch.Tensor] = {}
    for i, targets in by_source.items():
        k_targets = k[targets]
        if torch.is_grad_enabled() and not hard and (q.requires_grad or k.requires_grad):
            out = checkpoint(_source_flow, q[i], k_targets, positions, temperature, hard, use_reentrant=False)
        else:
            out = _source_flow(q[i], k_targets, positions, temperature, hard)
        for n, j in enumerate(targets):
            flows[(i, j)] = out[n]
    return torch.stack([flows[p] for p in pairs])


def amf_loss(flow: torch.Tensor, reference: torch.Tensor, ignore_static: bool = True) -> torch.Tensor:
    """MSE between a video's AMF and the reference's, over the reference's moving entries.

    ``ignore_static``: only entries whose reference displacement is non-zero count (DiTFlow's
    thresholded loss); when nothing moves in the reference, every entry counts.
    """
    if flow.shape != reference.shape:
        raise ValueError(f"AMF shapes differ: {tuple(flow.shape)} vs reference {tuple(reference.shape)}")
    reference = reference.to(flow)
    if ignore_static:
        moving = reference.norm(dim=-1) > 0
        if bool(moving.any()):
            return (flow[moving] - reference[moving]).pow(2).mean()
    return (flow - reference).pow(2).mean()
