"""From score and generation records to a :class:`~motionbench.report.model.Leaderboard`.

The aggregation order is fixed (DESIGN.md, "Metrics"): a video's score, then the sample's mean over
its prompts and seeds, then the category's mean over samples, then two overalls: the unweighted
mean of categories and the mean over all samples. Skipped and failed scores are counted and carried
to the footer with their reasons; they are never averaged (a missing number is not a zero). Numbers
from different backends are never put in one column silently: that is an error unless
``allow_mixed`` is set, and then every affected cell is marked.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np

from motionbench.report.bootstrap import bootstrap_mean, bootstrap_mean_of_groups, cell_rng
from motionbench.report.model import (ANCHOR_METHODS, GENERATE, OVERALL_CATEGORIES, OVERALL_SAMPLES,
                                      PEAK_MEMORY, TASK_ANCHORS, TUNING, Cell, Column, GenerationFailure,
                                      Leaderboard, ReportedSource, Row, RowKind, RunDetails, SampleScore, SkipNote)
from motionbench.report.paired import Comparison, compare
from motionbench.report.reported import ReportedRow
from motionbench.report.runs import LoadedRun, MixedBackendsError, ReportError, tasks_of
from motionbench.tasks import MOTION_TRANSFER, TASKS

By = Literal["category", "overall"]

# Known metrics first, in the order papers print them; others follow alphabetically. (No run holds
# both tasks' metrics: recapture's come first in its own leaderboard.)
METRIC_ORDER = ("novel_view", "camera_accuracy", "clip_text", "clip_temporal", "motion_fidelity")
METRIC_LABELS = {"clip_text": "Text sim.", "clip_temporal": "Temporal cons.", "motion_fidelity": "Motion fid.",
                 "novel_view": "Novel view", "camera_accuracy": "Camera err."}
# Columns whose literature name is not "<metric> (<variant>)".
COLUMN_LABELS = {"novel_view/psnr": "PSNR (dB)", "novel_view/ssim": "SSIM", "novel_view/psnr_holes": "PSNR holes (dB)",
                 "novel_view/ssim_holes": "SSIM holes", "camera_accuracy/rotation": "RotErr (deg)",
                 "camera_accuracy/translation": "TransErr (pivot)"}
# The manifest's categories, in its order (kept literal: importing the manifest module is not needed here).
CATEGORY_ORDER = ("camera", "single_object", "multi_object", "human", "static_scene", "dynamic_scene")

COST_COLUMNS = (
    Column(id=TUNING, metric=TUNING, variant="", kind="cost", higher_is_better=False, label="Tuning (s)",
           unit="s", decimals=1),
    Column(id=GENERATE, metric=GENERATE, variant="", kind="cost", higher_is_better=False, label="Gen. (s/video)",
           unit="s", decimals=1),
    Column(id=PEAK_MEMORY, metric=PEAK_MEMORY, variant="", kind="cost", higher_is_better=False,
           label="Peak mem. (GiB)", unit="GiB", decimals=1),
)

# Scores are comparable when they share backend and metric version. The convention text is what the
# report prints, not an identity: rewording it does not make two runs incomparable (a test pins a
# hash of each metric's convention per version, so a change of meaning needs a new version).
Comparability = tuple[str, str]  # (backend, version)


def column_id(metric: str, variant: str) -> str:
    return f"{metric}/{variant}" if variant else metric


@dataclass
class _SampleCosts:
    category: str
    fit: float | None = None
    fit_unmeasured: bool = False
    generate: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)


@dataclass
class _RowData:
    run: str
    method: str
    label: str
    kind: RowKind
    # column -> sample -> (category, ok values)
    values: dict[str, dict[str, tuple[str, list[float]]]] = field(default_factory=lambda: defaultdict(dict))
    # column -> [(category, sample, status, reason)]
    skips: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=lambda: defaultdict(list))
    comparability: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    conventions: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # (version, text)
    costs: dict[str, _SampleCosts] = field(default_factory=dict)
    failures: Counter = field(default_factory=Counter)
    memory_kinds: set[str] = field(default_factory=set)


def _order_categories(categories: Iterable[str]) -> list[str]:
    known = [c for c in CATEGORY_ORDER if c in categories]
    return known + sorted(set(categories) - set(known))


# The published form first, then the paper's two-sided one, then MotionBench's own; recapture's overall before holes.
VARIANT_ORDER = ("dmt", "symmetric", "matched", "psnr", "ssim", "psnr_holes", "ssim_holes", "rotation", "translation")


def _order_columns(ids: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    def key(mv: tuple[str, str]) -> tuple[int, str, int, str]:
        m, v = mv
        rank = VARIANT_ORDER.index(v) if v in VARIANT_ORDER else len(VARIANT_ORDER)
        return (METRIC_ORDER.index(m) if m in METRIC_ORDER else len(METRIC_ORDER), m, rank, v)
    return sorted(set(ids), key=key)


def _run_details(store: LoadedRun) -> RunDetails:
    info = store.info
    if info is None:
        return RunDetails(name=store.name, path=str(store.path))
    shown = ("motionbench", "torch", "diffusers")
    versions = ", ".join(f"{k} {v}" for k, v in info.versions.items() if v and k in shown)
    return RunDetails(name=store.name, path=str(store.path), created=info.created, git=info.git.describe(),
                      device=info.device.describe() if info.device is not None else None, versions=versions or None)


def _collect(stores: Sequence[LoadedRun], anchors: frozenset[str] = ANCHOR_METHODS) -> list[_RowData]:
    methods_per_store = []
    for s in stores:
        methods = {g.method for g in s.generations.values()} | {r.method for r in s.scores.values()}
        methods_per_store.append(sorted(methods))
    counts = Counter(m for ms in methods_per_store for m in ms)
    rows: dict[tuple[str, str], _RowData] = {}
    for store, methods in zip(stores, methods_per_store):
        for m in methods:
            label = m if counts[m] == 1 else f"{m} ({store.name})"
            rows[(store.name, m)] = _RowData(run=store.name, method=m, label=label,
                                             kind="anchor" if m in anchors else "measured")
        for rec in store.scores.values():
            row = rows[(store.name, rec.method)]
            col = column_id(rec.metric, rec.variant)
            value_ok = rec.status == "ok" and rec.value is not None and math.isfinite(rec.value)
            if value_ok:
                row.values[col].setdefault(rec.sample, (rec.category, []))[1].append(float(rec.value))
                row.comparability[col][(rec.backend, rec.version)] += 1
                row.conventions[col][(rec.version, rec.convention)] += 1
            else:
                status = rec.status if rec.status != "ok" else "error"
                reason = rec.reason or ("value is NaN or missing" if rec.status == "ok" else "no reason recorded")
                row.skips[col].append((rec.category, rec.sample, status, reason))
        for g in store.generations.values():
            row = rows[(store.name, g.method)]
            sc = row.costs.setdefault(g.sample, _SampleCosts(category=g.category))
            # Fit is per (method, sample): take the first measured fit, never a sum over the sample's jobs.
            if sc.fit is None and g.fit_seconds is not None:
                sc.fit = float(g.fit_seconds)
            elif g.fit_seconds is None and g.fit_cached:
                sc.fit_unmeasured = True
            peaks = [p for p in (g.fit_peak_memory_mb, g.generate_peak_memory_mb) if p is not None]
            sc.peak_mb.extend(float(p) for p in peaks)
            kind = getattr(g, "memory_kind", None)  # newer records name what the peak measures
            if peaks and kind:
                row.memory_kinds.add(str(kind))
            if g.status == "ok":
                if g.generate_seconds is not None:
                    sc.generate.append(float(g.generate_seconds))
            else:
                reason = (g.error or "no error message recorded").strip().splitlines()[0][:160]
                row.failures[reason] += 1
    order = {"measured": 0, "anchor": 1}
    return sorted(rows.values(), key=lambda r: (order[r.kind], [s.name for s in stores].index(r.run), r.method))


def _select_columns(rows: Sequence[_RowData], stores: Sequence[LoadedRun], metrics: Sequence[str] | None
                    ) -> list[tuple[str, str]]:
    available = _order_columns((r.metric, r.variant) for s in stores for r in s.scores.values())
    if not metrics:
        return available
    chosen: list[tuple[str, str]] = []
    for want in metrics:
        hits = [mv for mv in available if want in (mv[0], column_id(*mv))]
        if not hits:
            names = ", ".join(column_id(*mv) for mv in available) or "none"
            raise ReportError(f"metric {want!r} has no scores in these runs; available: {names} "
                              "(give a metric name for all its variants, or metric/variant)")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def _build_quality_column(metric: str, variant: str, stores: Sequence[LoadedRun], rows: Sequence[_RowData],
                          allow_mixed: bool) -> tuple[Column, set[str]]:
    """The column with its backends; returns also the labels of rows whose cells are mixed."""
    cid = column_id(metric, variant)
    hib = {r.higher_is_better for s in stores for r in s.scores.values() if (r.metric, r.variant) == (metric, variant)}
    if len(hib) > 1:
        raise ReportError(f"{cid}: score records disagree on higher_is_better; the runs used incompatible "
                          "metric versions - rescore them with one version")
    total: Counter = Counter()
    for row in rows:
        total.update(row.comparability[cid])
    keys = sorted(total, key=lambda k: (-total[k], k))
    main = keys[0] if keys else None
    mixed_rows: set[str] = set()
    if len(keys) > 1:
        users = {k: [r.label for r in rows if k in r.comparability[cid]] for k in keys}
        if not allow_mixed:
            detail = "; ".join(f"{_describe(k)} used by {', '.join(users[k])}" for k in keys)
            raise MixedBackendsError(f"{cid}: rows were scored with different backends, so their numbers are not "
                                     f"comparable: {detail}. Rescore the runs with one backend "
                                     f"(`motionbench score`), report them separately, or pass --allow-mixed "
                                     "to show them together with the odd cells marked")
        mixed_rows = {r.label for r in rows if set(r.comparability[cid]) - {main}}
    texts: Counter = Counter()  # (version, convention) of the ok scores, or of every score when none is ok
    for row in rows:
        texts.update(row.conventions[cid])
    if not keys:
        # Every score was skipped: describe the metric from the skipped records, with no backend.
        texts.update((r.version, r.convention) for s in stores for r in s.scores.values()
                     if (r.metric, r.variant) == (metric, variant) and r.version)
    versions = tuple(dict.fromkeys(k[1] for k in keys)) or tuple(dict.fromkeys(v for v, _ in texts))
    conventions: list[str] = []
    for v in versions:  # one text per version: the most common (older records may carry an older wording)
        worded = [(n, text) for (version, text), n in texts.items() if version == v and text]
        if worded:
            conventions.append(max(worded)[1])
    label = COLUMN_LABELS.get(cid) or METRIC_LABELS.get(metric, metric) + (f" ({variant})" if variant else "")
    col = Column(id=cid, metric=metric, variant=variant, kind="quality", higher_is_better=hib.pop() if hib else True,
                 label=label, decimals=3,
                 backends=tuple(dict.fromkeys(k[0] for k in keys)), versions=versions, conventions=tuple(conventions))
    return col, mixed_rows


def _describe(key: Comparability) -> str:
    backend, version = key
    return f"backend {backend!r} (version {version})"


def _quality_cell(row: _RowData, col: str, group: str, categories: Sequence[str], seed: int, n_boot: int,
                  level: float) -> Cell:
    per_sample = {s: (cat, float(np.mean(v))) for s, (cat, v) in row.values.get(col, {}).items() if v}
    videos = {s: len(v) for s, (_, v) in row.values.get(col, {}).items()}
    skips = row.skips.get(col, [])
    rng = cell_rng(seed, row.run, row.method, col, group)
    if group in (OVERALL_CATEGORIES, OVERALL_SAMPLES):
        in_scope = per_sample
        statuses = [status for _, _, status, _ in skips]
    else:
        in_scope = {s: cv for s, cv in per_sample.items() if cv[0] == group}
        statuses = [status for c, _, status, _ in skips if c == group]
    skipped = len(statuses)
    cell = Cell(n=len(in_scope), videos=sum(videos[s] for s in in_scope), skipped=skipped)
    if not in_scope:
        kinds = set(statuses)  # "skipped" (the metric could not run here) and "error" (it ran and failed)
        if skipped:
            cell.missing = "failed" if kinds == {"error"} else "skipped" if kinds == {"skipped"} else "skipped or failed"
        cell.note = f"all {skipped} scores {cell.missing}" if skipped else "no scores"
        return cell
    if group == OVERALL_CATEGORIES:
        by_cat: dict[str, list[float]] = defaultdict(list)
        for cat, v in in_scope.values():
            by_cat[cat].append(v)
        missing = [c for c in categories if c not in by_cat]
        if missing:
            cell.note = f"no scores in {', '.join(missing)}: a mean of categories would not be comparable"
            return cell
        groups = [by_cat[c] for c in categories]
        cell.value = float(np.mean([np.mean(g) for g in groups]))
        interval = bootstrap_mean_of_groups(groups, rng=rng, n_boot=n_boot, level=level)
    else:
        vals = [v for _, v in in_scope.values()]
        cell.value = float(np.mean(vals))
        interval = bootstrap_mean(vals, rng=rng, n_boot=n_boot, level=level)
    if interval is not None:
        cell.lo, cell.hi = interval
    return cell


def _cost_cell(row: _RowData, col: str, group: str, categories: Sequence[str]) -> Cell:
    def sample_value(sc: _SampleCosts) -> float | None:
        if col == TUNING:
            return sc.fit
        if col == GENERATE:
            return float(np.mean(sc.generate)) if sc.generate else None
        return max(sc.peak_mb) / 1024.0 if sc.peak_mb else None

    per_sample = {s: (sc.category, sample_value(sc)) for s, sc in row.costs.items()}
    per_sample = {s: cv for s, cv in per_sample.items() if cv[1] is not None}
    if group not in (OVERALL_CATEGORIES, OVERALL_SAMPLES):
        per_sample = {s: cv for s, cv in per_sample.items() if cv[0] == group}
    cell = Cell(n=len(per_sample))
    if not per_sample:
        cell.note = "not recorded"
        return cell
    reduce = max if col == PEAK_MEMORY else (lambda xs: float(np.mean(xs)))
    if group == OVERALL_CATEGORIES and col != PEAK_MEMORY:
        by_cat: dict[str, list[float]] = defaultdict(list)
        for cat, v in per_sample.values():
            by_cat[cat].append(v)  # type: ignore[arg-type]
        cats = [c for c in categories if any(sc.category == c for sc in row.costs.values())]
        missing = [c for c in cats if c not in by_cat]
        if missing:
            cell.note = f"not recorded in {', '.join(missing)}"
            return cell
        cell.value = float(np.mean([np.mean(by_cat[c]) for c in cats]))
    else:
        cell.value = float(reduce([v for _, v in per_sample.values()]))  # type: ignore[arg-type]
    return cell


def _rank(rows: Sequence[Row], columns: Sequence[Column], rankable: set[str]) -> None:
    for col in columns:
        cands = [r.cells[col.id] for r in rows if r.kind in rankable and r.cells.get(col.id)
                 and r.cells[col.id].value is not None]
        # Ties are judged at the printed precision: two cells that read the same share their rank.
        shown = {id(c): round(c.value, col.decimals) for c in cands}  # type: ignore[arg-type]
        for cell in cands:
            v = shown[id(cell)]
            better = sum(1 for o in cands if (shown[id(o)] > v if col.higher_is_better else shown[id(o)] < v))
            cell.rank = better + 1
            cell.best = cell.rank == 1


def _sample_scores(data: Sequence[_RowData], columns: Sequence[Column]) -> list[SampleScore]:
    out: list[SampleScore] = []
    for rd in data:
        for col in columns:
            values = rd.values.get(col.id, {})
            skipped = Counter((cat, sample) for cat, sample, _, _ in rd.skips.get(col.id, []))
            samples = {s: cv[0] for s, cv in values.items()} | {s: cat for cat, s in skipped}
            for sample in sorted(samples):
                vals = values.get(sample, (samples[sample], []))[1]
                out.append(SampleScore(row=rd.label, run=rd.run, method=rd.method, sample=sample,
                                       category=samples[sample], column=col.id,
                                       value=float(np.mean(vals)) if vals else None, videos=len(vals),
                                       skipped=skipped[(samples[sample], sample)]))
    return out


@dataclass(frozen=True)
class _Bootstrap:
    seed: int
    n_boot: int
    level: float


def _columns(data: Sequence[_RowData], stores: Sequence[LoadedRun], metrics: Sequence[str] | None,
             allow_mixed: bool) -> tuple[list[Column], dict[str, set[str]]]:
    """The quality columns then the cost columns; per quality column, the rows whose cells are mixed."""
    columns: list[Column] = []
    mixed: dict[str, set[str]] = {}
    for metric, variant in _select_columns(data, stores, metrics):
        col, mixed_rows = _build_quality_column(metric, variant, stores, data, allow_mixed)
        columns.append(col)
        mixed[col.id] = mixed_rows
    return columns + list(COST_COLUMNS), mixed


def _measured_rows(data: Sequence[_RowData], columns: Sequence[Column], mixed: dict[str, set[str]],
                   groups: Sequence[str], categories: Sequence[str], boot: _Bootstrap) -> list[Row]:
    """One row per (group, run, method) with a cell per column; a category row only where it has data."""
    # The categories behind each column's mean of categories: those where some row has a score.
    column_categories = {col.id: [c for c in categories if any(cat == c for r in data
                                                              for cat, _ in r.values.get(col.id, {}).values())]
                         for col in columns if col.kind == "quality"}
    rows: list[Row] = []
    for group in groups:
        for rd in data:
            row = Row(group=group, label=rd.label, method=rd.method, run=rd.run, kind=rd.kind)
            for col in columns:
                if col.kind == "quality":
                    cell = _quality_cell(rd, col.id, group, column_categories[col.id], boot.seed, boot.n_boot,
                                         boot.level)
                    cell.mixed = rd.label in mixed[col.id] and cell.value is not None
                else:
                    cell = _cost_cell(rd, col.id, group, categories)
                row.cells[col.id] = cell
            if group in (OVERALL_CATEGORIES, OVERALL_SAMPLES) or any(c.n or c.skipped for c in row.cells.values()):
                rows.append(row)
    return rows


def _reported_rows(reported: Sequence[ReportedRow], columns: Sequence[Column]
                   ) -> tuple[list[Row], list[ReportedSource]]:
    """Published rows (in the mean-of-categories group) and their sources, each cited once."""
    rows: list[Row] = []
    sources: list[ReportedSource] = []
    for rep in reported:
        row = Row(group=OVERALL_CATEGORIES, label=rep.name, method=rep.method or rep.name, run=None, kind="reported")
        for col in columns:
            v = rep.value_for(col.metric, col.variant) if col.kind == "quality" else rep.cost(col.id)
            row.cells[col.id] = Cell(value=v, note=None if v is not None else "not reported")
        rows.append(row)
        if rep.source not in sources:
            sources.append(rep.source)
    return rows, sources


def _footer_records(data: Sequence[_RowData], columns: Sequence[Column], rows: Sequence[Row],
                    stores: Sequence[LoadedRun]) -> tuple[list[SkipNote], list[GenerationFailure], list[str]]:
    """What the footer says besides conventions: skipped scores, failed generations, notes."""
    skips: list[SkipNote] = []
    failures: list[GenerationFailure] = []
    notes: list[str] = []
    for rd in data:
        for col in columns:
            counted = Counter((status, reason) for _, _, status, reason in rd.skips.get(col.id, []))
            for (status, reason), count in sorted(counted.items()):
                skips.append(SkipNote(row=rd.label, column=col.id, status=status, reason=reason, count=count))
        for reason, count in sorted(rd.failures.items()):
            failures.append(GenerationFailure(row=rd.label, reason=reason, count=count))
        unmeasured = [s for s, sc in rd.costs.items() if sc.fit is None and sc.fit_unmeasured]
        if unmeasured:
            notes.append(f"{rd.label}: tuning time not measured for {len(unmeasured)} sample(s) "
                         f"({', '.join(sorted(unmeasured))}): the fitted state came from the cache.")
    kinds = {rd.label: sorted(rd.memory_kinds) for rd in data if rd.memory_kinds}
    all_kinds = sorted({k for ks in kinds.values() for k in ks})
    if len(all_kinds) == 1:
        notes.append(f"Peak memory measured as {all_kinds[0]}.")
    elif all_kinds:
        detail = "; ".join(f"{label}: {', '.join(ks)}" for label, ks in kinds.items())
        notes.append(f"Peak memory is measured differently across rows ({detail}): compare only equal kinds.")
    for r in rows:
        for cid, cell in r.cells.items():
            if r.group == OVERALL_CATEGORIES and cell.value is None and cell.note and cell.note.startswith("no scores in"):
                notes.append(f"{r.label} / {cid}: overall (mean of categories) not computed: {cell.note}.")
    for store in stores:
        notes.extend(f"note: {w}" for w in store.warnings)
    return skips, failures, notes


def _compare_with_best(data: Sequence[_RowData], rows: Sequence[Row], columns: Sequence[Column],
                       groups: Sequence[str], boot: _Bootstrap) -> list[Comparison]:
    """Each measured row against its group's best measured row, per quality column (paired over samples)."""
    by_label = {rd.label: rd for rd in data}
    out: list[Comparison] = []
    for group in groups:
        in_group = [r for r in rows if r.group == group and r.kind == "measured"]
        for col in columns:
            if col.kind != "quality":
                continue
            ranked = [r for r in in_group if r.cells[col.id].value is not None]
            best = next((r for r in ranked if r.cells[col.id].best), None)
            if best is None:
                continue

            def means(label: str) -> dict[str, tuple[str, float]]:
                per = by_label[label].values.get(col.id, {})
                return {s: (cat, float(np.mean(v))) for s, (cat, v) in per.items() if v
                        and (group in (OVERALL_CATEGORIES, OVERALL_SAMPLES) or cat == group)}

            for r in ranked:
                if r is best:
                    continue
                comp = compare(group, col.id, r.label, best.label, means(r.label), means(best.label),
                               mean_of_categories=group == OVERALL_CATEGORIES, seed=boot.seed, n_boot=boot.n_boot,
                               level=boot.level)
                if comp is not None:
                    r.cells[col.id].p_vs_best = comp.p
                    out.append(comp)
    return out


