"""Published numbers (``results/reported/*.yaml|json``): other papers' tables as cited data.

A file names its source (title, citation, url), maps its columns to MotionBench columns and lists
rows per table. The report shows these rows marked as reported and never ranks them with measured
rows unless asked: they come from other clips, backends and averaging rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motionbench.package_data import reported_folder
from motionbench.report.model import GENERATE, PEAK_MEMORY, TUNING, ReportedSource
from motionbench.report.runs import ReportError

REPORTED_DIR_NAME = Path("results") / "reported"
_COSTS = (TUNING, GENERATE, PEAK_MEMORY)


@dataclass(frozen=True)
class ReportedValue:
    metric: str | None  # None for a cost column
    variant: str | None  # None: the source does not say; shown under every variant of the metric
    cost: str | None  # "tuning_s", ...
    value: float


@dataclass(frozen=True)
class ReportedRow:
    name: str
    method: str | None  # the MotionBench method it corresponds to, if any
    table: str  # "main", "ablation", ...
    values: tuple[ReportedValue, ...]
    source: ReportedSource

    def value_for(self, metric: str, variant: str) -> float | None:
        for v in self.values:
            if v.metric == metric and (v.variant is None or v.variant == variant):
                return v.value
        return None

    def cost(self, cost: str) -> float | None:
        for v in self.values:
            if v.cost == cost:
                return v.value
        return None


def default_reported_dir() -> Path:
    """``./results/reported`` when it exists (your own published numbers), else the ones MotionBench ships."""
    here = Path.cwd() / REPORTED_DIR_NAME
    if here.is_dir():
        return here
    return reported_folder()


def _load_mapping(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (json.JSONDecodeError, ValueError) as exc:  # yaml.YAMLError subclasses Exception only
        raise ReportError(f"{path}: cannot be parsed ({exc})") from None
    except Exception as exc:  # yaml.YAMLError
        raise ReportError(f"{path}: cannot be parsed ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a mapping with 'source', 'columns' and 'tables'")
    return data


def load_reported_file(path: Path | str) -> list[ReportedRow]:
    """Rows of one published-numbers file.

    Raises:
        ReportError: a required field is missing or a value is not a number; the message names it.
    """
    path = Path(path)
    data = _load_mapping(path)
    for key in ("source", "columns", "tables"):
        if key not in data:
            raise ReportError(f"{path}: missing top-level field {key!r} (needs source, columns, tables)")
    src = data["source"]
    missing = [k for k in ("title", "citation", "url") if not (isinstance(src, dict) and src.get(k))]
    if missing:
        raise ReportError(f"{path}: source needs {', '.join(missing)}: published numbers are shown only with their citation")
    source = ReportedSource(title=str(src["title"]), citation=str(src["citation"]), url=str(src["url"]),
                           note=str(src.get("note", "")))
    columns: dict[str, ReportedValue] = {}
    for name, spec in dict(data["columns"]).items():
        if not isinstance(spec, dict) or not (("metric" in spec) ^ ("cost" in spec)):
            raise ReportError(f"{path}: columns.{name} must give either 'metric' (and optional 'variant') or 'cost'")
        if "cost" in spec and spec["cost"] not in _COSTS:
            raise ReportError(f"{path}: columns.{name}.cost is {spec['cost']!r}; use one of {', '.join(_COSTS)}")
        columns[name] = ReportedValue(metric=spec.get("metric"), variant=spec.get("variant"),
                                      cost=spec.get("cost"), value=float("nan"))
    rows: list[ReportedRow] = []
    for table, entries in dict(data["tables"]).items():
        for i, entry in enumerate(entries or []):
            where = f"{path}: tables.{table}[{i}]"
            if not isinstance(entry, dict) or not entry.get("name"):
                raise ReportError(f"{where}: each row needs a 'name'")
            values: list[ReportedValue] = []
            for key, raw in entry.items():
                if key in ("name", "method"):
                    continue
                if key not in columns:
                    raise ReportError(f"{where}: column {key!r} is not declared under 'columns' "
                                      f"(declared: {', '.join(columns)})")
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    raise ReportError(f"{where}.{key}: {raw!r} is not a number")
                c = columns[key]
                values.append(ReportedValue(metric=c.metric, variant=c.variant, cost=c.cost, value=float(raw)))
            rows.append(ReportedRow(name=str(entry["name"]), method=entry.get("method"), table=str(table),
                                    values=tuple(values), source=source))
    return rows


def load_reported(directory: Path | str | None = None) -> list[ReportedRow]:
    """Rows of every ``*.yaml``, ``*.yml`` and ``*.json`` file in ``directory`` (sorted by name).

    Raises:
        ReportError: the folder does not exist or holds no published numbers.
    """
    directory = Path(directory) if directory is not None else default_reported_dir()
    if not directory.is_dir():
        raise ReportError(f"{directory}: no published-numbers folder; --with-reported needs results/reported/")
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    if not files:
        raise ReportError(f"{directory}: holds no .yaml or .json files of published numbers")
    return [row for f in files for row in load_reported_file(f)]
