"""A tracker whose tracks are computed once per (frames content, tracker backend, box).

The scorer tracks each reference once per sample and run through it; ``motionbench metaeval``
tracks every candidate video through it. Tracks are kept in memory and, when a folder is given, on
disk as ``<folder>/<key>.npz`` (written atomically), where the key hashes the decoded frames, the
tracker's backend id and the box, so a re-encoded copy of the same pixels hits and another tracker,
grid or box does not. A damaged cache file is recomputed and overwritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from motionbench.metrics.trackers import Tracker
from motionbench.metrics.tracks import Tracks, TracksError, load_tracks, save_tracks


def content_hash(frames: np.ndarray) -> str:
    """sha256 of decoded frames (shape and bytes), so a re-encoded copy of the same pixels hits."""
    h = hashlib.sha256(repr((frames.shape, str(frames.dtype))).encode())
    h.update(np.ascontiguousarray(frames).tobytes())
    return h.hexdigest()


class CachedTracker:
    """``tracker`` with its tracks remembered (see the module docstring).

    Attributes:
        runs: how many times the wrapped tracker actually ran (for tests and the caching benchmark).
    """

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self._memory: dict[str, Tracks] = {}
        self.runs = 0

    @property
    def backend(self) -> str:
        return self.tracker.backend

    def key(self, frames: np.ndarray, box: tuple[float, float, float, float] | None) -> str:
        return hashlib.sha256(json.dumps([content_hash(frames), self.tracker.backend, box]).encode()).hexdigest()[:32]

    def track(self, frames: np.ndarray, box: tuple[float, float, float, float] | None = None, *,
              folder: Path | None = None) -> Tracks:
        """The tracks of ``frames`` (only inside ``box``), computed at most once per content, backend and box."""
        key = self.key(frames, box)
        hit = self._memory.get(key)
        if hit is not None:
            return hit
        path = Path(folder) / f"{key}.npz" if folder is not None else None
        tracks = None
        if path is not None and path.is_file():
            try:
                tracks = load_tracks(path)
            except TracksError:
                tracks = None  # a damaged entry is recomputed and overwritten
        if tracks is None:
            self.runs += 1
            tracks = self.tracker.track(frames, box)
            if path is not None:
                save_tracks(path, tracks)
        self._memory[key] = tracks
        return tracks
