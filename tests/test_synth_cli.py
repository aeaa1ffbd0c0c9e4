"""`motionbench synth` writes decodable clips with their ground truth, once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from motionbench.bench.clips import render_synthetic
from motionbench.bench.manifest import load_manifest
from motionbench.video import read_video


def _synth(out: Path, *extra: str) -> str:
    result = subprocess.run([sys.executable, "-m", "motionbench", "synth", "--out", str(out), "--sample", "object-zigzag",
                             "--sample", "human-wave", *extra], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_synth_materialises_clips_idempotently(tmp_path: Path) -> None:
    assert "2 written" in _synth(tmp_path)
    sample = load_manifest().sample("object-zigzag")
    truth = render_synthetic(sample)
    saved = np.load(tmp_path / "object-zigzag.tracks.npz")
    np.testing.assert_array_equal(saved["tracks"], truth.ground_truth.tracks)
    np.testing.assert_array_equal(saved["visibility"], truth.ground_truth.visibility)
    clip = read_video(tmp_path / "object-zigzag.mp4")
    assert clip.frames.shape == truth.clip.frames.shape
    luma = np.array([0.299, 0.587, 0.114])
    assert np.abs(clip.frames @ luma - truth.clip.frames @ luma).mean() < 6
    mtime = (tmp_path / "object-zigzag.mp4").stat().st_mtime_ns
    assert "0 written, 2 already up to date" in _synth(tmp_path)
    assert (tmp_path / "object-zigzag.mp4").stat().st_mtime_ns == mtime
    # A half-written pair (stamp missing) is redone; another appearance is a separate file.
    (tmp_path / "human-wave.stamp").unlink()
    assert "1 written" in _synth(tmp_path)
    assert "2 written" in _synth(tmp_path, "--appearance", "2")
    again = np.load(tmp_path / "object-zigzag-a2.tracks.npz")
    np.testing.assert_array_equal(again["tracks"], saved["tracks"])
