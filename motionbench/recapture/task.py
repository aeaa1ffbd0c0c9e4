"""The recapture task's records and method interface: a source clip, a request, a re-rendering.

A *sample* of the task is a source clip plus target camera paths. A method fits once per source
clip (:meth:`RecaptureMethod.fit`: per-video tuning; nothing for training-free methods) and
generates once per (path, seed) (:meth:`RecaptureMethod.generate`). A method may hand something
to the next path of the same source through :attr:`Recapture.context` (FYC's temporal packing
passes the most-inpainted frames of one trajectory to the next).

:class:`RecaptureMethod` shares :class:`motionbench.methods.base.MethodBase` with the
motion-transfer interface (typed ``Config``, presets, ``save_state``/``load_state``,
``state_key``), so recapture methods live in the same entry-point registry and run through the
same runner. When a method hands contexts along (:meth:`RecaptureMethod.chains_paths`), the
runner generates the paths of one (source, seed) in manifest order and keeps each context
(:meth:`~RecaptureMethod.save_context`), so a resumed or sharded run gives what one uninterrupted
run gives. :class:`OnSource` runs a motion-transfer anchor that serves this task too on the source
clip (``reference``: the source unchanged).
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from motionbench.backbones.frames import resize_frames
from motionbench.errors import ConfigError
from motionbench.methods.base import MethodBase
from motionbench.recapture.depth import check_depth
from motionbench.recapture.trajectory import CameraPath
from motionbench.tasks import RECAPTURE


@dataclass(frozen=True)
class SourceClip:
    """The monocular video to re-render, with its camera and (when known) its depth.

    Attributes:
        sample_id: the manifest's id.
        frames: uint8 ``[T, H, W, 3]``.
        fps: frames per second.
        intrinsics: ``[3, 3]`` (:func:`motionbench.recapture.cameras.intrinsics` for real clips).
        depth: float32 ``[T, H, W]`` or None (a method then needs a depth estimator).
        depth_backend: where ``depth`` came from (``exact`` for synthetic scenes, an estimator id).
        prompts: captions of the sample (for prompt-conditioned methods and CLIP metrics).
    """

    sample_id: str
    frames: np.ndarray
    fps: float
    intrinsics: np.ndarray
    depth: np.ndarray | None = None
    depth_backend: str = ""
    prompts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        f = self.frames
        if f.ndim != 4 or f.shape[-1] != 3 or f.dtype != np.uint8:
            raise ConfigError(f"source {self.sample_id}: frames must be uint8 [T, H, W, 3], got {f.dtype} {tuple(f.shape)}")
        if np.asarray(self.intrinsics).shape != (3, 3):
            raise ConfigError(f"source {self.sample_id}: intrinsics must be [3, 3], got {np.shape(self.intrinsics)}")
        if self.depth is not None:
            check_depth(self.depth, f, f"source {self.sample_id}: depth")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    @property
    def key(self) -> str:
        """Content hash of frames, depth and intrinsics: fitted states are cached by it."""
        h = hashlib.sha256()
        for part in (self.frames, self.depth if self.depth is not None else np.zeros(0), self.intrinsics):
            a = np.ascontiguousarray(part)
            h.update(str(a.dtype).encode() + np.asarray(a.shape, np.int64).tobytes() + a.tobytes())
        h.update(repr(float(self.fps)).encode())
        return h.hexdigest()[:16]

    def with_depth(self, depth: np.ndarray, backend: str) -> "SourceClip":
        return SourceClip(self.sample_id, self.frames, self.fps, self.intrinsics, check_depth(depth, self.frames),
                          backend, self.prompts)

    def require_depth(self) -> np.ndarray:
        if self.depth is None:
            raise ConfigError(f"source {self.sample_id} has no depth; estimate it first (motionbench.recapture.depth)")
        return self.depth


def resize_source(source: SourceClip, size: tuple[int, int]) -> SourceClip:
    """The clip at ``size`` (width, height): cover, centre-crop, intrinsics adjusted to match.

    Frames use :func:`motionbench.backbones.frames.resize_frames`; depth is resampled with the same
    geometry by nearest neighbour (interpolating across a silhouette would invent floating points).
    """
    w, h = size
    if (w, h) == source.size:
        return source
    src_w, src_h = source.size
    scale = max(h / src_h, w / src_w)
    nh, nw = max(h, round(src_h * scale)), max(w, round(src_w * scale))
    top, left = (nh - h) // 2, (nw - w) // 2
    sx, sy = nw / src_w, nh / src_h
    k = np.array(source.intrinsics, dtype=np.float64)
    k2 = np.array([[k[0, 0] * sx, 0.0, (k[0, 2] + 0.5) * sx - 0.5 - left],
                   [0.0, k[1, 1] * sy, (k[1, 2] + 0.5) * sy - 0.5 - top], [0.0, 0.0, 1.0]])
    depth = None
    if source.depth is not None:
        d = torch.from_numpy(np.asarray(source.depth, np.float32)).unsqueeze(1)
        d = F.interpolate(d, size=(nh, nw), mode="nearest-exact")[:, 0, top:top + h, left:left + w]
        depth = d.contiguous().numpy()
    return SourceClip(source.sample_id, resize_frames(source.frames, h, w), source.fps, k2, depth,
                      source.depth_backend, source.prompts)


def pad_frames(array: np.ndarray, count: int) -> np.ndarray:
    """``array`` (frames first) extended to ``count`` frames by repeating its last frame."""
    if len(array) >= count:
        return array[:count]
    return np.concatenate([array, np.repeat(array[-1:], count - len(array), axis=0)])


@dataclass(frozen=True)
class RecaptureRequest:
    """One re-rendering to make: ``path`` with ``seed``; ``size`` (width, height) defaults to the source's."""

    path: CameraPath
    seed: int = 0
    prompt: str = ""
    size: tuple[int, int] | None = None
    path_index: int = 0


