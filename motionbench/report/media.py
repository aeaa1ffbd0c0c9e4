"""Small browser-ready copies of videos, as ``data:`` URIs for the self-contained HTML report.

Every video is re-encoded (H.264, yuv420p, even sides) at a reduced width and a higher CRF: the
report embeds hundreds of clips, and its size is what decides whether people open it.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from motionbench.video import probe, read_video, write_video


def small_copy_bytes(path: Path | str, *, width: int = 192, crf: int = 30) -> bytes:
    """H.264 mp4 bytes of ``path`` scaled to ``width`` (never upscaled), keeping aspect and fps.

    Raises:
        VideoError: the file is missing or cannot be decoded (the message names it).
    """
    info = probe(path)
    w = min(width, info.width)
    w -= w % 2
    h = max(2, int(round(info.height * w / info.width / 2.0)) * 2)
    clip = read_video(path, size=(w, h))
    with tempfile.TemporaryDirectory(prefix="motionbench-report-") as tmp:
        out = write_video(Path(tmp) / "copy.mp4", clip.frames, clip.fps, crf=crf)
        return out.read_bytes()


def video_data_uri(path: Path | str, *, width: int = 192, crf: int = 30) -> str:
    return "data:video/mp4;base64," + base64.b64encode(small_copy_bytes(path, width=width, crf=crf)).decode("ascii")
