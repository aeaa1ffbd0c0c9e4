"""Point tracks: the record every tracker returns, file I/O, and the alignment policy.

A :class:`Tracks` holds ``N`` points over ``T`` frames in pixel coordinates ``(x, y)`` of a video of
a known size. Trackers return it, the ``.npz`` loader reads it (so users can bring their own
tracker; a file without a ``size`` entry names no pixel space, and the caller must say which),
and :func:`align_tracks` puts a generated video's tracks on the reference's footing before
motion fidelity compares them.

Alignment policy (applied by :func:`align_tracks`, documented in ``MotionFidelity.convention``):

- **Length.** When the two videos have different frame counts, both track sets are resampled in
  time to the shorter count, by linear interpolation at evenly spaced normalised times (first and
  last frames kept). Equal lengths are left untouched, so same-length inputs give exactly the
  public DMT numbers.
- **Size.** When the two videos have different sizes, the generated tracks are mapped into the
  reference's pixel frame: ``x * W_ref / W_gen``, ``y * H_ref / H_gen`` (both normalised to
  ``[0, 1]``, then expressed in reference pixels). Same-size inputs are left untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionbench.errors import MotionBenchError


class TracksError(MotionBenchError):
    """A track file or track array is unusable."""


@dataclass(frozen=True)
class Tracks:
    """Point tracks ``tracks [N, T, 2]`` (x, y) pixels, ``visibility`` bool ``[N, T]``.

    ``size`` is the (width, height) of the video the pixels refer to.
    """

    tracks: np.ndarray
    visibility: np.ndarray
    size: tuple[int, int]

    def __post_init__(self) -> None:
        t, v = self.tracks, self.visibility
        if t.ndim != 3 or t.shape[-1] != 2:
            raise TracksError(f"tracks must be [N, T, 2] (x, y), got shape {tuple(t.shape)}")
        if v.shape != t.shape[:2]:
            raise TracksError(f"visibility must be [N, T] = {tuple(t.shape[:2])}, got {tuple(v.shape)}")
        if t.shape[1] < 2:
            raise TracksError(f"tracks need at least 2 frames to have motion, got {t.shape[1]}")
        if not np.all(np.isfinite(t)):
            raise TracksError("tracks contain NaN or infinite coordinates")

    @property
    def num_points(self) -> int:
        return int(self.tracks.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.tracks.shape[1])

    def inside(self, box: tuple[float, float, float, float]) -> "Tracks":
        """The tracks whose first-frame position lies inside ``box`` (x0, y0, x1, y1) pixels."""
        x0, y0, x1, y1 = box
        p = self.tracks[:, 0]
        keep = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
        if not keep.any():
            raise TracksError(f"no track starts inside the box {box}; is the box in this video's pixels {self.size}?")
        return Tracks(self.tracks[keep], self.visibility[keep], self.size)


@dataclass(frozen=True)
class TrackFile:
    """The arrays of an ``.npz`` track file; ``size`` is None when the file does not say its pixel space."""

    path: Path
    tracks: np.ndarray
    visibility: np.ndarray
    size: tuple[int, int] | None

    def with_size(self, size: tuple[int, int]) -> Tracks:
        """The tracks, in the pixels of a ``size`` = (width, height) video.

        Raises:
            TracksError: the arrays have the wrong shape (naming the file).
        """
        try:
            return Tracks(self.tracks, self.visibility, (int(size[0]), int(size[1])))
        except TracksError as exc:
            raise TracksError(f"{self.path}: {exc}") from None


def read_track_file(path: Path | str) -> TrackFile:
    """Read an ``.npz`` with ``tracks [N, T, 2]``, optional ``visibility [N, T]`` and optional ``size`` (w, h).

    Raises:
        TracksError: the file is missing, not an npz, has no ``tracks`` array, or its arrays have the
            wrong shape.
    """
    path = Path(path)
    if not path.is_file():
        raise TracksError(f"{path}: track file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # numpy raises several types for a bad archive
        raise TracksError(f"{path}: cannot be read as an .npz track file ({type(exc).__name__}: {exc})") from None
    if "tracks" not in arrays:
        raise TracksError(f"{path}: has no array 'tracks' (found {sorted(arrays)}); save it with np.savez(path, tracks=[N, T, 2], visibility=[N, T])")
    tracks = np.asarray(arrays["tracks"], dtype=np.float64)
    vis = arrays.get("visibility")
    vis = np.ones(tracks.shape[:2], dtype=bool) if vis is None else np.asarray(vis).astype(bool)
    size = None
    if "size" in arrays:
        w, h = (int(v) for v in np.asarray(arrays["size"]).ravel()[:2])
        size = (w, h)
    file = TrackFile(path, tracks, vis, size)
    file.with_size(size or (1, 1))  # checks the arrays now, naming the file
    return file


def load_tracks(path: Path | str, *, size: tuple[int, int] | None = None) -> Tracks:
    """Tracks from an ``.npz`` track file, in the pixels of ``size`` or else of the file's own ``size`` entry.

    Raises:
        TracksError: the file is unreadable, its arrays have the wrong shape, or neither the file
            nor the caller says which pixel space it is in.
    """
    file = read_track_file(path)
    size = size or file.size
    if size is None:
        raise TracksError(f"{file.path}: has no 'size' entry saying the (width, height) of its video; add one "
                          "(np.savez(path, tracks=..., size=[W, H])) or compare it with a video of its size")
    return file.with_size(size)


def coordinate_extent(*files: TrackFile) -> tuple[int, int]:
    """The smallest (width, height) holding every coordinate of ``files``: one pixel space for all of them."""
    xs = [f.tracks[..., 0].max() for f in files if f.tracks.size]
    ys = [f.tracks[..., 1].max() for f in files if f.tracks.size]
    return (int(np.ceil(max(xs))) + 1, int(np.ceil(max(ys))) + 1) if xs else (1, 1)


def save_tracks(path: Path | str, tracks: Tracks) -> Path:
    """Write tracks as ``.npz`` (``tracks``, ``visibility``, ``size``), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial.npz")
    np.savez(tmp, tracks=tracks.tracks.astype(np.float32), visibility=tracks.visibility,
             size=np.asarray(tracks.size, dtype=np.int64))
    os.replace(tmp, path)
    return path


