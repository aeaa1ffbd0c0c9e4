"""``motionbench validate``: every problem of a manifest at once, schema and media."""

from __future__ import annotations

from pathlib import Path

from motionbench.bench.manifest import Problem, parse_manifest


def validate_manifest(path: Path, *, check_media: bool = True) -> list[Problem]:
    """Schema problems, then per-sample media problems (missing/unreadable files, too few frames).

    Media checks probe files without decoding them and render nothing, so validating the shipped
    manifest takes a fraction of a second.
    """
    manifest, problems = parse_manifest(path)
    if manifest is None or not check_media:
        return problems
    from motionbench.bench.clips import check_media as media_problems

    for sample in manifest.samples:
        for message in media_problems(sample):
            problems.append(Problem(f"sample {sample.id!r}, field 'source'", message))
    return problems
