"""`motionbench metric ...`, `doctor` and `download` through the real typer app."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from motionbench.metrics.motion_fidelity import motion_fidelity
from motionbench.metrics.tracks import Tracks, save_tracks
from motionbench.video import write_video
from tests.test_trackers import camera_clip

from motionbench.cli import app
from motionbench.errors import WeightsError

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setenv("MOTIONBENCH_CACHE", str(tmp_path / "mb"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("MOTIONBENCH_COTRACKER_REPO", raising=False)
    monkeypatch.delenv("MOTIONBENCH_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    ref = write_video(d / "ref.mp4", camera_clip("zigzag", seed=0)[0], 8.0)
    same = write_video(d / "same.mp4", camera_clip("zigzag", seed=7)[0], 8.0)
    other = write_video(d / "other.mp4", camera_clip("circle", seed=7)[0], 8.0)
    return ref, same, other


def _json(result) -> dict:
    assert result.stdout.count("\n") == 1, result.stdout
    return json.loads(result.stdout)


def test_motion_fidelity_on_two_videos_prints_one_json_record(videos):
    ref, same, other = videos
    args = ["metric", "motion-fidelity", "--reference", str(ref), "--tracker", "lk", "--grid", "16", "--json"]
    hi = runner.invoke(app, args + ["--generated", str(same)])
    lo = runner.invoke(app, args + ["--generated", str(other), "--variant", "symmetric"])
    assert hi.exit_code == 0 and lo.exit_code == 0, hi.output + lo.output
    rec_hi, rec_lo = _json(hi), _json(lo)
    assert rec_hi["metric"] == "motion_fidelity" and rec_hi["variant"] == "dmt" and rec_lo["variant"] == "symmetric"
    assert rec_hi["backend"].startswith("lk:") and "grid=16" in rec_hi["backend"]
    assert "S - I" in rec_hi["convention"] and rec_hi["status"] == "ok"
    assert rec_hi["value"] > 0.8 > rec_lo["value"] + 0.3


def test_motion_fidelity_on_track_files(tmp_path):
    rng = np.random.default_rng(0)
    a = Tracks(np.cumsum(rng.normal(size=(20, 7, 2)), axis=1) + 50, np.ones((20, 7), bool), (100, 100))
    b = Tracks(np.cumsum(rng.normal(size=(20, 7, 2)), axis=1) + 50, np.ones((20, 7), bool), (100, 100))
    pa, pb = save_tracks(tmp_path / "a.npz", a), save_tracks(tmp_path / "b.npz", b)
    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(pa), "-g", str(pb), "--json"])
    assert res.exit_code == 0, res.output
    rec = _json(res)
    assert rec["value"] == pytest.approx(motion_fidelity(b, a, "dmt"), abs=1e-6)
    assert rec["backend"] == "reference=file:a.npz;generated=file:b.npz"


def test_clip_temporal_with_a_tiny_model(videos, tmp_path):
    import open_clip

    cfg = {"embed_dim": 16, "quick_gelu": True,
           "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    (tmp_path / "mb-cli-tiny.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "mb-cli-tiny.json")
    res = runner.invoke(app, ["metric", "clip-temporal", str(videos[0]), "--clip", "mb-cli-tiny:random", "--json"])
    assert res.exit_code == 0, res.output
    rec = _json(res)
    assert rec["metric"] == "clip_temporal" and rec["variant"] == "" and -1 <= rec["value"] <= 1
    assert rec["backend"] == "open_clip:mb-cli-tiny:random-init"
    res = runner.invoke(app, ["metric", "clip-text", str(videos[0]), "-p", "a pan", "--clip", "mb-cli-tiny:random"])
    assert res.exit_code == 0 and "clip_text:" in res.stdout and "raw cosine" in res.stdout
    # The runner's window and size options, and the output says what it scored.
    res = runner.invoke(app, ["metric", "clip-temporal", str(videos[0]), "--clip", "mb-cli-tiny:random",
                              "--num-frames", "3", "--size", "32x32", "--json"])
    applied = _json(res)["inputs"]["video"]
    assert res.exit_code == 0 and (applied["frames"], applied["size"]) == (3, [32, 32])


def test_clip_text_without_weights_is_skipped_with_the_command(videos):
    res = runner.invoke(app, ["metric", "clip-text", str(videos[0]), "--prompt", "a dog", "--json"])
    assert res.exit_code == 3
    rec = _json(res)
    assert rec["status"] == "skipped" and rec["value"] is None and "motionbench download clip" in rec["reason"]


def test_help_states_the_clip_convention():
    res = runner.invoke(app, ["metric", "clip-text", "--help"])
    text = " ".join(res.stdout.split())
    assert res.exit_code == 0 and "raw cosine" in text and "no clamp" in text


def test_doctor_says_weights_are_absent_and_how_to_get_them():
    res = runner.invoke(app, ["doctor"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert "CLIP weights are absent" in out and "motionbench download clip" in out
    assert "CoTracker3 is absent" in out and "motionbench download cotracker" in out
    assert "lk (CoTracker3 is absent)" in out
    assert "source checkout at" in out and "package data" in out and "git commit" in out  # the first rows


def test_bad_inputs_are_clear_errors(videos, tmp_path):
    from motionbench.errors import ConfigError, VideoError

    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(videos[0]), "-g", str(tmp_path / "no.mp4"), "--tracker", "lk"])
    assert isinstance(res.exception, VideoError) and "no.mp4" in str(res.exception)
    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(videos[0]), "-g", str(videos[1]), "--variant", "paper"])
    assert isinstance(res.exception, ConfigError) and "dmt, symmetric" in str(res.exception)
    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(videos[0]), "-g", str(videos[1]), "--box", "5,5,2,2"])
    assert isinstance(res.exception, ConfigError) and "--box" in str(res.exception)
    res = runner.invoke(app, ["download", "wan"])
    assert isinstance(res.exception, ConfigError)


def test_main_turns_weights_errors_into_one_line(monkeypatch, capsys):
    """`motionbench download` without a network: exit 2 and a one-line error, no traceback."""
    from motionbench import weights
    from motionbench.cli import main

    def offline(*a, **k):
        raise WeightsError("could not download https://example/ViT-B-32.pt (URLError: no network)")

    monkeypatch.setattr(weights, "download", offline)
    monkeypatch.setattr(sys, "argv", ["motionbench", "download", "clip"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "could not download" in err and "Traceback" not in err


def test_track_file_without_size_takes_the_video_size(videos, tmp_path):
    """Ground-truth tracks as `motionbench synth` writes them (no size entry) against a video."""
    _, gt = camera_clip("zigzag", seed=0)
    path = tmp_path / "ref.tracks.npz"
    np.savez(path, tracks=gt.tracks, visibility=gt.visibility)
    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(path), "-g", str(videos[1]), "--tracker", "lk",
                              "--grid", "16", "--json"])
    assert res.exit_code == 0, res.output
    rec = _json(res)
    assert rec["value"] > 0.8 and rec["backend"].startswith("reference=file:ref.tracks.npz;generated=lk:")


def test_two_track_files_without_size_are_one_pixel_space(tmp_path):
    """Tracks of one video saved without `size`: compared as they are, not each rescaled to its own extent."""
    rng = np.random.default_rng(3)
    ref = np.cumsum(rng.normal(size=(30, 8, 2)), axis=1) + [60.0, 30.0]
    left = np.argsort(ref[..., 0].max(axis=1))[:12]  # the points that stay furthest left: a narrower extent
    gen = ref[left] + rng.normal(scale=0.3, size=(12, 8, 2))
    np.savez(tmp_path / "ref.npz", tracks=ref)
    np.savez(tmp_path / "gen.npz", tracks=gen)
    for variant in ("dmt", "matched"):
        res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(tmp_path / "ref.npz"), "-g",
                                  str(tmp_path / "gen.npz"), "--variant", variant, "--json"])
        assert res.exit_code == 0, res.output
        same_space = (int(np.ceil(ref[..., 0].max())) + 1, int(np.ceil(ref[..., 1].max())) + 1)
        unscaled = motion_fidelity(Tracks(gen, np.ones(gen.shape[:2], bool), same_space),
                                   Tracks(ref, np.ones(ref.shape[:2], bool), same_space), variant)
        assert _json(res)["value"] == pytest.approx(unscaled, abs=1e-9)
    # A file that states its size puts a file without one in that pixel space.
    np.savez(tmp_path / "ref_sized.npz", tracks=ref, size=[200, 100])
    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(tmp_path / "ref_sized.npz"), "-g",
                              str(tmp_path / "gen.npz"), "--variant", "matched", "--json"])
    sized = motion_fidelity(Tracks(gen, np.ones(gen.shape[:2], bool), (200, 100)),
                            Tracks(ref, np.ones(ref.shape[:2], bool), (200, 100)), "matched")
    assert _json(res)["value"] == pytest.approx(sized, abs=1e-9)


def test_single_video_commands_take_the_runners_window_and_say_what_they_applied(videos):
    from motionbench.metrics.trackers import LKTracker
    from motionbench.video import probe, read_video

    ref, same, _ = videos
    n, (w, h) = probe(ref).num_frames, (probe(ref).width, probe(ref).height)
    window = ["--start", "2", "--count", "8", "--num-frames", "5", "--size", "48x40"]
    res = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(ref), "-g", str(same), "--tracker", "lk",
                              "--grid", "8", *window, "--json"])
    assert res.exit_code == 0, res.output
    rec = _json(res)
    assert rec["inputs"]["reference"] == {"file": str(ref), "source_frames": n, "source_size": [w, h],
                                          "window": [2, 10], "frames": 5, "size": [48, 40]}
    assert rec["inputs"]["generated"]["file"] == str(same) and rec["inputs"]["generated"]["frames"] == 5
    # The value is the metric of exactly those frames.
    lk = LKTracker(grid=8)
    a, b = (read_video(p, start=2, count=8, num_frames=5, size=(48, 40)) for p in (ref, same))
    assert rec["value"] == pytest.approx(motion_fidelity(lk.track(b.frames), lk.track(a.frames), "dmt"), abs=1e-9)
    text = runner.invoke(app, ["metric", "motion-fidelity", "-r", str(ref), "-g", str(same), "--tracker", "lk",
                               "--grid", "8", *window])
    out = " ".join(text.stdout.split())
    assert f"reference: {ref} (frames 2-9 of {n}, resampled to 5; {w}x{h} -> 48x40)" in out


def test_a_clip_too_long_to_decode_names_the_options_that_shorten_it(videos, monkeypatch):
    import motionbench.video as video
    from motionbench.errors import ConfigError, VideoError

    ref, same, _ = videos
    monkeypatch.setattr(video, "MAX_DECODED_PIXELS", 8 * 96 * 96)  # pretend memory allows 8 of the 12 frames
    args = ["metric", "motion-fidelity", "-r", str(ref), "-g", str(same), "--tracker", "lk", "--grid", "8", "--json"]
    res = runner.invoke(app, args)
    assert isinstance(res.exception, VideoError) and "ref.mp4" in str(res.exception)
    assert "--count, --num-frames, --size" in str(res.exception)
    res = runner.invoke(app, args + ["--num-frames", "6", "--size", "48x40"])
    assert res.exit_code == 0, res.output
    for bad, message in ((["--num-frames", "1"], "--num-frames must be from 2"), (["--size", "5x5"], "--size"),
                         (["--count", "0"], "--count must be from 2"), (["--start", "-1"], "--start must be >= 0")):
        res = runner.invoke(app, args + bad)
        assert isinstance(res.exception, ConfigError) and message in str(res.exception)