def resample_time(tracks: Tracks, num_frames: int) -> Tracks:
    """Linearly interpolate tracks to ``num_frames`` evenly spaced times (ends kept).

    A resampled step is visible only when both source frames around it are.
    """
    if num_frames == tracks.num_frames:
        return tracks
    if num_frames < 2:
        raise TracksError(f"cannot resample tracks to {num_frames} frame(s); need at least 2")
    pos = np.linspace(0.0, tracks.num_frames - 1, num_frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, tracks.num_frames - 1)
    w = (pos - lo)[None, :, None]
    out = tracks.tracks[:, lo] * (1.0 - w) + tracks.tracks[:, hi] * w
    vis = tracks.visibility[:, lo] & tracks.visibility[:, hi]
    return Tracks(out, vis, tracks.size)


def rescale(tracks: Tracks, size: tuple[int, int]) -> Tracks:
    """Express tracks in the pixels of a video of ``size`` (width, height)."""
    if tuple(size) == tuple(tracks.size):
        return tracks
    sx = size[0] / tracks.size[0]
    sy = size[1] / tracks.size[1]
    return Tracks(tracks.tracks * np.array([sx, sy]), tracks.visibility, (int(size[0]), int(size[1])))


def align_tracks(generated: Tracks, reference: Tracks) -> tuple[Tracks, Tracks]:
    """Apply the length and size policy of this module; returns (generated, reference)."""
    n = min(generated.num_frames, reference.num_frames)
    generated = resample_time(generated, n)
    reference = resample_time(reference, n)
    return rescale(generated, reference.size), reference
