"""`motionbench run` scoring stage and `motionbench score` through the CLI, with the real scorer.

The metrics are the test plug-in's ``pixel_l1`` (it needs only the decoded videos), motion fidelity
with a small LK grid, and CLIP temporal consistency on a tiny open_clip config with random weights,
so the wiring (options passed through, records written, rescoring skipped or added per backend,
videos from another tool, refusals before any generation) is checked without downloaded weights.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import moving_texture, use_plugin, write_manifest  # noqa: E402

from motionbench.cli import app  # noqa: E402
from motionbench.errors import ConfigError  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import write_video  # noqa: E402

use_plugin()
TINY = "mb-tiny-clip-cli"


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[str, str]:
    """A tiny open_clip architecture (as a JSON config) and two CLIP specs of it: random, and a weights file."""
    import open_clip
    import torch

    from motionbench.metrics.clip import ClipEncoder

    folder = tmp_path_factory.mktemp("clip")
    config = {"embed_dim": 16, "quick_gelu": True,
              "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
              "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    (folder / f"{TINY}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder / f"{TINY}.json")
    weights = folder / "tiny.pt"
    torch.manual_seed(1)  # other weights than random-init's
    model = open_clip.create_model(TINY, pretrained=None)
    torch.save(model.state_dict(), weights)
    assert ClipEncoder(f"{TINY}:random").backend.endswith("random-init")
    return f"{TINY}:random", f"{TINY}:{weights}"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def words(text: str) -> str:
    return " ".join(text.split())


def test_run_scores_then_score_rescores_with_another_backend(tmp_path: Path, tiny_clip) -> None:
    random_clip, file_clip = tiny_clip
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    run = tmp_path / "run"
    result = invoke("run", "--method", "reference", "--method", "noise", "--manifest", str(manifest),
                    "--out", str(run), "--device", "cpu", "--metric", "pixel_l1")
    assert result.exit_code == 0, result.output
    assert "scored 4 video(s) (4 values ok" in words(result.output)
    scores = {r.job: r.value for r in RunStore(run).score_records()}
    assert scores["reference/a/0-s0"] < 5 < scores["noise/a/0-s0"]

    again = invoke("score", str(run), "--device", "cpu", "--metric", "pixel_l1")
    assert "scored 0 video(s)" in again.output and "4 already scored" in again.output
    first = invoke("score", str(run), "--device", "cpu", "--metric", "clip_temporal", "--clip", random_clip)
    assert "scored 4 video(s) (4 values ok" in words(first.output)
    other = invoke("score", str(run), "--device", "cpu", "--metric", "clip_temporal", "--clip", file_clip)
    assert "scored 4 video(s) (4 values ok" in words(other.output)  # another backend: scored beside the first
    records = [r for r in RunStore(run).score_records() if r.metric == "clip_temporal"]
    backends = sorted({r.backend for r in records})
    assert len(records) == 8 and len(backends) == 2
    assert backends[0].endswith("random-init") and "tiny.pt:sha256=" in backends[1]
    by_backend = {b: [r.value for r in records if r.backend == b] for b in backends}
    assert by_backend[backends[0]] != by_backend[backends[1]]  # other weights, other numbers
    info = json.loads((run / "run.json").read_text())
    assert info["metric_backends"] == {"pixel_l1": "pixels", "clip_temporal": backends[1]}


def test_score_videos_of_another_tool(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    videos = tmp_path / "Their Method"
    write_video(videos / "a" / "0-s0.mp4", moving_texture(9, (64, 64), seed=0), 8.0)
    write_video(videos / "b" / "1-s0.mp4", np.full((9, 64, 64, 3), 128, np.uint8), 8.0)
    out = tmp_path / "scored"
    result = invoke("score", "--videos", str(videos), "--manifest", str(manifest), "--out", str(out), "--device", "cpu",
                    "--metric", "pixel_l1")
    assert result.exit_code == 0, result.output
    assert "adopted 2 video(s) as method 'their-method'" in words(result.output)
    scores = {r.job: r.value for r in RunStore(out).score_records()}
    assert set(scores) == {"their-method/a/0-s0", "their-method/b/1-s0"}
    assert scores["their-method/a/0-s0"] < 5 < scores["their-method/b/1-s0"]
    info = RunStore(out).read_run_info()
    assert info.settings.methods == {"their-method": {"videos": str(videos.resolve())}}
    assert info.settings.manifest == str(manifest.resolve())


def test_variant_option_keeps_only_those_variants(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    base = ["--manifest", str(manifest), "--device", "cpu", "--method", "reference"]
    result = invoke("run", *base, "--out", str(tmp_path / "run"), "--metric", "motion_fidelity", "--variant", "matched",
                    "--tracker", "lk", "--grid", "6")
    assert result.exit_code == 0, result.output
    records = RunStore(tmp_path / "run").score_records()
    assert {(r.metric, r.variant) for r in records} == {("motion_fidelity", "matched")}
    assert all(r.status == "ok" and r.value > 0.9 and "grid=6" in r.backend for r in records)  # the clip itself


def test_bad_metric_choices_are_refused_before_anything_is_generated(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    base = ["run", "--manifest", str(manifest), "--device", "cpu", "--method", "reference", "--out", str(tmp_path / "r")]
    with pytest.raises(ConfigError, match=r"unknown metric 'pixel_l2' \(did you mean 'pixel_l1'\?\)"):
        invoke(*base, "--metric", "pixel_l2")
    with pytest.raises(ConfigError, match=r"no variant 'paper'.*variants: dmt, symmetric, matched"):
        invoke(*base, "--metric", "motion_fidelity/paper")
    with pytest.raises(ConfigError, match=r"unknown variant\(s\) dtm .*variants: dmt, matched, symmetric"):
        invoke(*base, "--variant", "dtm")
    assert not (tmp_path / "r" / "generations.jsonl").exists()


def test_score_needs_a_run_or_videos(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give either a run directory"):
        invoke("score", "--device", "cpu")
    with pytest.raises(ConfigError, match="not a motionbench run"):
        invoke("score", str(tmp_path), "--device", "cpu")


def _oracle(run: Path, sample_id: str, options, metrics: tuple[str, ...], *, use_box: bool = True) -> dict[tuple[str, str], float]:
    """What the real scorer, called directly with the sample's box and ground truth, gives each stored video."""
    from motionbench.bench.manifest import load_manifest
    from motionbench.metrics.api import ScoringItem
    from motionbench.metrics.scorer import build_scorer
    from motionbench.run.references import load_reference_clip
    from motionbench.video import read_video

    store = RunStore(run)
    sample = {s.id: s for s in load_manifest(store.read_run_info().settings.manifest).samples}[sample_id]
    reference, truth = load_reference_clip(sample)
    records = [r for r in store.latest_generations().values() if r.sample == sample_id and r.status == "ok"]
    items = [ScoringItem(job=r.job, clip=read_video(run / r.video), prompt=r.prompt) for r in records]
    results = build_scorer(metrics, options).score_sample(reference, items, box=sample.box if use_box else None,
                                                          ground_truth=truth)
    return {(job, v.metric): v.value for job, values in results.items() for v in values if v.status == "ok"}


