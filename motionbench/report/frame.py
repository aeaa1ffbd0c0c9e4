"""The leaderboard as a pandas DataFrame, for notebooks."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from motionbench.report.model import Leaderboard

if TYPE_CHECKING:
    import pandas as pd

CELL_FIELDS = ("lo", "hi", "n", "skipped", "rank", "best", "mixed")


def to_dataframe(lb: Leaderboard) -> "pd.DataFrame":
    """One row per (group, method): ``<column>`` holds the mean, ``<column>.lo`` ... the rest.

    Missing values are ``NaN`` in the frame (pandas' own missing marker) and each has a reason in
    ``<column>.note``; ``df.attrs["footer"]`` holds the notes printed under every table and
    ``df.attrs["columns"]`` each column's direction, backends and convention.
    """
    import pandas as pd

    records = []
    for row in lb.rows:
        rec: dict[str, object] = {"group": row.group, "method": row.method, "label": row.label, "run": row.run,
                                  "kind": row.kind, "n": None if row.kind == "reported" else row.n}
        for col in lb.columns:
            cell = row.cells[col.id]
            rec[col.id] = cell.value
            for f in CELL_FIELDS:
                rec[f"{col.id}.{f}"] = getattr(cell, f)
            rec[f"{col.id}.note"] = cell.note
        records.append(rec)
    df = pd.DataFrame.from_records(records)
    for col in lb.columns:
        for name in (col.id, f"{col.id}.lo", f"{col.id}.hi"):
            df[name] = pd.to_numeric(df[name], errors="coerce")
        df[f"{col.id}.rank"] = df[f"{col.id}.rank"].astype("Int64")
    df["n"] = df["n"].astype("Int64")
    df.attrs["footer"] = lb.footer_lines()
    df.attrs["columns"] = {c.id: {"higher_is_better": c.higher_is_better, "backends": list(c.backends),
                                  "conventions": list(c.conventions), "label": c.label} for c in lb.columns}
    return df


def samples_dataframe(lb: Leaderboard) -> "pd.DataFrame":
    """Per-sample means (one row per run, method, sample and metric column), for paired comparisons."""
    import pandas as pd

    columns = ["row", "run", "method", "sample", "category", "column", "value", "videos", "skipped"]
    df = pd.DataFrame([asdict(s) for s in lb.samples], columns=columns)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df
