"""Observe Wan self-attention queries and keys without editing diffusers.

:func:`probe_self_attention` swaps the processor of chosen blocks' self-attention (``attn1``) for a
:class:`QKProbeProcessor` through diffusers' attention-processor API. The probe computes the same
output as diffusers' ``WanAttnProcessor`` (same projections, so LoRA layers apply; same q/k RMS
norm and rotary embedding; scaled-dot-product attention) and hands the post-RoPE query and key,
``[B, S, heads, head_dim]`` with tokens in frame-major order ``(frame, row, column)``, to a
callback. Methods build what they need from them: FYM's per-head attention-map scores, DiTFlow's
attention motion flow. Full ``S x S`` maps are never stored by the probe itself.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: callback(block_index, query, key) with query/key ``[B, S, heads, head_dim]`` after norm + RoPE.
QKCallback = Callable[[int, torch.Tensor, torch.Tensor], None]


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # Interleaved-pair rotation, the layout Wan's rotary tables use.
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    cos, sin = cos[..., 0::2], sin[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out.type_as(x)


class QKProbeProcessor:
    """Self-attention processor equivalent to Wan's, reporting q and k to ``callback``."""

    def __init__(self, block_index: int, callback: QKCallback) -> None:
        self.block_index = block_index
        self.callback = callback

    def __call__(self, attn: nn.Module, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None,
                 rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None, **_: object) -> torch.Tensor:
        if encoder_hidden_states is not None:
            raise ValueError("QKProbeProcessor is for self-attention (attn1) only")
        query = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1))
        key = attn.norm_k(attn.to_k(hidden_states)).unflatten(2, (attn.heads, -1))
        value = attn.to_v(hidden_states).unflatten(2, (attn.heads, -1))
        if rotary_emb is not None:
            query, key = _rotate(query, *rotary_emb), _rotate(key, *rotary_emb)
        self.callback(self.block_index, query, key)
        out = F.scaled_dot_product_attention(query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2),
                                             attn_mask=attention_mask)
        out = out.transpose(1, 2).flatten(2, 3).type_as(query)
        return attn.to_out[1](attn.to_out[0](out))


@contextlib.contextmanager
def probe_self_attention(transformer: nn.Module, callback: QKCallback,
                         blocks: Sequence[int] | None = None) -> Iterator[None]:
    """Within the block, ``callback`` sees every probed block's self-attention q and k.

    Args:
        transformer: a ``WanTransformer3DModel`` (possibly with LoRA layers).
        callback: called as ``callback(block_index, query, key)`` during each forward pass.
        blocks: block indices to probe (default: all).
    """
    indices = range(len(transformer.blocks)) if blocks is None else blocks
    saved = {}
    try:
        for i in indices:
            attn = transformer.blocks[i].attn1
            saved[i] = attn.processor
            attn.set_processor(QKProbeProcessor(i, callback))
        yield
    finally:
        for i, processor in saved.items():
            transformer.blocks[i].attn1.set_processor(processor)
