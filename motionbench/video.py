"""Reading, resampling and writing videos.

Frames are numpy ``uint8`` arrays shaped ``[T, H, W, 3]`` (RGB) everywhere in MotionBench. Reading
uses decord when it is installed and PyAV otherwise; writing produces H.264 mp4 through PyAV and is
atomic (a temporary name, then a rename), so a half-written file is never mistaken for a finished
one. A file is refused when its frames cannot all be read (see :func:`probe`), so a truncated clip
is never scored on its first frames. Every failure raises :class:`~motionbench.errors.VideoError`
naming the file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from motionbench.errors import VideoError
from motionbench.limits import MAX_DECODED_BYTES

# Refuse to decode more than this many pixels (T*H*W) into memory at once (motionbench.limits).
MAX_DECODED_PIXELS = MAX_DECODED_BYTES // 3
DECODE_CHUNK = 16  # frames decoded at full size at a time when the output is resized
# A container may declare a frame or two more than its packets (edit lists, rounding of durations).
TRUNCATION_TOLERANCE = 2
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".gif")


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    num_frames: int
    fps: float
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps else 0.0


@dataclass
class Clip:
    """Decoded frames ``[T, H, W, 3]`` uint8 with their frame rate."""

    frames: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        f = self.frames
        if f.ndim != 4 or f.shape[-1] != 3 or f.dtype != np.uint8:
            raise ValueError(f"Clip frames must be uint8 [T, H, W, 3], got {f.dtype} {tuple(f.shape)}")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])


def _decord_available() -> bool:
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def _check_file(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: file not found")
    if path.is_dir():
        raise VideoError(f"{path}: is a directory, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: file is empty (0 bytes); re-export or re-download it")
    return path


def probe(path: Path | str) -> VideoInfo:
    """Frame count, fps and size of a video, after checking that its frames can all be read.

    The frames' packets are read without decoding them (milliseconds for a short clip) and counted
    against what the container declares (its frame count, else its duration times its frame rate):
    a file cut off at a packet boundary opens and decodes without an error, but holds far fewer
    frames than it says, and is refused here rather than scored on what is left.

    Raises:
        VideoError: missing, empty, not a video, no frames, or truncated/corrupt (names the file).
    """
    path = _check_file(Path(path))
    try:
        declared, packets, (w, h), fps = _container_facts(path)
        if _decord_available():
            import decord

            vr = decord.VideoReader(str(path), num_threads=1)  # its frame count and rate, as read_video sees them
            n = len(vr)
            fps = float(vr.get_avg_fps()) or fps
        else:
            n = packets
    except VideoError:
        raise
    except Exception as exc:  # decoders raise many unrelated types; all mean "cannot read this file"
        raise VideoError(f"{path}: cannot be decoded as a video ({type(exc).__name__}: {exc}). Is it a video file, "
                         "whole (not cut off)? Try re-encoding it with ffmpeg -i IN -c:v libx264 OUT.mp4") from None
    if n == 0 or packets == 0:
        raise VideoError(f"{path}: contains no video frames")
    readable = min(n, packets)
    if declared and readable < declared - max(TRUNCATION_TOLERANCE, declared // 10):
        raise VideoError(f"{path}: truncated or corrupt: the container declares {declared} frames but only "
                         f"{readable} can be read. Re-download or re-export the file (ffmpeg -i IN -c:v libx264 "
                         "OUT.mp4 keeps what is readable, if that is what you want)")
    return VideoInfo(path, n, fps if fps > 0 else 25.0, int(w), int(h))


def _container_facts(path: Path) -> tuple[int | None, int, tuple[int, int], float]:
    """(declared frames or None, video packets present, (width, height), fps) read with PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.base_rate or 0)
        declared = stream.frames or None
        if declared is None and rate:
            seconds = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                       else container.duration / 1e6 if container.duration else 0.0)
            declared = int(round(seconds * rate)) or None
        packets = sum(1 for packet in container.demux(stream) if packet.size)
        return declared, packets, (stream.codec_context.width, stream.codec_context.height), rate


def sample_indices(num_source: int, *, start: int = 0, count: int | None = None, num_frames: int | None = None,
                   source_fps: float | None = None, fps: float | None = None) -> np.ndarray:
    """Source frame indices for a window ``[start, start+count)`` resampled to ``num_frames`` or ``fps``.

    ``num_frames`` picks evenly spaced frames over the window (first and last included). ``fps``
    keeps the window's duration and picks the nearest source frame at each output time. Giving both
    is an error: the two requests can disagree.
    """
    if num_frames is not None and fps is not None:
        raise ValueError("give num_frames or fps, not both")
    if start < 0 or start >= num_source:
        raise ValueError(f"window start {start} is outside the video's {num_source} frames")
    end = num_source if count is None else start + count
    if end > num_source:
        raise ValueError(f"window [{start}, {end}) asks for more frames than the video has ({num_source})")
    window = np.arange(start, end)
    if num_frames is not None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        pos = np.linspace(0, len(window) - 1, num_frames)
        return window[np.round(pos).astype(int)]
    if fps is not None:
        if not source_fps or source_fps <= 0:
            raise ValueError("resampling to fps needs the source fps")
        duration = len(window) / source_fps
        n_out = max(1, int(round(duration * fps)))
        times = np.arange(n_out) / fps
        return window[np.clip(np.round(times * source_fps).astype(int), 0, len(window) - 1)]
    return window


