"""The benchmark definition: manifest schema, loading and validation.

A manifest is a YAML file (``data/manifest.yaml`` ships the default benchmark). Loading it yields
typed records; nothing downstream sees raw dicts. This module imports neither torch nor any video
library, so ``motionbench ls`` answers instantly; checking that media files decode lives in
:func:`validate_manifest` and imports the video reader only when asked to.

Schema (version 1)::

    schema_version: 1
    name: motionbench
    version: "0.1"
    defaults: {fps: 8, num_frames: 16, size: [128, 128]}     # optional
    categories:
      camera: {description: "..."}
      ...
    samples:
      - id: camera-pan                  # unique, [a-z0-9][a-z0-9_-]*
        category: camera                # one of the categories above
        source:                         # exactly one of synthetic / path / url
          synthetic: {generator: camera, seed: 1, params: {path: pan}}
          # path: clips/dance.mp4       (relative to the manifest's folder)
          # url: https://...  sha256: <64 hex>   (fetched by `motionbench download`)
        frames: {start: 0, count: 16}   # window of the source, in source frames (optional)
        fps: 8                          # optional; resample the window to this rate
        size: [128, 128]                # optional; [width, height] of the clip
        prompts: ["a red kite ...", "..."]
        box: [x0, y0, x1, y1]           # optional foreground box in clip pixels, for motion scoring
        attribution: "..."              # optional
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from motionbench.errors import ManifestError

SCHEMA_VERSION = 1
CATEGORIES = ("camera", "single_object", "multi_object", "human")
DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "data" / "manifest.yaml"
MIN_FRAMES = 2
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SyntheticSource:
    """A clip rendered by one of MotionBench's seeded generators."""

    generator: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"synthetic:{self.generator}(seed={self.seed})"


