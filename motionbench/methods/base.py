"""The adapter interface every motion-transfer method implements (and what all methods share).

A method has two phases, timed and memory-measured separately by the runner:

``fit(reference, workdir) -> state``
    Per-reference work (LoRA tuning, feature extraction). Called once per (method, sample); the
    runner saves the state with :meth:`Method.save_state` and reuses it on reruns through
    :meth:`Method.load_state`. Training-free methods return ``None`` (the default).

``generate(state, request) -> frames``
    One video per (prompt, seed): ``uint8 [T, H, W, 3]`` with ``T == request.num_frames`` and
    ``(W, H) == request.size``. It must be deterministic given the seed.

Options are a typed dataclass (``Config``) built from defaults, a preset and ``key=value``
overrides by :func:`motionbench.methods.config.build_config`.

Example::

    @dataclass
    class MyConfig:
        strength: float = 0.5

    class MyMethod(Method):
        name = "mine"
        summary = "Blends the reference with noise."
        Config = MyConfig

        def generate(self, state, request):
            ...
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from motionbench.tasks import MOTION_TRANSFER
from motionbench.video import Clip


@dataclass(frozen=True)
class Reference:
    """The reference video a method transfers motion from.

    ``key`` identifies the clip's content (a hash of its frames, and of its caption when it has one);
    fitted states are cached by it. ``prompts`` are all the prompts the sample will be generated with
    (some methods fit on them). ``caption`` says what the clip shows, when the manifest (or the toy
    world) knows it; methods may train with it (``train_prompt={caption}``).
    """

    sample_id: str
    category: str
    clip: Clip
    prompts: tuple[str, ...]
    box: tuple[float, float, float, float] | None = None
    key: str = ""
    caption: str | None = None

    @staticmethod
    def content_key(clip: Clip, caption: str | None = None) -> str:
        h = hashlib.sha256()
        h.update(np.asarray(clip.frames.shape, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(clip.frames).tobytes())
        h.update(repr(float(clip.fps)).encode())
        if caption is not None:  # a state fitted with one caption is not another caption's
            h.update(b"\x00caption\x00" + caption.encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    seed: int
    num_frames: int
    size: tuple[int, int]  # (width, height)
    fps: float
    prompt_index: int = 0


class MethodBase(ABC):
    """What every method shares, whatever its task: name, typed options, presets, fitted states.

    The entry-point registry (:mod:`motionbench.methods.registry`) holds subclasses of this class;
    each task has its own interface below it: :class:`Method` (motion transfer) and
    :class:`motionbench.recapture.task.RecaptureMethod` (recapture). ``tasks`` names the tasks a
    class serves; a motion-transfer anchor that ignores what it is asked for may serve recapture
    too (the runner then gives it the source clip as its reference; see
    :class:`motionbench.recapture.task.OnSource`).
    """

    name: ClassVar[str]
    # One line for `motionbench methods`; read only when the entry point names the class itself
    # rather than a PluginSpec (which carries the summary without importing the class).
    summary: ClassVar[str] = ""
    Config: ClassVar[type]
    #: Named configurations: ``Config`` instances (see :mod:`motionbench.methods.config`).
    presets: ClassVar[dict[str, Any]] = {}
    #: True when fit() does real work worth caching (tuning); False for training-free methods.
    fits: ClassVar[bool] = False
    #: Options that only change ``generate`` (sampling steps, guidance...): changing them never refits.
    sampling_options: ClassVar[frozenset[str]] = frozenset()
    #: Version of the fitted state's layout or meaning; bump it and old cached states are not reused.
    fit_format: ClassVar[str] = ""
    #: The tasks this class serves (:mod:`motionbench.tasks`).
    tasks: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any, device: str = "cpu") -> None:
        self.config = config
        self.device = device

    def save_state(self, state: Any, directory: Path) -> None:
        """Persist a fitted state into ``directory`` (already created). Default: nothing to save."""

    def load_state(self, directory: Path) -> Any:
        """Inverse of :meth:`save_state`."""
        return None

    def state_key(self) -> str:
        """What a fitted state depends on besides the reference: the method, its state format and
        every option except :attr:`sampling_options` (so changing e.g. the sampling steps never refits)."""
        cfg = self.config
        items = sorted((f.name, repr(getattr(cfg, f.name))) for f in fields(cfg)
                       if f.name not in self.sampling_options) if cfg is not None else []
        return hashlib.sha256(repr((self.name, self.fit_format, items)).encode()).hexdigest()[:16]

    def close(self) -> None:
        """Release models and memory; called once the runner is done with the method."""


class Method(MethodBase):
    """Base class of motion-transfer methods (see module docstring)."""

    tasks: ClassVar[tuple[str, ...]] = (MOTION_TRANSFER,)

    def fit(self, reference: Reference, workdir: Path) -> Any:
        """Per-reference work; ``workdir`` is an empty scratch folder. Default: nothing to fit."""
        return None

    @abstractmethod
    def generate(self, state: Any, reference: Reference, request: GenerationRequest) -> np.ndarray:
        """Return ``uint8 [request.num_frames, H, W, 3]`` with ``(W, H) == request.size``."""