def test_the_real_scorer_inside_run_and_score_gets_the_options_box_and_ground_truth(tmp_path: Path, tiny_clip) -> None:
    """`run` then `score` with the real metrics: CLIP (a tiny config), motion fidelity with ground-truth
    reference tracks and with LK. Every stored value equals the scorer called directly with the
    sample's box and ground-truth tracks, and each record names the tracker that was asked for."""
    from motionbench.metrics.scorer import FeatureOptions

    random_clip, _ = tiny_clip
    text = (Path(__file__).parent / "fixtures" / "tiny_synthetic_manifest.yaml").read_text()
    # 64x64, with a box around the ball
    text = text.replace("[48, 48]", "[64, 64]").replace("    size: [64, 64]\n", "    size: [64, 64]\n    box: [24, 24, 40, 40]\n", 1)
    manifest = tmp_path / "tiny.yaml"
    manifest.write_text(text)
    run = tmp_path / "run"
    result = invoke("run", "--method", "reference", "--method", "shuffle", "--manifest", str(manifest), "--out", str(run),
                    "--device", "cpu", "--limit", "1", "--metric", "motion_fidelity", "--variant", "matched",
                    "--tracker", "gt", "--grid", "8", "--metric", "clip_text", "--clip", random_clip)
    assert result.exit_code == 0, result.output
    store = RunStore(run)
    assert sorted(store.latest_generations()) == ["reference/curve/0-s0", "shuffle/curve/0-s0"]  # --limit 1
    records = store.score_records()
    assert {(r.metric, r.variant, r.status) for r in records} == {("motion_fidelity", "matched", "ok"),
                                                                   ("clip_text", "", "ok")}
    motion = [r for r in records if r.metric == "motion_fidelity"]
    assert all(r.backend.startswith("reference=gt;generated=lk:") and ":grid=8:" in r.backend for r in motion)
    gt_options = FeatureOptions(clip=random_clip, tracker="gt", grid=8)
    expected = _oracle(run, "curve", gt_options, ("motion_fidelity/matched", "clip_text"))
    assert {(r.job, r.metric): r.value for r in records} == pytest.approx(expected, abs=1e-9)
    copy, shuffled = (expected[(f"{m}/curve/0-s0", "motion_fidelity")] for m in ("reference", "shuffle"))
    assert copy > 0.7 and copy > shuffled  # LK on the copy, against the true tracks
    unboxed = _oracle(run, "curve", gt_options, ("motion_fidelity/matched",), use_box=False)
    # the box matters (other points on both sides), so a scorer that never got it would store other numbers
    assert max(abs(unboxed[k] - expected[k]) for k in unboxed) > 1e-3

    again = invoke("score", str(run), "--device", "cpu", "--metric", "motion_fidelity", "--variant", "matched",
                   "--tracker", "lk", "--grid", "6")
    assert "scored 2 video(s) (2 values ok" in words(again.output)
    lk = {(r.job, r.metric): r.value for r in RunStore(run).score_records() if r.backend.startswith("lk:")}
    assert lk == pytest.approx(_oracle(run, "curve", FeatureOptions(tracker="lk", grid=6), ("motion_fidelity/matched",)),
                               abs=1e-9)
    missing = invoke("score", str(run), "--device", "cpu", "--metric", "motion_fidelity", "--variant", "matched",
                     "--tracker", "cotracker3", "--grid", "6")
    assert "2 skipped" in words(missing.output)  # asked for CoTracker3, which is not here: never LK instead
    skipped = [r for r in RunStore(run).score_records() if r.status == "skipped"]
    assert len(skipped) == 2 and all(r.backend == "cotracker3:unavailable" for r in skipped)


