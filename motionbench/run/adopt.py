"""Adopting videos another tool generated into a run, so they are scored and reported like ours.

The videos are laid out by sample id, one of::

    DIR/<sample>/<prompt-index>-s<seed>.mp4     every prompt and seed
    DIR/<sample>.mp4                            one video per sample (prompt 0, seed 0)

Each becomes a generation record of the method ``label`` whose ``video`` is the file's absolute
path (nothing is copied) and whose ``video_sha256`` is its content's hash, so a file replaced in
place is adopted (and scored) again. Files that do not fit the layout, name a sample or prompt the
manifest does not have, or do not decode whole, are reported, not guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from motionbench.bench.manifest import Manifest
from motionbench.errors import ConfigError
from motionbench.run.info import RunInfo
from motionbench.run.records import GenerationRecord, job_id
from motionbench.run.store import RunStore, now_iso
from motionbench.video import VIDEO_SUFFIXES, VideoError, file_sha256, probe

_JOB_NAME = re.compile(r"^(\d+)-s(\d+)$")


@dataclass
class AdoptSummary:
    adopted: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)


def find_videos(videos_dir: Path) -> list[tuple[str, int, int, Path]]:
    """(sample, prompt index, seed, path) of every video in the layout, sorted."""
    if not videos_dir.is_dir():
        raise ConfigError(f"--videos {videos_dir}: not a directory")
    found = []
    for path in sorted(videos_dir.iterdir()):
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith("."):
            found.append((path.stem, 0, 0, path.resolve()))
        elif path.is_dir():
            for video in sorted(path.iterdir()):
                m = _JOB_NAME.match(video.stem)
                if video.is_file() and video.suffix.lower() in VIDEO_SUFFIXES and m:
                    found.append((path.name, int(m.group(1)), int(m.group(2)), video.resolve()))
    if not found:
        raise ConfigError(f"--videos {videos_dir}: no videos laid out as <sample>/<prompt-index>-s<seed>.mp4 "
                          "or <sample>.mp4")
    return found


def adopt_videos(store: RunStore, videos_dir: Path, manifest: Manifest, label: str) -> AdoptSummary:
    """Append ok generation records for the videos under ``videos_dir`` (store lock held by caller).

    run.json records the manifest (for scoring) and ``label`` as a method whose option is the folder.
    """
    found = find_videos(videos_dir)

    def record(info: RunInfo | None) -> RunInfo:
        info = info or RunInfo(created=now_iso())
        methods = {**info.settings.methods, label: {"videos": str(Path(videos_dir).resolve())}}
        settings = replace(info.settings, manifest=str(Path(manifest.path).resolve()), methods=methods)
        return replace(info, settings=settings, updated=now_iso())

    store.update_run_info(record)
    summary = AdoptSummary()
    samples = {s.id: s for s in manifest.samples}
    known = store.latest_generations()
    for sample_id, prompt_index, seed, path in found:
        sample = samples.get(sample_id)
        if sample is None:
            summary.problems.append(f"{path}: no sample {sample_id!r} in {manifest.path}")
            continue
        if prompt_index >= len(sample.prompts):
            summary.problems.append(f"{path}: sample {sample_id!r} has {len(sample.prompts)} prompt(s); "
                                    f"there is no prompt index {prompt_index}")
            continue
        job = job_id(label, sample_id, prompt_index, seed)
        try:
            info = probe(path)  # refuses truncated and corrupt files, naming them
            sha = file_sha256(path)
        except (VideoError, OSError) as exc:
            summary.problems.append(str(exc) if isinstance(exc, VideoError) else f"{path}: cannot be read ({exc})")
            continue
        old = known.get(job)
        if old is not None and old.status == "ok" and old.video == str(path) and old.video_sha256 in (sha, None):
            summary.already += 1
            continue
        store.append_generation(GenerationRecord(
            job=job, method=label, sample=sample_id, category=sample.category, prompt_index=prompt_index,
            prompt=sample.prompts[prompt_index], seed=seed, status="ok", video=str(path),
            num_frames=info.num_frames, size=(info.width, info.height), finished_at=now_iso(), video_sha256=sha))
        summary.adopted += 1
    return summary
