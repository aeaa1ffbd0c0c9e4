"""The leaderboard as data: what every renderer (terminal, Markdown, CSV, LaTeX, JSON, HTML) draws.

:func:`motionbench.report.aggregate.build_leaderboard` fills these records; renderers only format
them, so every output shows the same numbers, the same sample counts and the same footer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from motionbench.tasks import MOTION_TRANSFER, RECAPTURE

RowKind = Literal["measured", "anchor", "reported"]
ColumnKind = Literal["quality", "cost"]

OVERALL_CATEGORIES = "overall (mean of categories)"
OVERALL_SAMPLES = "overall (mean of samples)"

# Methods that need no weights and anchor each metric's scale (DESIGN.md). They are shown but not
# ranked: the `reference` method copies the reference and would "win" motion fidelity by definition.
ANCHOR_METHODS = frozenset({"reference", "static", "shuffle", "noise"})
#: The anchors of each task: in recapture, ``reference`` is the source clip unchanged (every
#: re-rendering must beat it); the motion-transfer anchors that serve no other task are not run there.
TASK_ANCHORS = {MOTION_TRANSFER: ANCHOR_METHODS, RECAPTURE: frozenset({"reference"})}
#: What a sample's videos are averaged over, per task (the footer says it).
TASK_UNITS = {MOTION_TRANSFER: "prompts and seeds", RECAPTURE: "camera paths and seeds"}

# Cost columns come from generations.jsonl, not from metrics.
TUNING = "tuning_s"
GENERATE = "generate_s"
PEAK_MEMORY = "peak_memory_gib"

MARK_MIXED = "†"  # a cell scored with a backend other than its column's main backend
MARK_REPORTED = "‡"  # a published number, not measured here
MARK_TIED = "≈"  # not significantly different from the best row of its group and column


@dataclass(frozen=True)
class Column:
    """One column of the leaderboard: a (metric, variant) pair or a cost."""

    id: str  # "clip_text", "motion_fidelity/dmt", "tuning_s"
    metric: str
    variant: str
    kind: ColumnKind
    higher_is_better: bool
    label: str  # short header, e.g. "Motion fid. (dmt)"
    unit: str = ""
    decimals: int = 3
    backends: tuple[str, ...] = ()  # every backend seen in this column's ok scores, main one first
    versions: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ()

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


@dataclass
class Cell:
    """One aggregated number with its uncertainty and provenance."""

    value: float | None = None
    lo: float | None = None  # bootstrap interval; None when fewer than 2 samples vary
    hi: float | None = None
    n: int = 0  # samples behind the value
    videos: int = 0  # scored videos behind the value
    skipped: int = 0  # skipped or failed scores in this cell's scope (never averaged)
    rank: int | None = None
    best: bool = False
    mixed: bool = False  # scored with a backend other than the column's main one (allow_mixed only)
    note: str | None = None  # why the value is missing, when it is
    missing: str | None = None  # every score skipped or failed: "skipped", "failed" or "skipped or failed"
    p_vs_best: float | None = None  # paired test against the best row of the group (measured rows only)

    @property
    def tied_with_best(self) -> bool:
        """Not the best, but not significantly different from it (see :mod:`motionbench.report.paired`)."""
        from motionbench.report.paired import ALPHA

        return not self.best and self.p_vs_best is not None and self.p_vs_best >= ALPHA


@dataclass
class Row:
    """One method (of one run, or a published row) within one group (a category or an overall)."""

    group: str
    label: str  # what the table shows: method, "method (run)" when ambiguous, or a reported row's name
    method: str
    run: str | None  # None for reported rows
    kind: RowKind
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Samples behind the row: the largest count over its quality cells (cost cells when none)."""
        quality = [c.n for k, c in self.cells.items() if k not in (TUNING, GENERATE, PEAK_MEMORY)]
        return max(quality or [c.n for c in self.cells.values()] or [0])


@dataclass(frozen=True)
class SkipNote:
    """How many scores of one row and column were skipped (or failed), and why."""

    row: str
    column: str
    status: str  # "skipped" | "error"
    reason: str
    count: int


@dataclass(frozen=True)
class SampleScore:
    """One sample's mean over its prompts and seeds: the unit every interval resamples."""

    row: str
    run: str
    method: str
    sample: str
    category: str
    column: str
    value: float | None  # None when every score of the sample was skipped or failed
    videos: int
    skipped: int


@dataclass(frozen=True)
class GenerationFailure:
    row: str
    reason: str
    count: int


@dataclass(frozen=True)
class RunDetails:
    """Where one run of the table came from, for the footer."""

    name: str
    path: str
    created: str | None = None
    git: str | None = None
    device: str | None = None
    versions: str | None = None


@dataclass(frozen=True)
class ReportedSource:
    """The citation of a block of published numbers shown with ``with_reported``."""

    title: str
    citation: str
    url: str
    note: str = ""