def stretch_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``[T, H, W, 3]`` frames to exactly ``size`` = (width, height), aspect not kept, with
    area/linear interpolation (the backbones' ``resize_frames`` covers and centre-crops instead)."""
    import cv2

    w, h = size
    if frames.shape[2] == w and frames.shape[1] == h:
        return frames
    interp = cv2.INTER_AREA if w < frames.shape[2] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def read_video(path: Path | str, *, start: int = 0, count: int | None = None, num_frames: int | None = None,
               fps: float | None = None, size: tuple[int, int] | None = None, min_frames: int = 1) -> Clip:
    """Decode a window of a video, optionally resampled in time and resized.

    Args:
        path: the video file.
        start, count: the window, in source frames (``count=None``: to the end).
        num_frames: evenly resample the window to this many frames.
        fps: resample the window to this frame rate (keeps its duration).
        size: (width, height) of the output frames.
        min_frames: fewer frames than this after resampling is an error naming the file.

    Raises:
        VideoError: the file is missing, empty, not a video, too short, or too large to decode.
    """
    info = probe(path)
    try:
        idx = sample_indices(info.num_frames, start=start, count=count, num_frames=num_frames,
                             source_fps=info.fps, fps=fps)
    except ValueError as exc:
        raise VideoError(f"{info.path}: {exc}") from None
    if len(idx) < min_frames:
        raise VideoError(f"{info.path}: has {len(idx)} usable frame(s) in the requested window; at least {min_frames} are needed")
    out_w, out_h = size or (info.width, info.height)
    resize = (out_w, out_h) != (info.width, info.height)
    chunk = min(len(idx), DECODE_CHUNK) if resize else len(idx)  # resized chunk by chunk: full size never all at once
    pixels = len(idx) * out_w * out_h + (chunk * info.width * info.height if resize else 0)
    if pixels > MAX_DECODED_PIXELS:
        raise VideoError(f"{info.path}: decoding {len(idx)} frames of {info.width}x{info.height}"
                         + (f" into {out_w}x{out_h}" if resize else "") + f" would take {pixels * 3 / 2**30:.1f} GiB, "
                         f"over the {MAX_DECODED_PIXELS * 3 / 2**30:.0f} GiB limit; read fewer frames or a smaller size "
                         "(manifest: frames.count, size; commands: --count, --num-frames, --size)")
    try:
        frames = None
        if _decord_available():
            try:
                frames = _read_decord(info.path, idx, chunk, (out_w, out_h) if resize else None)
            except Exception as exc:  # noqa: BLE001 - only decord's own frame-copy bug is retried below
                if DECORD_COPY_BUG not in str(exc):
                    raise
        if frames is None:  # no decord, or a frame width decord cannot copy out (e.g. 48 pixels): PyAV
            frames = _read_pyav(info.path, idx, (out_w, out_h) if resize else None)
    except VideoError:
        raise
    except Exception as exc:
        raise VideoError(f"{info.path}: decoding failed ({type(exc).__name__}: {exc}); the file may be truncated or corrupt") from None
    out_fps = fps if fps is not None else (info.fps * (len(idx) - 1) / max(1, idx[-1] - idx[0]) if num_frames and len(idx) > 1 else info.fps)
    return Clip(np.ascontiguousarray(frames, dtype=np.uint8), float(out_fps))


#: decord (0.6) fails to copy out frames of some widths (48 pixels: its frame comes back with 4 channels
#: and the copy's sizes differ), a bug of the reader and not of the file; PyAV decodes those files.
DECORD_COPY_BUG = "DECORDArrayCopyFromTo"


def _read_decord(path: Path, indices: np.ndarray, chunk: int, size: tuple[int, int] | None) -> np.ndarray:
    import decord

    vr = decord.VideoReader(str(path), num_threads=1)
    parts = []
    for at in range(0, len(indices), chunk):
        batch = np.ascontiguousarray(vr.get_batch(list(map(int, indices[at:at + chunk]))).asnumpy()[..., :3])
        parts.append(stretch_frames(batch, size) if size is not None else batch)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _read_pyav(path: Path, indices: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    import av

    wanted = {int(i) for i in indices}
    last = int(indices.max())
    got: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                rgb = frame.to_ndarray(format="rgb24")
                got[i] = stretch_frames(rgb[None], size)[0] if size is not None else rgb
            if i >= last:
                break
    missing = wanted - got.keys()
    if missing:
        raise VideoError(f"{path}: frame {min(missing)} could not be decoded (the file has fewer frames than its header says)")
    return np.stack([got[int(i)] for i in indices])


def file_sha256(path: Path | str) -> str:
    """The sha256 of a file's bytes: the identity of one encoded video (re-encoding changes it)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_video(path: Path | str, frames: np.ndarray | Sequence[np.ndarray], fps: float, *, crf: int = 18,
                lossless: bool = False) -> Path:
    """Write RGB frames as an H.264 mp4, atomically.

    Odd sizes are padded by one pixel (H.264 with yuv420p needs even sides), by edge replication.
    ``lossless`` stores the RGB frames exactly (``libx264rgb``, crf 0: the High 4:4:4 profile, which
    decoders read back bit for bit but some browsers do not play): for videos scored pixel by pixel
    (the recapture task's PSNR and SSIM), whose scores a lossy encoding would cap.
    """
    import av

    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"write_video needs uint8 frames [T, H, W, 3] with T >= 1, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"write_video needs uint8 frames, got {frames.dtype}")
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial.mp4")
    rate = Fraction(fps).limit_denominator(1001)
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264rgb" if lossless else "libx264", rate=rate)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "rgb24" if lossless else "yuv420p"
            stream.options = {"crf": "0" if lossless else str(crf), "preset": "medium"}
            for f in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
