"""Editing a manifest in place (``motionbench add``): the new entry is appended as text, nothing else moves.

A manifest is a file people review in diffs, so adding a sample must change only the lines of that
sample: the entry is rendered on its own, indented like the file's other samples, and inserted as
text after the last line of the ``samples`` list; every other byte stays as it was. The result is
checked by parsing it: the old samples must read back unchanged and the new one as given. A layout
this cannot follow (a flow-style ``samples: [...]``) is rewritten by a YAML round trip instead, which
keeps comments and data but may reflow lines; the result says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from motionbench import limits
from motionbench.bench.manifest import parse_manifest
from motionbench.errors import ManifestError
from motionbench.tasks import MOTION_TRANSFER, RECAPTURE


SPOT_CHECK_FRAMES = 8  # frames of a new clip decoded before it is added


@dataclass(frozen=True)
class AddedSample:
    entry: dict[str, Any]
    rewritten: bool  # True: the file was re-serialised (its layout could not take a textual append)


def add_sample(manifest_path: Path, video: Path, *, category: str, prompts: Sequence[str], sample_id: str,
               frames: int | None = None, attribution: str | None = None, task: str = MOTION_TRANSFER,
               paths: Sequence[str] = ()) -> AddedSample:
    """Append a file sample after checking the video and the new entry; the file is replaced atomically.

    A recapture sample (``task="recapture"``) gets its camera ``paths`` (short forms, checked with
    the rest of the entry) and at most one prompt, which it may leave out.

    The new entry is validated by parsing the edited manifest before anything is written, so a bad
    addition leaves the manifest untouched.

    Raises:
        VideoError: the video cannot be read whole (truncated, corrupt) or has too few frames.
        ManifestError: duplicate id, unknown category, empty prompt, a limit exceeded, or the
            manifest cannot be read.
    """
    from motionbench.video import probe, read_video

    manifest_path = Path(manifest_path).resolve()
    if task != RECAPTURE and not prompts:
        raise ManifestError("--prompt is required: a motion-transfer sample needs at least one prompt")
    if task != RECAPTURE and paths:
        raise ManifestError("--path applies to recapture samples: add --task recapture")
    if task == RECAPTURE and not paths:
        raise ManifestError("a recapture sample needs at least one --path (e.g. --path orbit:phi=20)")
    if frames is not None and (problem := limits.frames_problem(frames)) is not None:
        raise ManifestError(f"--frames {problem}")
    info = probe(video)  # raises VideoError naming the file, also for a truncated one
    if info.num_frames < limits.MIN_FRAMES or (frames is not None and frames > info.num_frames):
        raise ManifestError(f"{video}: has {info.num_frames} frames; need at least {frames or limits.MIN_FRAMES}")
    # Decode frames spread over the clip (small, to stay cheap): damaged data inside an intact container.
    read_video(video, num_frames=min(SPOT_CHECK_FRAMES, info.num_frames), size=(64, 64))
    text = manifest_path.read_text(encoding="utf-8")
    try:
        old = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError(f"{manifest_path} is not valid YAML: {exc}") from None
    if not isinstance(old, dict) or not isinstance(old.get("samples"), list):
        raise ManifestError(f"{manifest_path}: has no 'samples' list to add to; run `motionbench validate {manifest_path}`")
    video = Path(video).resolve()
    try:
        rel = os.path.relpath(video, manifest_path.parent)
    except ValueError:  # another drive on Windows
        rel = str(video)
    entry: dict[str, Any] = {"id": sample_id, "category": category}
    if task == RECAPTURE:
        entry["task"] = task
    entry["source"] = {"path": rel}
    if frames is not None:
        entry["frames"] = {"start": 0, "count": frames}
    if task == RECAPTURE:
        entry["paths"] = list(paths)
    if prompts:
        entry["prompts"] = list(prompts)
    if attribution:
        entry["attribution"] = attribution

    new_text = _append_as_text(text, entry)
    rewritten = new_text is None or not _reads_back(new_text, old, entry)
    if rewritten:
        new_text = _round_trip(text, entry)
    tmp = manifest_path.with_name(f".{manifest_path.name}.partial")
    tmp.write_text(new_text, encoding="utf-8")
    _, problems = parse_manifest(tmp)
    # Problems in the new entry are the user's to fix now; the rest of the file was as it is.
    where = (f"sample {sample_id!r}", f"samples[{len(old['samples'])}]")
    mine = [p for p in problems if p.where == where[0] or p.where.startswith(where[0] + ",") or p.where == where[1]]
    if mine:
        tmp.unlink()
        raise ManifestError(f"{manifest_path}: not adding {sample_id!r}: " + "; ".join(str(p) for p in mine))
    os.replace(tmp, manifest_path)
    return AddedSample(entry, rewritten)


class _EntryDumper(yaml.SafeDumper):
    """Safe YAML, with strings holding line breaks double-quoted on one line ("a\\nb")."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if any(c in value for c in "\n\r\t") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_EntryDumper.add_representer(str, _represent_str)


def _append_as_text(text: str, entry: dict[str, Any]) -> str | None:
    """``text`` with ``entry`` inserted after the last line of its block-style ``samples`` list."""
    from ruamel.yaml import YAML

    doc = YAML().load(text)
    samples = doc["samples"]
    if not len(samples) or samples.fa.flow_style():
        return None
    lines = text.splitlines(keepends=True)
    line, col = samples.lc.item(0)
    dash = lines[line].rfind("-", 0, col)
    if dash < 0:
        return None
    # The list ends where the next top-level key starts (its own leading comments stay with it).
    keys = list(doc.keys())
    later = [doc.lc.key(k)[0] for k in keys[keys.index("samples") + 1:]]
    end = min(later) if later else len(lines)
    while end > 0 and (not lines[end - 1].strip() or (later and lines[end - 1].startswith("#"))):
        end -= 1
    block = yaml.dump([entry], Dumper=_EntryDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                      width=10**6)
    rendered = "".join(" " * dash + ln if ln.strip() else ln for ln in block.splitlines(keepends=True))
    head = "".join(lines[:end])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + rendered + "".join(lines[end:])


def _reads_back(new_text: str, old: dict[str, Any], entry: dict[str, Any]) -> bool:
    try:
        new = yaml.safe_load(new_text)
    except yaml.YAMLError:
        return False
    return (isinstance(new, dict) and new.get("samples") == old["samples"] + [entry]
            and {k: v for k, v in new.items() if k != "samples"} == {k: v for k, v in old.items() if k != "samples"})


def _round_trip(text: str, entry: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    rt = YAML()  # round-trip mode keeps comments and key order
    rt.preserve_quotes = True
    doc = rt.load(text)
    doc["samples"].append(entry)
    buf = io.StringIO()
    rt.dump(doc, buf)
    return buf.getvalue()