def test_clip_frames_cuts_each_clip_for_the_method_the_truth_and_every_later_scoring(tmp_path: Path) -> None:
    """`--clip-frames N` keeps a clip's first N frames, its motion at its own speed (where --num-frames
    resamples the whole clip), for the method, the reference video, the ground truth and `score`."""
    from motionbench.bench.manifest import first_frames, load_manifest
    from motionbench.run.references import load_reference_clip
    from motionbench.video import read_video

    text = (Path(__file__).parent / "fixtures" / "tiny_synthetic_manifest.yaml").read_text()
    manifest = tmp_path / "tiny.yaml"
    manifest.write_text(text.replace("[48, 48]", "[64, 64]").replace("count: 9", "count: 17"))
    base = ("run", "--method", "reference", "--manifest", str(manifest), "--device", "cpu", "--limit", "1",
            "--metric", "motion_fidelity", "--variant", "matched", "--tracker", "gt", "--grid", "8")
    cut = invoke(*base, "--out", str(tmp_path / "cut"), "--clip-frames", "9")
    spread = invoke(*base, "--out", str(tmp_path / "spread"), "--num-frames", "9")
    assert cut.exit_code == spread.exit_code == 0, cut.output + spread.output
    full, truth = load_reference_clip(load_manifest(manifest).samples[0])
    cut_rec, = RunStore(tmp_path / "cut").latest_generations().values()
    spread_rec, = RunStore(tmp_path / "spread").latest_generations().values()
    assert cut_rec.num_frames == spread_rec.num_frames == 9
    cut_video = read_video(tmp_path / "cut" / cut_rec.video).frames.astype(int)
    spread_video = read_video(tmp_path / "spread" / spread_rec.video).frames.astype(int)
    # the cut run's copy is the clip's first 9 frames; the resampled one spreads 9 frames over all 17
    first, spread_out = full.frames[:9].astype(int), full.frames[::2].astype(int)  # sample_indices(17, 9) = 0, 2, ..
    err = lambda a, b: np.abs(a - b).mean()  # noqa: E731
    # the cut run's copy is the clip's first 9 frames; the resampled one spreads 9 frames over all 17
    assert err(cut_video, first) < err(cut_video, spread_out) and err(spread_video, spread_out) < err(spread_video, first)
    assert RunStore(tmp_path / "cut").read_run_info().settings.clip_frames == 9
    assert len(truth.tracks[0]) == 17 and first_frames(load_manifest(manifest).samples[0], 9).frames.count == 9
    score, = [r for r in RunStore(tmp_path / "cut").score_records()]
    assert score.status == "ok" and score.value > 0.7  # LK on the copy against the cut clip's true tracks

    again = invoke("score", str(tmp_path / "cut"), "--device", "cpu", "--metric", "motion_fidelity", "--variant",
                   "matched", "--tracker", "gt", "--grid", "6")
    assert "scored 1 video(s) (1 values ok" in words(again.output)  # rescoring loads the cut clip too
    with pytest.raises(ConfigError, match=r"clip_frames=9, this command asks for 5"):
        invoke(*base, "--out", str(tmp_path / "cut"), "--clip-frames", "5")