@dataclass(frozen=True)
class FileSource:
    """A video file on disk (an absolute path, resolved against the manifest's folder)."""

    path: Path

    def describe(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class UrlSource:
    """A video to fetch with ``motionbench download``; ``path`` is where it is cached."""

    url: str
    sha256: str
    path: Path

    def describe(self) -> str:
        return self.url


Source = SyntheticSource | FileSource | UrlSource


@dataclass(frozen=True)
class FrameWindow:
    start: int = 0
    count: int | None = None  # None: to the end of the source


@dataclass(frozen=True)
class Sample:
    """One reference clip of the benchmark with the prompts to transfer its motion to."""

    id: str
    category: str
    source: Source
    prompts: tuple[str, ...]
    frames: FrameWindow = FrameWindow()
    fps: float | None = None
    size: tuple[int, int] | None = None  # (width, height)
    box: tuple[float, float, float, float] | None = None  # (x0, y0, x1, y1) in clip pixels
    attribution: str | None = None

    @property
    def is_synthetic(self) -> bool:
        return isinstance(self.source, SyntheticSource)


@dataclass(frozen=True)
class Category:
    name: str
    description: str


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    version: str
    categories: tuple[Category, ...]
    samples: tuple[Sample, ...]

    def category_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def sample(self, sample_id: str) -> Sample:
        for s in self.samples:
            if s.id == sample_id:
                return s
        raise ManifestError(
            f"{self.path}: no sample with id {sample_id!r}; run `motionbench ls` to list the ids"
        )

    def select(
        self,
        categories: Sequence[str] = (),
        sample_ids: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[Sample]:
        """Samples filtered by category and id (each list empty = all), in manifest order."""
        unknown = [c for c in categories if c not in self.category_names()]
        if unknown:
            raise ManifestError(
                f"unknown category {unknown[0]!r}; the manifest {self.path} has: "
                + ", ".join(self.category_names())
            )
        known_ids = {s.id for s in self.samples}
        missing = [i for i in sample_ids if i not in known_ids]
        if missing:
            raise ManifestError(
                f"unknown sample id {missing[0]!r} in {self.path}; run `motionbench ls` to list the ids"
            )
        chosen = [
            s
            for s in self.samples
            if (not categories or s.category in categories) and (not sample_ids or s.id in sample_ids)
        ]
        return chosen[:limit] if limit is not None else chosen


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where it is and what to do about it."""

    where: str  # "sample 'camera-pan', field 'prompts[1]'" or "manifest"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class _Collector:
    """Gathers every problem instead of stopping at the first, so `validate` can list them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        raise ManifestError(f"manifest not found: {path} (pass --manifest PATH, or run from the repository root)")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path} is not valid YAML: {exc}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_source(raw: Any, where: str, root: Path, out: _Collector) -> Source | None:
    if not isinstance(raw, Mapping):
        out.add(where, "field 'source' must be a mapping with one of: synthetic, path, url")
        return None
    kinds = [k for k in ("synthetic", "path", "url") if k in raw]
    if len(kinds) != 1:
        out.add(where, f"field 'source' needs exactly one of synthetic, path, url (found: {kinds or 'none'})")
        return None
    kind = kinds[0]
    if kind == "synthetic":
        syn = raw["synthetic"]
        if not isinstance(syn, Mapping):
            out.add(where, "field 'source.synthetic' must be a mapping {generator, seed, params}")
            return None
        generator, seed, params = syn.get("generator"), syn.get("seed", 0), syn.get("params", {}) or {}
        ok = True
        if not isinstance(generator, str) or not generator:
            out.add(where, "field 'source.synthetic.generator' must name a generator (camera, single_object, multi_object, human)")
            ok = False
        if not isinstance(seed, int) or isinstance(seed, bool):
            out.add(where, f"field 'source.synthetic.seed' must be an integer, got {seed!r}")
            ok = False
        if not isinstance(params, Mapping):
            out.add(where, "field 'source.synthetic.params' must be a mapping")
            ok = False
        return SyntheticSource(generator, seed, dict(params)) if ok else None
    if kind == "path":
        value = raw["path"]
        if not isinstance(value, str) or not value:
            out.add(where, "field 'source.path' must be a file path")
            return None
        path = Path(value).expanduser()
        return FileSource(path if path.is_absolute() else (root / path).resolve())
    url, sha = raw.get("url"), raw.get("sha256")
    ok = True
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        out.add(where, f"field 'source.url' must be an http(s) URL, got {url!r}")
        ok = False
    if not isinstance(sha, str) or not _SHA256_RE.match(sha):
        out.add(where, "field 'source.sha256' must be the file's 64-hex-digit sha256 (url sources are checked)")
        ok = False
    if not ok:
        return None
    cache = raw.get("cache_path") or f"downloads/{Path(url.split('?')[0]).name}"
    return UrlSource(url, sha, (root / cache).resolve())


def _parse_sample(raw: Any, index: int, root: Path, categories: Sequence[str], defaults: Mapping[str, Any], out: _Collector) -> Sample | None:
    if not isinstance(raw, Mapping):
        out.add(f"samples[{index}]", "each sample must be a mapping with id, category, source, prompts")
        return None
    sid = raw.get("id")
    if not isinstance(sid, str) or not _ID_RE.match(sid):
        out.add(f"samples[{index}]", f"field 'id' must match [a-z0-9][a-z0-9_-]*, got {sid!r}")
        sid = None
    where = f"sample {sid!r}" if sid else f"samples[{index}]"
    known = {"id", "category", "source", "prompts", "frames", "fps", "size", "box", "attribution"}
    for key in raw:
        if key not in known:
            out.add(where, f"unknown field {key!r}; allowed: {', '.join(sorted(known))}")
    category = raw.get("category")
    if category not in categories:
        out.add(where, f"field 'category' is {category!r}, not one of: {', '.join(categories)}")
    source = _parse_source(raw.get("source"), where, root, out)

    prompts_raw = raw.get("prompts")
    prompts: list[str] = []
    if not isinstance(prompts_raw, list) or not prompts_raw:
        out.add(where, "field 'prompts' must be a non-empty list of strings")
    else:
        for i, p in enumerate(prompts_raw):
            if not isinstance(p, str) or not p.strip():
                out.add(where, f"field 'prompts[{i}]' is empty; write the appearance to generate")
            else:
                prompts.append(p.strip())

    window = FrameWindow(0, defaults.get("num_frames"))
    frames_raw = raw.get("frames")
    if frames_raw is not None:
        if not isinstance(frames_raw, Mapping):
            out.add(where, "field 'frames' must be a mapping {start, count}")
        else:
            start, count = frames_raw.get("start", 0), frames_raw.get("count", window.count)
            if not isinstance(start, int) or isinstance(start, bool) or start < 0:
                out.add(where, f"field 'frames.start' must be an integer >= 0, got {start!r}")
                start = 0
            if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < MIN_FRAMES):
                out.add(where, f"field 'frames.count' must be an integer >= {MIN_FRAMES}, got {count!r}")
                count = None
            window = FrameWindow(start, count)

    fps = raw.get("fps", defaults.get("fps"))
    if fps is not None and (not _is_number(fps) or fps <= 0):
        out.add(where, f"field 'fps' must be a positive number, got {fps!r}")
        fps = None
    size = raw.get("size", defaults.get("size"))
    if size is not None:
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 16 for v in size)):
            out.add(where, f"field 'size' must be [width, height] in pixels (each >= 16), got {size!r}")
            size = None
        else:
            size = (size[0], size[1])
    box = raw.get("box")
    if box is not None:
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box) and box[0] < box[2] and box[1] < box[3]):
            out.add(where, f"field 'box' must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1, got {box!r}")
            box = None
        else:
            box = tuple(float(v) for v in box)
    attribution = raw.get("attribution")
    if attribution is not None and not isinstance(attribution, str):
        out.add(where, "field 'attribution' must be a string")
        attribution = None
    if sid is None or source is None:
        return None
    # A sample with other problems is still returned so `validate` can check its media too;
    # load_manifest refuses the manifest as a whole whenever any problem was collected.
    return Sample(sid, str(category), source, tuple(prompts), window, float(fps) if fps else None, size, box, attribution)


