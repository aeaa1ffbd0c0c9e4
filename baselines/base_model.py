"""``base``: the backbone itself, sampling from the prompt alone: the floor of every transfer method.

It never looks at the reference (``fit`` does nothing) and samples exactly as the Wan-based methods
do (the same working size, sampler and output mapping; :mod:`motionbench.methods.wan`), so any motion
fidelity a transfer method earns above ``base`` comes from its reference, and any appearance it loses
against ``base`` is the price of tuning. On the toy world (``preset=toy``) the backbone moves its
objects along motions of its own, drawn from its training distribution: ``base`` shows what chance
agreement with the reference's motion looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from motionbench.methods.base import GenerationRequest, Reference
from motionbench.methods.wan import TOY_SAMPLING, WanMethod, WanOptions


@dataclass
class BaseConfig(WanOptions):
    """Options of ``base`` (all shared; :mod:`motionbench.methods.wan`)."""

    def validate(self) -> None:
        self.check("base")


class BaseModel(WanMethod):
    """The untuned backbone (see module docstring)."""

    name = "base"
    Config = BaseConfig
    presets: ClassVar[dict[str, BaseConfig]] = {
        "tiny": BaseConfig(model="tiny", train_frames=17, pixels=64 * 64, sample_steps=4, guidance=3.0),
        "toy": BaseConfig(**TOY_SAMPLING),
        "paper": BaseConfig(),
    }

    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        return self.sample(reference, request)