@dataclass
class Leaderboard:
    by: str
    groups: list[str]
    columns: list[Column]
    rows: list[Row]
    runs: list[RunDetails]
    seed: int
    n_boot: int
    level: float
    skips: list[SkipNote] = field(default_factory=list)
    failures: list[GenerationFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reported: list[ReportedSource] = field(default_factory=list)
    samples: list[SampleScore] = field(default_factory=list)  # per-sample means, for paired analyses
    comparisons: list[Any] = field(default_factory=list)  # motionbench.report.paired.Comparison, per group/column/row
    ranked_kinds: tuple[str, ...] = ("measured",)
    # The runs behind the table, for renderers that show more than numbers (the HTML report's videos).
    stores: list[Any] = field(default_factory=list, repr=False, compare=False)
    task: str = MOTION_TRANSFER
    anchors: tuple[str, ...] = tuple(sorted(ANCHOR_METHODS))  # the task's anchor methods (shown unranked)

    def rows_in(self, group: str) -> list[Row]:
        return [r for r in self.rows if r.group == group]

    def column(self, column_id: str) -> Column:
        for c in self.columns:
            if c.id == column_id:
                return c
        raise KeyError(column_id)

    @property
    def quality_columns(self) -> list[Column]:
        return [c for c in self.columns if c.kind == "quality"]

    @property
    def has_mixed(self) -> bool:
        return any(cell.mixed for r in self.rows for cell in r.cells.values())

    def footer_lines(self) -> list[str]:
        """Plain-text notes printed under every table: conventions, backends, intervals, skips."""
        lines: list[str] = []
        pct = int(round(self.level * 100))
        lines.append(f"Cells: mean [{pct}% percentile-bootstrap interval over samples, B={self.n_boot}, "
                     f"seed={self.seed}]; a video's score is averaged over {TASK_UNITS.get(self.task, 'its jobs')} "
                     f"into its sample first. Overall (mean of categories) resamples samples within each category. "
                     f"n = samples behind a row; a cell with fewer shows (n=k). No interval below 2 samples.")
        anchors = ", ".join(self.anchors)
        if "anchor" in self.ranked_kinds:
            lines.append(f"Ranks and bold: within each group; only anchor methods ({anchors}) were run, so they "
                         "are ranked among themselves.")
        else:
            ranked = "measured rows" + (" and reported rows" if "reported" in self.ranked_kinds else "")
            lines.append(f"Ranks and bold: among {ranked} of each group; anchor methods ({anchors}) are shown "
                         "unranked.")
        # Columns that share direction, version, convention and backend (variants of one metric
        # usually do) are described once.
        described: dict[tuple, list[Column]] = {}
        for col in self.columns:
            if col.kind == "quality":
                key = (col.higher_is_better, col.versions, col.conventions, col.backends)
                described.setdefault(key, []).append(col)
        for (hib, versions, conventions, backends), cols in described.items():
            direction = "higher is better" if hib else "lower is better"
            conv = " | ".join(c.rstrip(". ") for c in conventions) or "not recorded"
            names = ", ".join(f"{c.label} = {c.id}" for c in cols)
            lines.append(f"{names} ({direction}, version {', '.join(versions) or '?'}): {conv}. "
                         f"Backend: {'; '.join(backends) if backends else 'none (every score was skipped)'}.")
        lines.append(f"Tuning (s) = {TUNING}: per-reference fit seconds, counted once per (method, sample); "
                     f"Gen. = {GENERATE}: seconds per generated video; Peak mem. = {PEAK_MEMORY}: the largest "
                     f"peak memory of any fit or generate call (GiB).")
        if self.comparisons:
            from motionbench.report.paired import ALPHA, EXACT_MAX_N, TEST_NAME

            lines.append(f"{MARK_TIED} = not significantly different from the best measured row of its group and "
                         f"column: {TEST_NAME} over the samples both rows have (exact up to {EXACT_MAX_N} samples), "
                         f"p >= {ALPHA}; difference intervals are paired percentile bootstraps. No correction for "
                         "multiple comparisons.")
            overall = [c for c in self.comparisons if c.group == OVERALL_CATEGORIES]
            by_col: dict[str, list[Any]] = {}
            for c in overall:
                by_col.setdefault(c.column, []).append(c)
            for cid, comps in by_col.items():
                col = self.column(cid)
                parts = []
                for c in comps:
                    ci = (f" [{c.lo:+.{col.decimals}f}, {c.hi:+.{col.decimals}f}]" if c.lo is not None else "")
                    parts.append(f"{c.row} {c.delta:+.{col.decimals}f}{ci} p={c.p:.3g}")
                lines.append(f"vs best in {col.label} ({OVERALL_CATEGORIES}; best {comps[0].best}, n={comps[0].n}): "
                             + "; ".join(parts))
        if self.has_mixed:
            lines.append(f"{MARK_MIXED} scored with a backend other than the column's first backend: "
                         "not comparable with unmarked cells (shown because allow_mixed was set).")
        total_skipped = sum(s.count for s in self.skips)
        if total_skipped:
            lines.append(f"Skipped or failed scores (not averaged, not counted as 0): {total_skipped}.")
            by_reason: dict[tuple[str, str], list[SkipNote]] = {}
            for s in self.skips:
                by_reason.setdefault((s.status, s.reason), []).append(s)
            for (status, reason), notes in by_reason.items():
                columns = ", ".join(dict.fromkeys(n.column for n in notes))
                per_row: dict[str, int] = {}
                for n in notes:
                    per_row[n.row] = per_row.get(n.row, 0) + n.count
                rows = ", ".join(f"{r} {c}" for r, c in per_row.items())
                lines.append(f"  {sum(n.count for n in notes)} {status} in {columns} ({rows}): {reason}")
        else:
            lines.append("Skipped or failed scores: none.")
        if self.failures:
            lines.append(f"Failed generations (no video, no scores): {sum(f.count for f in self.failures)}.")
            for f in self.failures:
                lines.append(f"  {f.row}: {f.count} x {f.reason}")
        lines.extend(self.notes)
        for src in self.reported:
            lines.append(f"{MARK_REPORTED} reported, not measured here: {src.title}, {src.citation} ({src.url}). "
                         f"{src.note}".rstrip())
        for run in self.runs:
            bits = [f"run {run.name} ({run.path})"]
            bits += [f"{k} {v}" for k, v in (("created", run.created), ("git", run.git), ("device", run.device),
                                             ("versions", run.versions)) if v]
            lines.append("; ".join(bits))
        return lines
