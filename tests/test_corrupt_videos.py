"""A cut-off or corrupt video is refused, naming the file, by every command that reads videos.

The cut-off file is made with the real encoder (libx264 through PyAV, its index at the front as
``-movflags faststart`` writes it, which is how most downloaded clips come) and cut at a packet
boundary: decoders open it without an error and hand back its first frames, so only comparing
with what the container declares catches it. A cut inside a packet, and bytes that are no video,
are checked too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import moving_texture, pixel_scorer, use_plugin, write_manifest  # noqa: E402

use_plugin()  # the test plug-in's pixel_l1 metric: scoring without CLIP weights or a tracker

from motionbench.cli import app  # noqa: E402
from motionbench.errors import VideoError  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import probe, read_video, write_video  # noqa: E402

DECLARED = 30


def _faststart_mp4(path: Path, frames: np.ndarray, fps: int = 8) -> Path:
    import av

    with av.open(str(path), mode="w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _cut(src: Path, dst: Path, *, packets: int | None = None, fraction: float | None = None) -> Path:
    import av

    data = src.read_bytes()
    if packets is not None:
        with av.open(str(src)) as container:
            ends = sorted(p.pos + p.size for p in container.demux(video=0) if p.size)
        end = ends[packets - 1]
    else:
        end = int(len(data) * fraction)
    dst.write_bytes(data[:end])
    return dst


@pytest.fixture
def damaged(tmp_path: Path) -> dict[str, Path]:
    """A whole clip and three damaged ones, as file names a manifest or a --videos folder would use."""
    whole = _faststart_mp4(tmp_path / "whole.mp4", moving_texture(DECLARED, (64, 64)))
    return {
        "whole": whole,
        "cut-at-packet": _cut(whole, tmp_path / "cut-at-packet.mp4", packets=2),
        "cut-in-packet": _cut(whole, tmp_path / "cut-in-packet.mp4", fraction=0.6),
        "garbage": _garbage(tmp_path / "garbage.mp4"),
    }


def _garbage(path: Path) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return path


BROKEN = ["cut-at-packet", "cut-in-packet", "garbage"]


def test_the_premise_decoders_take_a_file_cut_at_a_packet_boundary(damaged: dict[str, Path]) -> None:
    import decord

    vr = decord.VideoReader(str(damaged["cut-at-packet"]))
    assert len(vr) == 2 and vr.get_batch([0, 1]).asnumpy().shape == (2, 64, 64, 3)  # no error, two frames


@pytest.mark.parametrize("name", BROKEN)
@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_probe_and_read_refuse_a_damaged_file_naming_it(damaged: dict[str, Path], monkeypatch, name: str,
                                                        backend: str) -> None:
    import motionbench.video as video

    if backend == "pyav":
        monkeypatch.setattr(video, "_decord_available", lambda: False)
    assert probe(damaged["whole"]).num_frames == DECLARED
    for reader in (probe, read_video):
        with pytest.raises(VideoError, match=rf"{name}\.mp4: .*(truncated|corrupt|cannot be decoded)"):
            reader(damaged[name])
    if name == "cut-at-packet":
        with pytest.raises(VideoError, match=rf"declares {DECLARED} frames but only 2 can be read"):
            probe(damaged[name])


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("name", BROKEN)
def test_add_refuses_it_and_leaves_the_manifest_alone(tmp_path: Path, damaged: dict[str, Path], name: str) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    before = manifest.read_bytes()
    result = _invoke("add", str(damaged[name]), "--category", "camera", "--prompt", "x", "--manifest", str(manifest))
    assert isinstance(result.exception, VideoError) and f"{name}.mp4" in str(result.exception)
    assert manifest.read_bytes() == before
    ok = _invoke("add", str(damaged["whole"]), "--category", "camera", "--prompt", "x", "--manifest", str(manifest))
    assert ok.exit_code == 0, ok.output


def test_validate_lists_it(tmp_path: Path, damaged: dict[str, Path]) -> None:
    from motionbench.bench.validate import validate_manifest

    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    text = manifest.read_text()
    for name in BROKEN:
        text += f"  - id: {name}\n    category: camera\n    source: {{path: {damaged[name]}}}\n    prompts: [x]\n"
    manifest.write_text(text)
    problems = validate_manifest(manifest)
    assert sorted(p.where for p in problems) == sorted(f"sample {n!r}, field 'source'" for n in BROKEN)
    assert all(any(f"{n}.mp4" in str(p) for p in problems) for n in BROKEN)


@pytest.mark.parametrize("name", BROKEN)
@pytest.mark.parametrize("command", ["motion-fidelity", "clip-temporal", "clip-text"])
def test_metric_commands_refuse_it_instead_of_printing_a_score(damaged: dict[str, Path], name: str,
                                                                command: str) -> None:
    args = {"motion-fidelity": ["-r", str(damaged["whole"]), "-g", str(damaged[name]), "--tracker", "lk"],
            "clip-temporal": [str(damaged[name]), "--clip", "mb-tiny:random"],
            "clip-text": [str(damaged[name]), "-p", "a cat", "--clip", "mb-tiny:random"]}[command]
    result = _invoke("metric", command, *args, "--json")
    assert isinstance(result.exception, VideoError) and f"{name}.mp4" in str(result.exception), result.output
    assert result.stdout == ""  # no score record at all


def test_score_videos_skips_it_records_nothing_for_it_and_exits_1(tmp_path: Path, damaged: dict[str, Path]) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"}, num_frames=DECLARED)
    videos = tmp_path / "theirs"
    write_video(videos / "a" / "0-s0.mp4", moving_texture(DECLARED, (64, 64)), 8.0)
    (videos / "b").mkdir()
    (videos / "b" / "0-s0.mp4").write_bytes(damaged["cut-at-packet"].read_bytes())
    out = tmp_path / "scored"
    result = _invoke("score", "--videos", str(videos), "--manifest", str(manifest), "--out", str(out), "--device", "cpu",
                     "--metric", "pixel_l1")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "skipped:" in text and "b/0-s0.mp4: truncated or corrupt" in text and "1 video(s) or sample(s) were not scored" in text
    store = RunStore(out)
    assert sorted(store.latest_generations()) == ["theirs/a/0-s0"]  # no ok record for the damaged file
    assert [r.job for r in store.score_records()] == ["theirs/a/0-s0"]  # and no score, 0.0 or other


def test_run_fails_the_jobs_of_a_sample_whose_reference_is_cut_off(tmp_path: Path, damaged: dict[str, Path]) -> None:
    from motionbench.run.execute import MethodChoice
    from motionbench.run.runner import RunConfig, execute_run

    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    (tmp_path / "data" / "b.mp4").write_bytes(damaged["cut-at-packet"].read_bytes())
    summary = execute_run(RunConfig(methods=(MethodChoice("static"),), out=tmp_path / "run", manifest=manifest,
                                    device="cpu"), scorer=pixel_scorer())
    latest = RunStore(tmp_path / "run").latest_generations()
    assert summary.exit_code == 1 and {j for j, r in latest.items() if r.status == "ok"} == {"static/a/0-s0", "static/a/1-s0"}
    assert all("VideoError" in latest[j].error and "b.mp4: truncated or corrupt" in latest[j].error
               for j in ("static/b/0-s0", "static/b/1-s0"))
    assert not RunStore(tmp_path / "run").reference_video_path("b").exists()
    assert {r.job for r in RunStore(tmp_path / "run").score_records()} == {"static/a/0-s0", "static/a/1-s0"}