def parse_manifest(path: Path) -> tuple[Manifest | None, list[Problem]]:
    """Parse and check the schema, collecting every problem (no media access)."""
    path = Path(path).resolve()
    data = _read_yaml(path)
    out = _Collector()
    if not isinstance(data, Mapping):
        out.add("manifest", "the top level must be a mapping with schema_version, categories, samples")
        return None, out.problems
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        out.add("manifest", f"field 'schema_version' is {version!r}; this MotionBench reads version {SCHEMA_VERSION}")
    cats_raw = data.get("categories")
    categories: list[Category] = []
    if not isinstance(cats_raw, Mapping) or not cats_raw:
        out.add("manifest", "field 'categories' must map each category name to {description: ...}")
    else:
        for name, body in cats_raw.items():
            desc = body.get("description") if isinstance(body, Mapping) else None
            if not isinstance(desc, str) or not desc.strip():
                out.add(f"category {name!r}", "field 'description' must be a non-empty string")
            categories.append(Category(str(name), (desc or "").strip()))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        out.add("manifest", "field 'defaults' must be a mapping")
        defaults = {}
    samples_raw = data.get("samples")
    samples: list[Sample] = []
    if not isinstance(samples_raw, list) or not samples_raw:
        out.add("manifest", "field 'samples' must be a non-empty list")
        samples_raw = []
    names = [c.name for c in categories]
    seen: dict[str, int] = {}
    for i, raw in enumerate(samples_raw):
        sample = _parse_sample(raw, i, path.parent, names, defaults, out)
        sid = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(sid, str):
            if sid in seen:
                out.add(f"sample {sid!r}", f"duplicate id (samples[{seen[sid]}] and samples[{i}]); ids must be unique")
                continue
            seen[sid] = i
        if sample is not None:
            samples.append(sample)
    manifest = Manifest(path, str(data.get("name", path.stem)), str(data.get("version", "0")), tuple(categories), tuple(samples))
    return manifest, out.problems


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Load a manifest, raising :class:`ManifestError` listing every schema problem."""
    manifest, problems = parse_manifest(Path(path) if path else DEFAULT_MANIFEST)
    if problems or manifest is None:
        where = Path(path) if path else DEFAULT_MANIFEST
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ManifestError(f"{where} has {len(problems)} problem(s):\n{listing}\nRun `motionbench validate {where}` for details.")
    return manifest
