"""Editing a manifest in place (``motionbench add``) without losing its comments or other entries."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from motionbench.bench.manifest import parse_manifest
from motionbench.errors import ManifestError


def add_sample(manifest_path: Path, video: Path, *, category: str, prompts: Sequence[str], sample_id: str,
               frames: int | None = None, attribution: str | None = None) -> dict[str, Any]:
    """Append a file sample after checking the video and the new entry; the file is rewritten atomically.

    The new entry is validated by re-parsing the edited manifest before anything is written, so a
    bad addition leaves the manifest untouched.

    Raises:
        VideoError: the video cannot be read or has too few frames.
        ManifestError: duplicate id, unknown category, empty prompt, or the manifest is already broken.
    """
    from ruamel.yaml import YAML

    from motionbench.video import probe

    manifest_path = Path(manifest_path).resolve()
    info = probe(video)  # raises VideoError naming the file
    if info.num_frames < 2 or (frames is not None and frames > info.num_frames):
        raise ManifestError(f"{video}: has {info.num_frames} frames; need at least {frames or 2}")
    yaml = YAML()  # round-trip mode keeps comments and key order
    yaml.preserve_quotes = True
    with open(manifest_path, encoding="utf-8") as fh:
        doc = yaml.load(fh)
    video = Path(video).resolve()
    try:
        rel = os.path.relpath(video, manifest_path.parent)
    except ValueError:  # another drive on Windows
        rel = str(video)
    entry: dict[str, Any] = {"id": sample_id, "category": category, "source": {"path": rel}}
    if frames is not None:
        entry["frames"] = {"start": 0, "count": frames}
    entry["prompts"] = list(prompts)
    if attribution:
        entry["attribution"] = attribution
    doc["samples"].append(entry)

    tmp = manifest_path.with_name(f".{manifest_path.name}.partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    _, problems = parse_manifest(tmp)
    # Problems in the new entry are the user's to fix now; the rest of the file was as it is.
    where = (f"sample {sample_id!r}", f"samples[{len(doc['samples']) - 1}]")
    mine = [p for p in problems if p.where.startswith(where)]
    if mine:
        tmp.unlink()
        raise ManifestError(f"{manifest_path}: not adding {sample_id!r}: " + "; ".join(str(p) for p in mine))
    os.replace(tmp, manifest_path)
    return entry
