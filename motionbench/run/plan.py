"""Planning a run: which jobs exist, how they group, which shard owns which group.

A job is one generated video: (method, sample, prompt index, seed). Jobs of the same (method,
sample) form a *group*: the method fits once per group and generates each job of it. Groups are the
unit of scheduling (one Ray task, one shard member), so a fit is never repeated across workers.

Shards are a deterministic partition of groups by a hash of the group key; it depends on nothing
but the key and ``n``, so ``--shard 0/2`` and ``--shard 1/2`` cover the unsharded run exactly once
however many workers or GPUs run them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from motionbench.bench.manifest import Sample
from motionbench.errors import ConfigError
from motionbench.run.records import job_id


@dataclass(frozen=True)
class Job:
    method: str
    sample: str
    category: str
    prompt_index: int
    prompt: str
    seed: int

    @property
    def id(self) -> str:
        return job_id(self.method, self.sample, self.prompt_index, self.seed)

    @property
    def video_relpath(self) -> str:
        """Where the job's video lives, relative to the run directory."""
        return f"videos/{self.method}/{self.sample}/{self.prompt_index}-s{self.seed}.mp4"


@dataclass(frozen=True)
class Group:
    """The jobs of one (method, sample): fit once, generate each."""

    method: str
    sample: Sample
    jobs: tuple[Job, ...]

    @property
    def key(self) -> str:
        return group_key(self.method, self.sample.id)


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """``"i/n"`` with ``0 <= i < n``."""
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not m:
            raise ConfigError(f"--shard {text!r} is not of the form i/n (e.g. --shard 0/4)")
        i, n = int(m.group(1)), int(m.group(2))
        if n < 1 or not 0 <= i < n:
            raise ConfigError(f"--shard {text!r}: need 0 <= i < n (shards of n=4 are 0/4 .. 3/4)")
        return cls(i, n)

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def group_key(method: str, sample: str) -> str:
    return f"{method}/{sample}"


def shard_of(key: str, count: int) -> int:
    """Which of ``count`` shards owns a group key (a stable hash, not Python's salted ``hash``)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` or ``"0-3"`` (inclusive) -> seeds, in order, without repeats."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        try:
            values = range(int(m.group(1)), int(m.group(2)) + 1) if m else [int(part)]
        except ValueError:
            raise ConfigError(f"--seeds {text!r}: {part!r} is not an integer; write e.g. --seeds 0,1,2 or 0-3") from None
        for s in values:
            if s < 0:
                raise ConfigError(f"--seeds {text!r}: seeds must be >= 0")
            if s not in seeds:
                seeds.append(s)
    if not seeds:
        raise ConfigError(f"--seeds {text!r} names no seed; write e.g. --seeds 0,1")
    return tuple(seeds)


def plan_groups(methods: Sequence[str], samples: Sequence[Sample], seeds: Iterable[int],
                shard: Shard | None = None) -> list[Group]:
    """Groups in a stable order (method, then manifest order), each with its jobs, shard-filtered."""
    seeds = tuple(seeds)
    groups = []
    for method in methods:
        for sample in samples:
            if shard is not None and not shard.owns(group_key(method, sample.id)):
                continue
            jobs = tuple(
                Job(method, sample.id, sample.category, i, prompt, seed)
                for i, prompt in enumerate(sample.prompts)
                for seed in seeds
            )
            groups.append(Group(method, sample, jobs))
    return groups