def select_task(stores: Sequence[LoadedRun], task: str | None) -> tuple[list[LoadedRun], str]:
    """The runs' records of ``task`` (None: the only task they hold), and that task.

    Raises:
        ReportError: the runs hold several tasks and none was chosen, an unknown task, or no record of it.
    """
    found = tasks_of(stores)
    if task is None:
        if len(found) > 1:
            raise ReportError(f"these runs hold the tasks {', '.join(found)}: report one at a time (--task "
                              f"{found[0]}); each task has its own metrics and anchors")
        return list(stores), found[0] if found else MOTION_TRANSFER
    if task not in TASKS:
        raise ReportError(f"task {task!r} is not a task; tasks: {', '.join(TASKS)}")
    if task not in found:
        raise ReportError(f"these runs hold no record of the {task} task (they hold {', '.join(found) or 'none'})")
    if found == [task]:
        return list(stores), task
    chosen = [s.for_task(task) for s in stores if task in s.tasks()]
    return chosen, task


def build_leaderboard(stores: Sequence[LoadedRun], *, by: By = "category", metrics: Sequence[str] | None = None,
                      allow_mixed: bool = False, reported: Sequence[ReportedRow] | None = None,
                      rank_reported: bool = False, seed: int = 0, n_boot: int = 2000,
                      level: float = 0.95, task: str | None = None) -> Leaderboard:
    """Aggregate runs into a leaderboard.

    Args:
        stores: loaded runs (:func:`motionbench.report.runs.load_runs`); one row per (run, method).
        by: "category" (a group per category, then both overalls) or "overall" (both overalls only).
        metrics: metric names ("motion_fidelity": all variants) or "metric/variant" ids; None: all.
        allow_mixed: show columns whose rows used different backends, marking the odd cells.
        reported: published rows to show (in the mean-of-categories group, marked, unranked).
        rank_reported: rank reported rows together with measured ones.
        seed, n_boot, level: the bootstrap.
        task: the task to report (:mod:`motionbench.tasks`); None: the only one the runs hold.

    Raises:
        MixedBackendsError: a column mixes backends and ``allow_mixed`` is False.
        ReportError: an unknown metric or ``by`` value; several tasks and no ``task`` (see :func:`select_task`).
    """
    if by not in ("category", "overall"):
        raise ReportError(f"by={by!r}: use 'category' or 'overall'")
    if n_boot < 100:
        raise ReportError(f"n_boot={n_boot}: use at least 100 bootstrap replicates (2000 is the default)")
    if not 0.5 <= level < 1:
        raise ReportError(f"level={level}: the interval level must be in [0.5, 1)")
    stores, task = select_task(stores, task)
    anchors = TASK_ANCHORS.get(task, ANCHOR_METHODS)
    data = _collect(stores, anchors)
    columns, mixed = _columns(data, stores, metrics, allow_mixed)
    categories = _order_categories({cat for r in data for per in r.values.values() for cat, _ in per.values()}
                                   | {sc.category for r in data for sc in r.costs.values()})
    groups = (list(categories) if by == "category" else []) + [OVERALL_CATEGORIES, OVERALL_SAMPLES]
    rows = _measured_rows(data, columns, mixed, groups, categories, _Bootstrap(seed, n_boot, level))
    published, sources = _reported_rows(reported or [], columns)
    rows += published

    rankable = {"measured", "reported"} if rank_reported else {"measured"}
    if not any(r.kind == "measured" for r in data):
        rankable.add("anchor")  # only anchors were run: rank them among themselves rather than not at all
    for group in groups:
        _rank([r for r in rows if r.group == group], columns, rankable)

    comparisons = _compare_with_best(data, rows, columns, groups, _Bootstrap(seed, n_boot, level))
    skips, failures, notes = _footer_records(data, columns, rows, stores)
    return Leaderboard(by=by, groups=groups, columns=columns, rows=rows, runs=[_run_details(s) for s in stores],
                       seed=seed, n_boot=n_boot, level=level, skips=skips, failures=failures, notes=notes,
                       samples=_sample_scores(data, [c for c in columns if c.kind == "quality"]),
                       reported=sources, comparisons=comparisons,
                       ranked_kinds=tuple(k for k in ("measured", "anchor", "reported") if k in rankable),
                       stores=list(stores), task=task, anchors=tuple(sorted(anchors)))
