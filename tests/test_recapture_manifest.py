"""The recapture task in the manifest: scene sources and camera paths, every problem named with its
sample and field, the embedded benchmark, and `motionbench add` / `ls` for recapture samples."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from motionbench.bench.manifest import SceneSource, load_manifest, parse_manifest
from motionbench.cli import app
from motionbench.recapture.trajectory import CameraPath
from motionbench.run.plan import plan_groups
from motionbench.tasks import DEFAULT_MANIFESTS, RECAPTURE

HEADER = """\
schema_version: 1
name: test-recapture
categories:
  static_scene: {description: only the camera moves}
  camera: {description: camera motion}
samples:
"""


def write(folder: Path, body: str) -> Path:
    path = folder / "manifest.yaml"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(body), "  "))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_the_embedded_recapture_benchmark_loads_as_scenes_with_their_paths(tmp_path: Path) -> None:
    manifest = load_manifest(DEFAULT_MANIFESTS[RECAPTURE])
    assert [s.id for s in manifest.samples] == ["room-a", "room-b", "room-ball", "room-box"]
    assert all(s.task == RECAPTURE and isinstance(s.source, SceneSource) and len(s.paths) == 3 for s in manifest.samples)
    assert {s.category for s in manifest.samples} == {"static_scene", "dynamic_scene"}
    assert manifest.samples[0].paths[0] == CameraPath.parse("orbit:phi=20")
    assert manifest.samples[3].paths[2].name == "orbit-rise"  # the long form keeps its name
    # Each path is one job per seed, in manifest order; a sample without a prompt plans an empty one.
    (group,) = plan_groups(["warp-only"], manifest.samples[:1], (0, 1))
    assert [(j.seed, j.path_index) for j in group.jobs] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert {j.prompt for j in group.jobs} == {""}
    # A caption (the manifest's field for what a clip shows) is the prompt when none is given.
    captioned = write(Path(tmp_path), """\
        - id: room
          category: static_scene
          task: recapture
          source: {scene: {seed: 1}}
          paths: [zoom]
          caption: a toy room
        """)
    (group,) = plan_groups(["warp-only"], load_manifest(captioned).samples, (0,))
    assert group.jobs[0].prompt == "a toy room"


def test_every_recapture_problem_is_named_with_its_sample_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        - id: flat
          category: static_scene
          task: recapture
          source: {synthetic: {generator: translate}}
          paths: ["orbit:phi=10"]
        - id: bad-path
          category: static_scene
          task: recapture
          source: {scene: {seed: 1, moving: dragon}}
          paths: ["orbit:phi=10", "spiral:phi=3"]
        - id: twice
          category: static_scene
          task: recapture
          source: {scene: {seed: 2}}
          paths: ["orbit:phi=10", {keys: [{at: 0}, {at: 1, phi: 10}]}]
          prompts: [one, two]
          box: [0, 0, 4, 4]
        - id: no-paths
          category: static_scene
          task: recapture
          source: {scene: {seed: 3}}
        - id: scene-without-task
          category: camera
          source: {scene: {seed: 4}}
          prompts: [a room]
        - id: transfer-with-paths
          category: camera
          source: {synthetic: {generator: translate}}
          prompts: [a cat]
          paths: ["zoom"]
        - id: other-task
          category: camera
          task: relighting
          source: {synthetic: {generator: translate}}
          prompts: [a cat]
        """)
    _, problems = parse_manifest(path)
    text = "\n".join(str(p) for p in problems)
    expected = [
        ("'flat'", "a recapture sample needs a 3-D scene"),
        ("'bad-path'", "'source.scene.moving' is 'dragon', not one of: auto, ball, box, none"),
        ("'bad-path'", "paths[1]"),
        ("'twice'", "'paths[1]' has the same geometry as paths[0]"),
        ("'twice'", "'prompts' has 2 entries; a recapture sample takes at most one"),
        ("'twice'", "field 'box' applies to motion transfer"),
        ("'no-paths'", "field 'paths' must be a non-empty list of camera paths"),
        ("'scene-without-task'", "scene sources serve the recapture task; add task: recapture and paths"),
        ("'transfer-with-paths'", "field 'paths' applies to recapture samples only"),
        ("'other-task'", "field 'task' is 'relighting', not one of: motion_transfer, recapture"),
    ]
    for sample, message in expected:
        assert any(sample in str(p) and message in str(p) for p in problems), f"{sample}: {message!r} not in\n{text}"
    assert "spiral" in text  # the unknown path kind is named


def test_add_appends_a_real_recapture_clip_and_ls_shows_its_paths(tmp_path: Path, make_video) -> None:
    video = make_video("street.mp4", num_frames=9)
    path = write(tmp_path, """\
        # keep this comment
        - id: room
          category: static_scene
          task: recapture
          source: {scene: {seed: 1, moving: none}}
          paths: ["orbit:phi=10"]
        """)
    before = path.read_text()
    refused = CliRunner().invoke(app, ["add", str(video), "--category", "static_scene", "--task", "recapture",
                                       "--manifest", str(path)])
    assert refused.exit_code != 0 and "needs at least one --path" in str(refused.exception or refused.output)
    bad = CliRunner().invoke(app, ["add", str(video), "--category", "static_scene", "--task", "recapture",
                                   "--path", "orbit:phi=10", "--path", "twirl", "--manifest", str(path)])
    assert bad.exit_code != 0 and "twirl" in str(bad.exception or bad.output)
    assert path.read_text() == before  # a refused addition leaves the file as it was

    added = invoke("add", str(video), "--category", "static_scene", "--task", "recapture", "--path", "orbit:phi=10",
                   "--path", "zoom:zoom=1.2", "--manifest", str(path))
    assert added.exit_code == 0, added.output
    assert "2 camera path(s)" in added.output and "# keep this comment" in path.read_text()
    street = load_manifest(path).samples[1]
    assert (street.id, street.task, street.prompts) == ("street", RECAPTURE, ())
    assert street.paths == (CameraPath.parse("orbit:phi=10"), CameraPath.parse("zoom:zoom=1.2"))

    listed = json.loads(invoke("ls", "--manifest", str(path), "--json").output)
    assert [s["task"] for s in listed["samples"]] == [RECAPTURE, RECAPTURE]
    assert CameraPath.parse(listed["samples"][1]["paths"][1]) == CameraPath.parse("zoom:zoom=1.2")
    table = invoke("ls", "--manifest", str(path))
    assert "paths: orbit:phi=10, zoom:zoom=1.2" in " ".join(table.output.split())
