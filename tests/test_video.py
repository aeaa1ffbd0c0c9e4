"""Video I/O on real encoded files: round trips, windows, resampling, and every bad-input error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import textured_frames
from motionbench.errors import VideoError
from motionbench.video import Clip, probe, read_video, sample_indices, write_video


def test_h264_round_trip_keeps_frames_and_metadata(tmp_path: Path) -> None:
    frames = textured_frames(12, (64, 48))
    path = write_video(tmp_path / "a.mp4", frames, fps=12)
    info = probe(path)
    assert (info.num_frames, info.width, info.height) == (12, 64, 48)
    assert info.fps == pytest.approx(12, rel=1e-3)
    clip = read_video(path)
    assert clip.frames.shape == frames.shape
    # H.264 at crf 18 is lossy but close in luma (yuv420 halves chroma resolution, so colour is not).
    luma = np.array([0.299, 0.587, 0.114])
    assert np.abs(clip.frames @ luma - frames @ luma).mean() < 4
    import av

    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.name == "h264"


def test_window_and_resampling_pick_the_right_frames(tmp_path: Path) -> None:
    # Each frame is a flat grey level equal to 10*index, so decoded values identify the source frame.
    frames = np.stack([np.full((32, 32, 3), 10 * i, np.uint8) for i in range(20)])
    path = write_video(tmp_path / "levels.mp4", frames, fps=10)
    clip = read_video(path, start=4, count=8)
    assert np.round(clip.frames.mean(axis=(1, 2, 3)) / 10).tolist() == list(range(4, 12))
    clip = read_video(path, start=0, count=20, num_frames=5)
    assert np.round(clip.frames.mean(axis=(1, 2, 3)) / 10).tolist() == [0, 5, 10, 14, 19]
    clip = read_video(path, fps=5)  # half the rate, same duration
    assert clip.num_frames == 10 and clip.fps == 5
    assert np.round(clip.frames.mean(axis=(1, 2, 3)) / 10).tolist() == list(range(0, 20, 2))
    assert read_video(path, size=(16, 24)).size == (16, 24)


def test_sample_indices_rejects_windows_outside_the_video() -> None:
    with pytest.raises(ValueError, match="more frames"):
        sample_indices(10, start=5, count=6)
    with pytest.raises(ValueError, match="outside"):
        sample_indices(10, start=10)
    with pytest.raises(ValueError, match="not both"):
        sample_indices(10, num_frames=3, source_fps=10, fps=5)


def test_odd_sizes_are_padded_to_even(tmp_path: Path) -> None:
    path = write_video(tmp_path / "odd.mp4", textured_frames(3, (33, 21)), fps=8)
    assert probe(path).width == 34 and probe(path).height == 22


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", "not found"),
        ("empty", "empty"),
        ("directory", "directory"),
        ("text", "cannot be decoded"),
        ("truncated", "(cannot be decoded|decoding failed|fewer frames)"),
    ],
)
def test_bad_files_give_errors_that_name_the_file(tmp_path: Path, case: str, match: str) -> None:
    path = tmp_path / f"{case}.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "directory":
        path.mkdir()
    elif case == "text":
        path.write_text("this is not a video\n" * 50)
    elif case == "truncated":
        good = write_video(tmp_path / "good.mp4", textured_frames(30, (64, 48)), fps=8).read_bytes()
        path.write_bytes(good[: len(good) // 3])
    with pytest.raises(VideoError, match=match) as err:
        read_video(path)
    assert str(path) in str(err.value)


def test_one_frame_video_is_refused_when_motion_needs_two(tmp_path: Path) -> None:
    path = write_video(tmp_path / "one.mp4", textured_frames(1), fps=8)
    assert read_video(path).num_frames == 1
    with pytest.raises(VideoError, match="at least 2") as err:
        read_video(path, min_frames=2)
    assert "one.mp4" in str(err.value)


def test_gigantic_decode_is_refused_before_allocating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import motionbench.video as video

    path = write_video(tmp_path / "big.mp4", textured_frames(8, (64, 48)), fps=8)
    monkeypatch.setattr(video, "MAX_DECODED_PIXELS", 64 * 48 * 4)  # pretend memory allows 4 frames
    with pytest.raises(VideoError, match="GiB") as err:
        read_video(path)
    assert "big.mp4" in str(err.value)
    assert read_video(path, count=4).num_frames == 4


def test_pyav_fallback_reads_the_same_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import motionbench.video as video

    path = write_video(tmp_path / "a.mp4", textured_frames(10), fps=8)
    with_decord = read_video(path, start=2, count=6)
    monkeypatch.setattr(video, "_decord_available", lambda: False)
    with_pyav = read_video(path, start=2, count=6)
    assert probe(path).num_frames == 10
    np.testing.assert_array_equal(with_decord.frames, with_pyav.frames)


def test_a_48_pixel_wide_video_decodes_though_decord_cannot_copy_its_frames(tmp_path: Path) -> None:
    """decord 0.6 fails on 48-pixel-wide frames (a copy-size check of its own); read_video then
    decodes the file with PyAV instead of calling it corrupt."""
    frames = textured_frames(9, (48, 48))
    path = write_video(tmp_path / "a.mp4", frames, fps=8)
    clip = read_video(path, start=1, count=5)
    luma = np.array([0.299, 0.587, 0.114])
    assert clip.frames.shape == (5, 48, 48, 3) and np.abs(clip.frames @ luma - frames[1:6] @ luma).mean() < 4


def test_clip_rejects_wrong_dtype() -> None:
    with pytest.raises(ValueError, match="uint8"):
        Clip(np.zeros((2, 4, 4, 3), np.float32), 8.0)


def test_a_video_appears_under_its_name_only_when_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers (a resumed run, a report) may look at any moment, and a writer may be killed at any
    moment: while frames are being encoded, the final name holds nothing or the previous whole video,
    never a half-written one. The real encoder runs; the test only looks at the folder between frames."""
    import av

    path = tmp_path / "videos" / "0-s0.mp4"
    write_video(path, textured_frames(4, (32, 32)), fps=8)
    old = path.read_bytes()
    seen = []
    real = av.VideoFrame.from_ndarray

    def look(array, *args, **kwargs):
        partial = [p.name for p in path.parent.iterdir() if p.name != path.name]
        seen.append((path.read_bytes() == old, partial))
        return real(array, *args, **kwargs)

    monkeypatch.setattr(av.VideoFrame, "from_ndarray", look)
    frames = textured_frames(64, (32, 32))  # more than x264's look-ahead, so packets are written mid-way
    write_video(path, frames, fps=8)
    monkeypatch.undo()
    assert len(seen) == 64
    assert all(unchanged for unchanged, _ in seen), seen  # the old video stayed whole until the new one was
    assert all(name.endswith(".partial.mp4") for _, partial in seen for name in partial), seen  # beside it
    assert sum(bool(partial) for _, partial in seen) > 16, seen  # the frames went to the temporary file
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # renamed into place, no temporary left
    assert read_video(path).num_frames == 64
