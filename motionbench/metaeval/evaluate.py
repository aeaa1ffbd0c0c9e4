"""Score every candidate with every motion-fidelity variant and tracker, and summarise.

For each reference, each tracker and each variant, every candidate of
:func:`motionbench.metaeval.pairs.build_candidates` gets one score against the reference (negatives
whose true motion is nearly the reference's are dropped first and listed). Then, per
(tracker, variant):

- **AUC** of the positives against each negative kind, pooled over references (one threshold on the
  benchmark's scale must separate them), with a bootstrap interval over references;
- **Spearman's rho** between perturbation grade and score, per reference (grades 0..1, so -1 means
  the score falls strictly as the perturbation grows), averaged over references, with a bootstrap
  interval over references;
- the mean score of each kind.

Trackers: ``gt`` uses the true tracks on both sides (the reference's and each candidate's derived
truth): what a perfect tracker would give, so it isolates the metric's own definition; ``lk`` runs
:class:`~motionbench.metrics.trackers.LKTracker` on both videos; ``cotracker3`` runs when its code and
weights are on this machine, and is otherwise reported as skipped with the reason. Tracks are
computed once per (video content, tracker backend) by a
:class:`~motionbench.metrics.track_cache.CachedTracker`, in memory and, with ``cache_dir``, on disk.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from motionbench.errors import ConfigError
from motionbench.metaeval.pairs import (
    DESCRIPTIONS,
    GRADES,
    MIN_MOTION_CHANGE,
    NEGATIVE_KINDS,
    PERTURBATIONS,
    POSITIVE,
    build_candidates,
    motion_change,
)
from motionbench.metaeval.references import DEFAULT_REFERENCES, SyntheticReference, Video, check_references
from motionbench.metaeval.stats import Estimate, auc, cluster_bootstrap, spearman
from motionbench.metrics.motion_fidelity import VARIANTS, motion_fidelity
from motionbench.metrics.track_cache import CachedTracker
from motionbench.metrics.trackers import LKTracker, TrackerChoice, build_tracker
from motionbench.metrics.tracks import Tracks

TRACKERS: tuple[str, ...] = ("gt", "lk", "cotracker3")
DEFAULT_GRID = 24  # 576 LK tracks on a 128x128 clip: dense enough, fast on two CPU cores
DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class MetaevalConfig:
    """What to evaluate; the same config and seed give the same result, bit for bit."""

    seed: int = 0
    trackers: tuple[str, ...] = TRACKERS
    variants: tuple[str, ...] = VARIANTS
    grid: int = DEFAULT_GRID
    resamples: int = DEFAULT_RESAMPLES
    references: tuple[SyntheticReference, ...] = DEFAULT_REFERENCES

    def check(self) -> None:
        """Raises ConfigError naming the bad field and the allowed values."""
        bad = [t for t in self.trackers if t not in TRACKERS]
        if bad or not self.trackers:
            raise ConfigError(f"unknown tracker(s) {bad or list(self.trackers)}; choose from {', '.join(TRACKERS)}")
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise ConfigError(f"unknown motion fidelity variant(s) {bad or list(self.variants)}; choose from {', '.join(VARIANTS)}")
        if self.grid < 2:
            raise ConfigError(f"grid must be at least 2 points per side, got {self.grid}")
        if self.resamples < 0:
            raise ConfigError(f"resamples must be >= 0, got {self.resamples}")
        check_references(self.references)


@dataclass(frozen=True)
class PairScore:
    """One candidate's score against its reference."""

    tracker: str
    variant: str
    reference_id: str
    kind: str
    label: str
    grade: float | None
    index: int
    score: float


@dataclass(frozen=True)
class Row:
    """The summary of one (tracker, variant).

    Attributes:
        auc: negative kind -> AUC of positives against it.
        spearman: perturbation -> mean per-reference Spearman rho of score against grade.
        mean: kind (positive, each negative, ``<perturbation>@<grade>``) -> mean score.
        invalid: number of NaN scores left out (a reference with no reliable step).
    """

    tracker: str
    variant: str
    backend: str
    auc: dict[str, Estimate]
    spearman: dict[str, Estimate]
    mean: dict[str, float]
    invalid: int = 0

    @property
    def min_auc(self) -> float:
        """The worst negative kind's AUC (NaN when any kind could not be computed)."""
        values = [e.value for e in self.auc.values()]
        return float("nan") if not values or any(np.isnan(values)) else min(values)


