"""Manifest schema: typed loading, and validation that names every problem with its sample and field."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from motionbench.bench.manifest import FileSource, Sample, load_manifest, parse_manifest
from motionbench.bench.validate import validate_manifest
from motionbench.errors import ManifestError

HEADER = """\
schema_version: 1
name: test-bench
version: "1"
categories:
  camera: {description: Camera motion.}
  single_object: {description: One object.}
samples:
"""


def write_manifest(folder: Path, body: str) -> Path:
    path = folder / "manifest.yaml"
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(body), "  "))
    return path


def test_loading_yields_typed_records_with_resolved_paths(tmp_path: Path, make_video) -> None:
    make_video("pan.mp4", num_frames=12)
    path = write_manifest(tmp_path, """\
        - id: pan
          category: camera
          source: {path: pan.mp4}
          frames: {start: 2, count: 8}
          fps: 4
          size: [64, 48]
          prompts: ["a red car", "  a blue boat  "]
          box: [1, 2, 30, 40]
          attribution: test
        """)
    m = load_manifest(path)
    (s,) = m.samples
    assert isinstance(s, Sample) and isinstance(s.source, FileSource)
    assert s.source.path == tmp_path / "pan.mp4"
    assert s.prompts == ("a red car", "a blue boat")
    assert (s.frames.start, s.frames.count, s.fps, s.size, s.box) == (2, 8, 4.0, (64, 48), (1.0, 2.0, 30.0, 40.0))
    assert m.category_names() == ("camera", "single_object")
    assert validate_manifest(path) == []


def test_every_problem_is_reported_at_once_with_sample_and_field(tmp_path: Path, make_video) -> None:
    make_video("short.mp4", num_frames=3)
    (tmp_path / "notvideo.mp4").write_text("hello")
    path = write_manifest(tmp_path, """\
        - id: gone
          category: camera
          source: {path: missing.mp4}
          prompts: [a cat]
        - id: garbage
          category: camera
          source: {path: notvideo.mp4}
          prompts: [a cat]
        - id: twice
          category: camera
          source: {path: short.mp4}
          prompts: [a cat]
        - id: twice
          category: camera
          source: {path: short.mp4}
          prompts: [a dog]
        - id: where
          category: underwater
          source: {path: short.mp4}
          prompts: [a fish]
        - id: silent
          category: camera
          source: {path: short.mp4}
          prompts: ["a cat", "   "]
        - id: typed
          category: camera
          source: {path: short.mp4}
          fps: fast
          prompts: [a cat]
        - id: long
          category: camera
          source: {path: short.mp4}
          frames: {start: 0, count: 10}
          prompts: [a cat]
        """)
    problems = validate_manifest(path)
    text = "\n".join(map(str, problems))
    expected = [
        ("'gone'", "not found"),
        ("'garbage'", "cannot be decoded"),
        ("'twice'", "duplicate id"),
        ("'where'", "'category' is 'underwater'"),
        ("'silent'", "prompts[1]"),
        ("'typed'", "'fps' must be a finite number above 0"),
        ("'long'", "has 3 frames"),
    ]
    for sample_id, message in expected:
        assert any(sample_id in p.where and message in str(p) for p in problems), (sample_id, message, text)
    with pytest.raises(ManifestError, match="problem"):
        load_manifest(path)


def test_schema_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("schema_version: 7\ncategories: []\nsamples: {}\n")
    _, problems = parse_manifest(path)
    text = "\n".join(map(str, problems))
    assert "schema_version" in text and "'categories'" in text and "'samples'" in text
    path.write_text("samples: [\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        parse_manifest(path)
    with pytest.raises(ManifestError, match="not found"):
        parse_manifest(tmp_path / "nope.yaml")


def test_url_sources_need_a_checksum(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, """\
        - id: remote
          category: camera
          source: {url: "https://example.org/v.mp4", sha256: "abc"}
          prompts: [a cat]
        """)
    _, problems = parse_manifest(path)
    assert any("sha256" in str(p) for p in problems)


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motionbench", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_validate_cli_exits_1_and_lists_problems(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, """\
        - id: a
          category: nowhere
          source: {path: missing.mp4}
          prompts: [""]
        """)
    result = _cli("validate", str(path))
    assert result.returncode == 1
    assert "nowhere" in result.stderr and "missing.mp4" in result.stderr and "prompts[0]" in result.stderr


def test_add_appends_a_real_clip_and_keeps_comments(tmp_path: Path, make_video) -> None:
    video = make_video("My Dance Clip.mp4", num_frames=10)
    make_video("first.mp4")
    path = write_manifest(tmp_path, """\
        # the first sample, keep this comment
        - id: first
          category: camera
          source: {path: first.mp4}
          prompts: [a cat]
        """)
    result = _cli("add", str(video), "--category", "single_object", "--prompt", "a robot dancing",
                  "--prompt", "a bear dancing", "--manifest", str(path))
    assert result.returncode == 0, result.stderr
    text = path.read_text()
    assert "# the first sample, keep this comment" in text
    m = load_manifest(path)
    assert [s.id for s in m.samples] == ["first", "my-dance-clip"]
    assert m.samples[1].prompts == ("a robot dancing", "a bear dancing")
    assert validate_manifest(path) == []
    # Adding the same id again is refused and leaves the file as it was.
    before = path.read_text()
    again = _cli("add", str(video), "--category", "camera", "--prompt", "x", "--manifest", str(path))
    assert again.returncode == 2 and "duplicate id" in again.stderr
    assert path.read_text() == before
    bad = _cli("add", str(tmp_path / "none.mp4"), "--category", "camera", "--prompt", "x", "--manifest", str(path))
    assert bad.returncode == 2 and "none.mp4" in bad.stderr and path.read_text() == before


def test_ls_json_and_no_torch_import(tmp_path: Path, make_video) -> None:
    make_video("pan.mp4")
    path = write_manifest(tmp_path, """\
        - id: pan
          category: camera
          source: {path: pan.mp4}
          prompts: [a, b]
        """)
    result = _cli("ls", "--manifest", str(path), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["samples"][0]["id"] == "pan" and len(data["samples"][0]["prompts"]) == 2
    # ls (both forms) and validate must answer without importing torch (they should be instant). One
    # process runs them in turn and says after each whether torch is loaded (once loaded, it stays).
    commands = [["ls", "--manifest", str(path)], ["ls", "--manifest", str(path), "--json"], ["validate", str(path)]]
    probe = ("import sys, runpy\n"
             f"for argv in {commands!r}:\n"
             "    sys.argv = ['motionbench', *argv]\n"
             "    try:\n        runpy.run_module('motionbench', run_name='__main__')\n    except SystemExit as e:\n"
             "        assert not e.code, (argv, e.code)\n"
             "    print('@@', argv[0], argv[-1], 'TORCH' if 'torch' in sys.modules else 'NOTORCH')\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    verdicts = [line.split(None, 1)[1] for line in out.stdout.splitlines() if line.startswith("@@ ")]
    assert verdicts == [f"ls {path} NOTORCH", "ls --json NOTORCH", f"validate {path} NOTORCH"], out.stdout + out.stderr


def test_add_changes_only_the_lines_of_the_new_entry(tmp_path: Path, make_video) -> None:
    import difflib

    import yaml

    make_video("first.mp4")
    video = make_video("New Clip.mp4", num_frames=10)
    text = ("# My benchmark, hand-formatted\n"
            "schema_version: 1\n"
            'name:   "odd   spacing"   # a comment\n'
            "categories:\n"
            "  camera: {description: Camera motion.}\n"
            "  single_object:\n"
            '      description: "One object."\n'
            "samples:\n"
            "    # the first sample, keep\n"
            "    -   id: first\n"
            "        category: camera\n"
            "        source: {path: first.mp4}\n"
            "        prompts: [ \"a cat\",   'a dog' ]   # inline comment\n"
            "\n"
            "# a section after the samples\n"
            "defaults: {fps: 8}\n")
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    prompts = ['a "quoted": prompt\nover two lines', "- a leading dash", "$(touch PWNED); `x`"]
    result = _cli("add", str(video), "--category", "single_object", *[a for p in prompts for a in ("--prompt", p)],
                  "--manifest", str(path))
    assert result.returncode == 0, result.stderr
    after = path.read_text()
    diff = [ln for ln in difflib.ndiff(text.splitlines(), after.splitlines()) if ln[:1] in "+-"]
    assert not [ln for ln in diff if ln.startswith("-")]  # no line of the old file changed or moved
    added = [ln[2:] for ln in diff]
    assert after.replace("\n".join(added) + "\n", "", 1) == text  # the new lines are one contiguous block
    assert added[0] == "    - id: new-clip" and all(ln.startswith("      ") for ln in added[1:])
    m = load_manifest(path)
    assert [s.id for s in m.samples] == ["first", "new-clip"] and m.samples[1].prompts == tuple(prompts)
    assert yaml.safe_load(after)["defaults"] == {"fps": 8}
    assert not (tmp_path / "PWNED").exists()


def test_add_names_a_long_file_within_the_id_limit(tmp_path: Path, make_video) -> None:
    video = make_video("a" * 40 + " very long clip name " + "b" * 40 + ".mp4")
    make_video("first.mp4")
    path = write_manifest(tmp_path, """\
        - id: first
          category: camera
          source: {path: first.mp4}
          prompts: [a cat]
        """)
    result = _cli("add", str(video), "--category", "camera", "--prompt", "x", "--manifest", str(path))
    assert result.returncode == 0, result.stderr
    new = load_manifest(path).samples[-1].id
    assert len(new) <= 64 and new.startswith("aaaa") and not new.endswith("-")