@dataclass
class Recapture:
    """A method's re-rendering.

    Attributes:
        frames: uint8 ``[T, H, W, 3]``.
        visible: bool ``[T, H, W]``: what the method took from the source (its warp mask), when it
            has one.
        context: what the method hands the next path of the same source (or None).
        info: small facts for the generation record (e.g. ``{"packed_frames": 4}``).
    """

    frames: np.ndarray
    visible: np.ndarray | None = None
    context: Any = None
    info: dict[str, Any] | None = None


class RecaptureMethod(MethodBase):
    """Base class of recapture methods (see the module docstring).

    ``fit(source, workdir)`` runs once per source clip (cached by ``(state_key(), source.key)``);
    ``generate`` once per (path, seed) and must be deterministic given the seed and the context.
    """

    tasks: ClassVar[tuple[str, ...]] = (RECAPTURE,)
    #: Whether ``generate`` lifts the source with its depth (real clips then get an estimated one).
    needs_depth: ClassVar[bool] = True

    def fit(self, source: SourceClip, workdir: Path) -> Any:
        """Per-source work (``workdir``: an empty scratch folder). Default: nothing."""
        return None

    @abstractmethod
    def generate(self, state: Any, source: SourceClip, request: RecaptureRequest, context: Any = None) -> Recapture:
        """Re-render ``source`` along ``request.path``; ``context`` is the previous path's ``Recapture.context``."""

    def chains_paths(self) -> bool:
        """Whether path *i* of a source depends on path *i - 1*'s ``Recapture.context`` (default: no)."""
        return False

    def save_context(self, context: Any, directory: Path) -> None:
        """Persist a ``Recapture.context`` into ``directory`` (created); needed when :meth:`chains_paths`."""
        raise NotImplementedError(f"{self.name} chains paths but cannot save their context")

    def load_context(self, directory: Path) -> Any:
        """Inverse of :meth:`save_context`."""
        raise NotImplementedError(f"{self.name} chains paths but cannot load their context")


class OnSource(RecaptureMethod):
    """A motion-transfer method that serves this task too, run with the source clip as its reference.

    Only methods that ignore what they are asked to transfer may declare the recapture task (the
    ``reference`` anchor): they see the source clip, the sample's prompt and the seed, and must
    return the source's frame count at its size.
    """

    needs_depth = False

    def __init__(self, method: Any) -> None:
        super().__init__(method.config, method.device)
        self.method = method
        self.name = method.name  # type: ignore[misc]
        self.fits = method.fits  # type: ignore[misc]

    def fit(self, source: SourceClip, workdir: Path) -> Any:
        return self.method.fit(self._reference(source), workdir)

    def generate(self, state: Any, source: SourceClip, request: RecaptureRequest, context: Any = None) -> Recapture:
        from motionbench.methods.base import GenerationRequest

        size = request.size or source.size
        frames = self.method.generate(state, self._reference(source),
                                      GenerationRequest(request.prompt, request.seed, source.num_frames, size,
                                                        source.fps))
        return Recapture(frames=np.asarray(frames))

    @staticmethod
    def _reference(source: SourceClip) -> Any:
        from motionbench.methods.base import Reference
        from motionbench.video import Clip

        clip = Clip(source.frames, source.fps)
        return Reference(source.sample_id, "", clip, source.prompts, key=Reference.content_key(clip))

    def save_state(self, state: Any, directory: Path) -> None:
        self.method.save_state(state, directory)

    def load_state(self, directory: Path) -> Any:
        return self.method.load_state(directory)

    def state_key(self) -> str:
        return self.method.state_key()

    def close(self) -> None:
        self.method.close()
