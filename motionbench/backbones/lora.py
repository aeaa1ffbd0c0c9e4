"""peft LoRA on Wan self-attention q/k/v, restricted to chosen attention heads.

Head ``h`` of a block owns output rows ``[h*d, (h+1)*d)`` of that block's ``attn1.to_q``,
``attn1.to_k`` and ``attn1.to_v`` (``d`` = head dim). :func:`add_head_lora` adds a named peft
adapter on those projections whose ``lora_B`` rows outside the owned heads are zero at creation,
have their gradient multiplied by a 0/1 row mask, and are re-zeroed after every optimizer step
(:meth:`HeadLoRA.project`), so ``delta W = scale * B A`` is exactly zero on rows of heads the
adapter does not own. Blocks that own no heads get no LoRA at all. With every head owned this is a
plain q/k/v LoRA (two-stage LoRA and MotionDirector baselines).

Note (Wan architecture): q and k are RMS-normalised across *all* heads of a block before the
split, so a LoRA on some heads' rows also rescales the other heads' q/k slightly through the shared
norm statistics; the weights of non-owned rows are nevertheless untouched.

Adapters are saved as safetensors (peft key names, adapter name stripped) plus a JSON sidecar
recording rank, alpha and the owned heads, and loaded back with :func:`load_lora`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from motionbench.errors import MotionBenchError

QKV = ("to_q", "to_k", "to_v")
LORA_FORMAT = "motionbench-head-lora/1"


@dataclass
class HeadLoRA:
    """A named LoRA adapter on some heads' q/k/v rows.

    Attributes:
        name: peft adapter name.
        heads_per_block: owned head indices for each block (``[]``: block not adapted).
        rank, alpha: LoRA rank and alpha (scale ``alpha / rank``).
        masks: ``lora_B`` weight -> ``[out, 1]`` 0/1 row mask (not saved; rebuilt from heads).
    """

    name: str
    heads_per_block: list[list[int]]
    rank: int
    alpha: float
    masks: list[tuple[nn.Parameter, torch.Tensor]] = field(default_factory=list, repr=False)
    _params: list[nn.Parameter] = field(default_factory=list, repr=False)

    def parameters(self) -> list[nn.Parameter]:
        """All LoRA A and B weights of this adapter (the trainable ones)."""
        return self._params

    @torch.no_grad()
    def project(self, _step: int | None = None) -> None:
        """Re-zero ``lora_B`` rows of non-owned heads (usable as ``train(after_step=...)``)."""
        for weight, mask in self.masks:
            weight.mul_(mask)

    def set_trainable(self, trainable: bool) -> None:
        for p in self._params:
            p.requires_grad_(trainable)


def _target_names(heads_per_block: Sequence[Sequence[int]]) -> list[str]:
    return [f"blocks.{b}.attn1.{proj}" for b, heads in enumerate(heads_per_block) if heads for proj in QKV]


def add_head_lora(transformer: nn.Module, name: str, heads_per_block: Sequence[Sequence[int]], *, rank: int,
                  alpha: float, init_seed: int = 0) -> HeadLoRA:
    """Add adapter ``name`` on the q/k/v rows of the given heads (see module docstring).

    Args:
        transformer: a ``WanTransformer3DModel``.
        heads_per_block: one list of head indices per block.
        rank, alpha: LoRA rank and alpha.
        init_seed: seed of ``lora_A``'s random initialisation (``lora_B`` starts at zero).

    Raises:
        MotionBenchError: wrong number of blocks, bad head index, or no head owned at all.
    """
    from peft import LoraConfig

    blocks = transformer.blocks
    num_heads = int(transformer.config.num_attention_heads)
    head_dim = int(transformer.config.attention_head_dim)
    if len(heads_per_block) != len(blocks):
        raise MotionBenchError(f"LoRA {name!r}: got head lists for {len(heads_per_block)} blocks, model has {len(blocks)}")
    heads_per_block = [sorted({int(h) for h in heads}) for heads in heads_per_block]
    for b, heads in enumerate(heads_per_block):
        bad = [h for h in heads if not 0 <= h < num_heads]
        if bad:
            raise MotionBenchError(f"LoRA {name!r}: block {b} names heads {bad}, the model has {num_heads} per block")
    targets = _target_names(heads_per_block)
    if not targets:
        raise MotionBenchError(f"LoRA {name!r} owns no attention head in any block; nothing to train")
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, init_lora_weights=True, lora_dropout=0.0)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        # Several named adapters on one model is the point here; peft warns about it regardless.
        warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
        torch.manual_seed(init_seed)
        transformer.add_adapter(config, adapter_name=name)

    lora = HeadLoRA(name=name, heads_per_block=heads_per_block, rank=rank, alpha=alpha)
    for b, heads in enumerate(heads_per_block):
        if not heads:
            continue
        attn = blocks[b].attn1
        for proj in QKV:
            layer = getattr(attn, proj)
            a_weight, b_weight = layer.lora_A[name].weight, layer.lora_B[name].weight
            # Train LoRA weights in float32 even on a bf16 model (peft casts the input to match).
            a_weight.data, b_weight.data = a_weight.data.float(), b_weight.data.float()
            mask = torch.zeros(b_weight.shape[0], 1, dtype=b_weight.dtype, device=b_weight.device)
            for h in heads:
                mask[h * head_dim:(h + 1) * head_dim] = 1
            # The hook keeps Adam's moments of masked rows at zero, so their update is exactly zero.
            b_weight.register_hook(lambda grad, m=mask: grad * m)
            lora.masks.append((b_weight, mask))
            lora._params.extend([a_weight, b_weight])
    lora.project()
    return lora


def lora_parameters(transformer: nn.Module, name: str) -> list[nn.Parameter]:
    """The A/B weights of adapter ``name``."""
    return [p for n, p in transformer.named_parameters() if f".{name}." in n and "lora_" in n]


def set_lora_scales(transformer: nn.Module, scales: dict[str, float]) -> None:
    """Activate exactly the adapters in ``scales`` with those multipliers (1.0 = trained strength).

    peft's activation marks active adapters trainable; this leaves every LoRA weight frozen
    (call :meth:`HeadLoRA.set_trainable` afterwards to train one).
    """
    transformer.set_adapters(list(scales), weights=[float(v) for v in scales.values()])
    for n, p in transformer.named_parameters():
        if "lora_" in n:
            p.requires_grad_(False)


def lora_state(transformer: nn.Module, lora: HeadLoRA) -> dict[str, torch.Tensor]:
    """Adapter weights as CPU float32 tensors under peft's adapter-free key names."""
    from peft.utils import get_peft_model_state_dict

    state = get_peft_model_state_dict(transformer, adapter_name=lora.name)
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state.items()}


