"""`motionbench run` scoring stage and `motionbench score` through the CLI, with an honest tiny scorer.

The CLI builds its scorer with ``motionbench.metrics.build_scorer``; these tests put a pixel-distance
scorer in its place so the wiring (options passed through, records written, rescoring skipped or
added per backend, videos from another tool) is checked without CLIP weights.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import PixelDistanceScorer, moving_texture, write_manifest  # noqa: E402

import motionbench.metrics  # noqa: E402
from motionbench.cli import app  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import write_video  # noqa: E402


@pytest.fixture
def built(monkeypatch):
    """Replace build_scorer; returns the list of keyword arguments each build received."""
    calls: list[dict] = []

    def build_scorer(**kwargs):
        calls.append(kwargs)
        return PixelDistanceScorer(f"pixels:{kwargs.get('clip') or 'default'}")

    monkeypatch.setattr(motionbench.metrics, "build_scorer", build_scorer, raising=False)
    return calls


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_run_scores_then_score_rescores_with_another_backend(tmp_path: Path, built: list) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    run = tmp_path / "run"
    result = invoke("run", "--method", "reference", "--method", "noise", "--manifest", str(manifest),
                    "--out", str(run), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert built == [{"device": "cpu"}]
    assert "scored 4 video(s) (4 values ok" in " ".join(result.output.split())
    scores = {r.job: r.value for r in RunStore(run).score_records()}
    assert scores["reference/a/0-s0"] < 5 < scores["noise/a/0-s0"]

    again = invoke("score", str(run), "--device", "cpu")
    assert "scored 0 video(s)" in again.output and "4 already scored" in again.output
    other = invoke("score", str(run), "--device", "cpu", "--clip", "ViT-L-14:openai", "--variant", "dmt")
    assert built[-1] == {"device": "cpu", "clip": "ViT-L-14:openai", "variants": ["dmt"]}
    assert "scored 4 video(s)" in other.output
    assert {r.backend for r in RunStore(run).score_records()} == {"pixels:default", "pixels:ViT-L-14:openai"}
    assert json.loads((run / "run.json").read_text())["metric_backends"] == {"pixel_l1": "pixels:ViT-L-14:openai"}


def test_score_videos_of_another_tool(tmp_path: Path, built: list) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    videos = tmp_path / "Their Method"
    write_video(videos / "a" / "0-s0.mp4", moving_texture(9, (64, 64), seed=0), 8.0)
    write_video(videos / "b" / "1-s0.mp4", np.full((9, 64, 64, 3), 128, np.uint8), 8.0)
    out = tmp_path / "scored"
    result = invoke("score", "--videos", str(videos), "--manifest", str(manifest), "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "adopted 2 video(s) as method 'their-method'" in " ".join(result.output.split())
    scores = {r.job: r.value for r in RunStore(out).score_records()}
    assert set(scores) == {"their-method/a/0-s0", "their-method/b/1-s0"}
    assert scores["their-method/a/0-s0"] < 5 < scores["their-method/b/1-s0"]


def test_score_needs_a_run_or_videos(tmp_path: Path, built: list) -> None:
    from motionbench.errors import ConfigError

    with pytest.raises(ConfigError, match="give either a run directory"):
        invoke("score", "--device", "cpu")
    with pytest.raises(ConfigError, match="not a motionbench run"):
        invoke("score", str(tmp_path), "--device", "cpu")
