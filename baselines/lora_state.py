"""The fitted state of the LoRA baselines: adapter weights in memory, on disk and installed.

A :class:`LoRAState` holds each trained adapter (its heads, rank, alpha and CPU float32 weights
under peft's adapter-free key names) plus an ``info`` dict of what fitting measured. On disk it is
one folder::

    state.json                  format, reference key, state key, info
    <adapter>.safetensors/.json each adapter in the toolkit's LoRA format (motionbench.backbones.lora)

:meth:`LoRAState.activate` installs the adapters into a transformer (replacing any others) and
sets their sampling scales; it is a no-op when the same state is already installed.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from motionbench.errors import MotionBenchError


@contextlib.contextmanager
def several_adapters() -> Iterator[None]:
    """Silence peft's warning that a model gets a second adapter: the baselines mean to have two."""
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
    def capture(cls, transformer: Any, loras: list[Any], format: str, info: dict[str, Any]) -> "LoRAState":
        """Copy the weights of the trained :class:`~motionbench.backbones.lora.HeadLoRA` adapters."""
        from motionbench.backbones.lora import lora_state

        adapters = {lora.name: AdapterWeights(heads_per_block=[list(h) for h in lora.heads_per_block],
                                              rank=int(lora.rank), alpha=float(lora.alpha),
                                              tensors=lora_state(transformer, lora)) for lora in loras}
        return cls(format=format, adapters=adapters, info=info)

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
