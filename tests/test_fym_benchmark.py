"""benchmarks/fym_tuning.py runs end to end on the tiny model and reports what it measured."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import script_module

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fym_tuning.py"


def test_tuning_benchmark_on_tiny(tmp_path, capsys):
    out = tmp_path / "rows.json"
    with script_module(SCRIPT, "fym_tuning") as bench:
        code = bench.main(["--frames", "9", "--height", "32", "--width", "32", "--sparse-frames", "5", "--steps", "2",
                           "--rounds", "1", "--threads", "1", "--json", str(out)])
    assert code == 0
    rows = {r["config"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"spatial", "temporal-dense", "temporal-sparse", "2stage-spatial", "2stage-temporal"}
    assert rows["temporal-sparse"]["latent_frames"] == 2 and rows["temporal-dense"]["latent_frames"] == 3
    assert rows["spatial"]["latent_frames"] == 1
    assert rows["2stage-temporal"]["heads"] == 2 * rows["temporal-dense"]["heads"] == 8
    assert all(r["seconds_per_step"] > 0 for r in rows.values())
    printed = capsys.readouterr().out
    assert "FYM / two-stage" in printed and "| 9 | temporal-sparse | 4 | 2 |" in printed
