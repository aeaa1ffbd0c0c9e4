"""Typed records of the results store (see DESIGN.md, "The results store").

``generations.jsonl`` holds one :class:`GenerationRecord` per job attempt outcome and
``scores.jsonl`` one :class:`ScoreRecord` per (job, metric, variant). Each line is one JSON object
written whole in one write. Readers take the *last* record of a key, so a rescore supersedes the
earlier one without rewriting the file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Literal, TypeVar

GenerationStatus = Literal["ok", "error"]
ScoreStatus = Literal["ok", "skipped", "error"]


def job_id(method: str, sample: str, prompt_index: int, seed: int) -> str:
    """The key of one generation job; independent of workers, shards and ordering."""
    return f"{method}/{sample}/{prompt_index}-s{seed}"


@dataclass
class GenerationRecord:
    job: str
    method: str
    sample: str
    category: str
    prompt_index: int
    prompt: str
    seed: int
    status: GenerationStatus
    video: str | None = None  # path relative to the run directory
    num_frames: int | None = None
    size: tuple[int, int] | None = None
    fit_seconds: float | None = None  # None when the fitted state came from the cache
    fit_cached: bool = False
    generate_seconds: float | None = None
    fit_peak_memory_mb: float | None = None
    generate_peak_memory_mb: float | None = None
    # What the peak memory figures measure: "cuda_max_allocated" (torch.cuda.max_memory_allocated)
    # or "cpu_rss_peak_delta" (growth of the process's resident set); see motionbench.run.measure.
    memory_kind: str | None = None
    error: str | None = None  # "<ErrorType>: message" plus captured stderr where there is one
    method_config: dict[str, Any] = field(default_factory=dict)
    finished_at: str = ""


@dataclass
class ScoreRecord:
    job: str
    method: str
    sample: str
    category: str
    prompt_index: int
    seed: int
    metric: str  # "clip_text", "clip_temporal", "motion_fidelity"
    variant: str  # "" when the metric has one form; "dmt", "symmetric", ... for motion fidelity
    status: ScoreStatus
    value: float | None
    version: str
    backend: str  # e.g. "open_clip:ViT-B-32-quickgelu:openai:sha256=ab12..", "tracker:lk:grid=32"
    convention: str
    higher_is_better: bool
    reason: str | None = None  # why skipped / what failed, with the command that fixes it

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.job, self.metric, self.variant)


R = TypeVar("R", GenerationRecord, ScoreRecord)


def to_json_line(record: GenerationRecord | ScoreRecord) -> str:
    return json.dumps(asdict(record), sort_keys=True, allow_nan=False) + "\n"


def from_dict(cls: type[R], data: dict[str, Any]) -> R:
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if "size" in kwargs and kwargs["size"] is not None:
        kwargs["size"] = tuple(kwargs["size"])
    return cls(**kwargs)


def iter_records(path: Path, cls: type[R]) -> Iterator[R]:
    """Records of a JSONL file; a torn last line (from a kill mid-write) is ignored."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # an unfinished write: never taken as a record
            line = line.strip()
            if line:
                yield from_dict(cls, json.loads(line))