@dataclass
class MetaevalResult:
    """Everything ``motionbench metaeval`` measured."""

    config: MetaevalConfig
    rows: list[Row]
    skipped: dict[str, str]  # tracker -> why it did not run
    scores: list[PairScore]
    counts: dict[str, int]  # candidates per kind (after dropping)
    seconds: float
    dropped: list[tuple[str, str, int, float]] = field(default_factory=list)  # (reference, kind, index, change)

    def row(self, tracker: str, variant: str) -> Row:
        for r in self.rows:
            if r.tracker == tracker and r.variant == variant:
                return r
        raise KeyError(f"no row for tracker {tracker!r}, variant {variant!r}")

    def to_dict(self, *, with_scores: bool = True) -> dict:
        """A JSON-ready dict (no NaN): config, rows, skipped trackers, counts and, optionally, raw scores."""
        cfg = self.config
        out = {
            "config": {"seed": cfg.seed, "trackers": list(cfg.trackers), "variants": list(cfg.variants),
                       "grid": cfg.grid, "resamples": cfg.resamples,
                       "references": [{"id": r.id, "category": r.category, "generator": r.generator, "seed": r.seed,
                                       "params": dict(r.params), "start": r.start, "num_frames": r.num_frames,
                                       "size": list(r.size), "fps": r.fps} for r in cfg.references]},
            "negative_kinds": list(NEGATIVE_KINDS),
            "perturbations": list(PERTURBATIONS),
            "grades": list(GRADES),
            "descriptions": dict(DESCRIPTIONS),
            "rows": [{"tracker": r.tracker, "variant": r.variant, "backend": r.backend, "min_auc": _finite(r.min_auc),
                      "auc": {k: e.to_dict() for k, e in r.auc.items()},
                      "spearman": {k: e.to_dict() for k, e in r.spearman.items()},
                      "mean": {k: _finite(v) for k, v in r.mean.items()}, "invalid": r.invalid} for r in self.rows],
            "skipped": dict(self.skipped),
            "counts": dict(self.counts),
            "dropped": [{"reference": r, "kind": k, "index": i, "motion_change": c} for r, k, i, c in self.dropped],
            "min_motion_change": MIN_MOTION_CHANGE,
            "seconds": round(self.seconds, 2),
        }
        if with_scores:
            out["scores"] = [{"tracker": s.tracker, "variant": s.variant, "reference": s.reference_id, "kind": s.kind,
                              "label": s.label, "grade": s.grade, "index": s.index,
                              "score": _finite(s.score)} for s in self.scores]
        return out


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


# -- tracking ----------------------------------------------------------------------------------------

def _truth(video: Video) -> Tracks:
    """The video's true tracks as a :class:`Tracks` record."""
    return Tracks(np.asarray(video.tracks, np.float64), np.asarray(video.visibility, bool), video.size)


def _resolve_trackers(names: tuple[str, ...], grid: int
                      ) -> tuple[dict[str, CachedTracker | None], dict[str, str], dict[str, str]]:
    """name -> cached tracker (None for gt), name -> backend id, and skipped name -> reason."""
    trackers: dict[str, CachedTracker | None] = {}
    backends: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name == "gt":
            trackers[name] = None
            backends[name] = "ground-truth tracks (reference and candidate)"
            continue
        choice = TrackerChoice(name, LKTracker(grid=grid)) if name == "lk" else build_tracker("cotracker3", grid=grid)
        tracker = choice.tracker
        if tracker is None:
            skipped[name] = choice.unavailable or "CoTracker3 is not available on this machine"
        else:
            trackers[name] = CachedTracker(tracker)
            backends[name] = tracker.backend
    return trackers, backends, skipped


# -- the run -----------------------------------------------------------------------------------------