def install_lora(transformer: nn.Module, name: str, heads_per_block: Sequence[Sequence[int]], rank: int, alpha: float,
                 state: dict[str, torch.Tensor], source: str = "state") -> HeadLoRA:
    """Add adapter ``name`` and load ``state`` (from :func:`lora_state`) into it, frozen.

    Raises:
        MotionBenchError: the weights do not fit the model (``source`` names where they came from).
    """
    from peft.utils import set_peft_model_state_dict

    lora = add_head_lora(transformer, name, heads_per_block, rank=rank, alpha=alpha)
    result = set_peft_model_state_dict(transformer, state, adapter_name=name)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    missing = [k for k in (getattr(result, "missing_keys", []) or []) if f".{name}." in k]
    if unexpected or missing:
        raise MotionBenchError(f"LoRA {source} does not fit the model: unexpected keys {unexpected[:3]}, "
                               f"missing {missing[:3]}; delete it to retrain")
    lora.project()
    lora.set_trainable(False)
    return lora


def remove_loras(transformer: nn.Module) -> None:
    """Delete every adapter from ``transformer`` (back to the base model)."""
    names = list(getattr(transformer, "peft_config", {}) or {})
    if names:
        transformer.delete_adapters(names)


def save_lora(transformer: nn.Module, lora: HeadLoRA, path: Path) -> None:
    """Write ``path`` (``.safetensors``) and ``path.with_suffix('.json')`` atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    meta = {"format": LORA_FORMAT, "name": lora.name, "rank": lora.rank, "alpha": lora.alpha,
            "heads_per_block": lora.heads_per_block}
    tmp = path.with_name(path.name + ".tmp")
    save_file(lora_state(transformer, lora), str(tmp), metadata={"format": LORA_FORMAT})
    tmp.replace(path)
    side = path.with_suffix(".json")
    tmp_side = side.with_name(side.name + ".tmp")
    tmp_side.write_text(json.dumps(meta, indent=1))
    tmp_side.replace(side)


def read_lora(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(metadata, weights) of a saved LoRA, without touching a model.

    Raises:
        MotionBenchError: missing or unreadable files, or an unknown format.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    side = path.with_suffix(".json")
    if not path.is_file() or not side.is_file():
        raise MotionBenchError(f"LoRA files missing: need {path} and {side}")
    try:
        meta = json.loads(side.read_text())
        state = load_file(str(path))
    except (OSError, ValueError, SafetensorError) as exc:  # a damaged file is SafetensorError, neither of the others
        raise MotionBenchError(f"cannot read LoRA {path}: {exc}; delete it to retrain") from None
    if meta.get("format") != LORA_FORMAT:
        raise MotionBenchError(f"{side}: format {meta.get('format')!r}, expected {LORA_FORMAT!r}")
    return meta, state


def load_lora(transformer: nn.Module, path: Path, name: str | None = None) -> HeadLoRA:
    """Re-create the adapter saved at ``path`` and load its weights (frozen)."""
    meta, state = read_lora(path)
    return install_lora(transformer, name or meta["name"], meta["heads_per_block"], int(meta["rank"]),
                        float(meta["alpha"]), state, source=str(path))