def run_metaeval(config: MetaevalConfig | None = None, *, cache_dir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> MetaevalResult:
    """Build the candidates of every reference, score them, and summarise (see the module docstring).

    Raises:
        ConfigError: a bad config field (named in the message).
    """
    config = config or MetaevalConfig()
    config.check()
    began = time.perf_counter()
    trackers, backends, skipped = _resolve_trackers(config.trackers, config.grid)
    folder = Path(cache_dir) / "metaeval-tracks" if cache_dir is not None else None
    scores: list[PairScore] = []
    counts: dict[str, int] = {}
    dropped: list[tuple[str, str, int, float]] = []
    for ref in config.references:
        if progress is not None:
            progress(ref.id)
        others = [r for r in config.references if r.category == ref.category and r.id != ref.id]
        reference = ref.render(0)
        candidates = []
        for c in build_candidates(ref, others, config.seed):
            if c.label == "negative":
                change = motion_change(c.video, reference)
                if change < MIN_MOTION_CHANGE:  # the same motion in all but name: not a negative
                    dropped.append((ref.id, c.kind, c.index, change))
                    continue
            candidates.append(c)
        for c in candidates:
            counts[c.kind] = counts.get(c.kind, 0) + 1
        for name, tracker in trackers.items():
            ref_tracks = _truth(reference) if tracker is None else tracker.track(reference.frames, folder=folder)
            for c in candidates:
                cand_tracks = _truth(c.video) if tracker is None else tracker.track(c.video.frames, folder=folder)
                for variant in config.variants:
                    value = motion_fidelity(cand_tracks, ref_tracks, variant)
                    scores.append(PairScore(name, variant, ref.id, c.kind, c.label, c.grade, c.index, float(value)))
    rows = [_summarise(scores, name, variant, backends[name], config) for name in trackers for variant in config.variants]
    return MetaevalResult(config, rows, skipped, scores, counts, time.perf_counter() - began, dropped)


def _seed(config: MetaevalConfig, *parts: str) -> int:
    return (config.seed * 1_000_003 + zlib.crc32("/".join(parts).encode())) % (2 ** 32)


def _summarise(scores: list[PairScore], tracker: str, variant: str, backend: str, config: MetaevalConfig) -> Row:
    mine = [s for s in scores if s.tracker == tracker and s.variant == variant]
    invalid = sum(1 for s in mine if not np.isfinite(s.score))
    ok = [s for s in mine if np.isfinite(s.score)]
    refs = sorted({s.reference_id for s in mine})
    by_ref: dict[str, list[PairScore]] = {r: [s for s in ok if s.reference_id == r] for r in refs}
    aucs: dict[str, Estimate] = {}
    for kind in NEGATIVE_KINDS:
        groups = {r: ([s.score for s in v if s.kind == POSITIVE], [s.score for s in v if s.kind == kind])
                  for r, v in by_ref.items()}

        def pooled_auc(data: list, _k: str = kind) -> float:
            pos = [x for p, _ in data for x in p]
            neg = [x for _, n in data for x in n]
            return auc(pos, neg) if pos and neg else float("nan")

        aucs[kind] = cluster_bootstrap(groups, pooled_auc, resamples=config.resamples,
                                       seed=_seed(config, tracker, variant, "auc", kind))
    rhos: dict[str, Estimate] = {}
    for pert in PERTURBATIONS:
        per_ref = {}
        for r, v in by_ref.items():
            pts = sorted((s.grade, s.score) for s in v if s.kind == pert)
            if len(pts) >= 2:
                per_ref[r] = spearman([g for g, _ in pts], [x for _, x in pts])
        rhos[pert] = (cluster_bootstrap(per_ref, lambda data: float(np.mean(data)), resamples=config.resamples,
                                        seed=_seed(config, tracker, variant, "rho", pert))
                      if per_ref else Estimate(float("nan"), float("nan"), float("nan")))
    mean: dict[str, float] = {}
    for kind in (POSITIVE,) + NEGATIVE_KINDS:
        vals = [s.score for s in ok if s.kind == kind]
        mean[kind] = float(np.mean(vals)) if vals else float("nan")
    for pert in PERTURBATIONS:
        for g in GRADES:
            vals = [s.score for s in ok if s.kind == pert and s.grade == g]
            mean[f"{pert}@{g:g}"] = float(np.mean(vals)) if vals else float("nan")
    return Row(tracker, variant, backend, aucs, rhos, mean, invalid)
