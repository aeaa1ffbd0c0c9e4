"""The HTML report's metric card, from a real `motionbench metaeval --out` file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motionbench.errors import MotionBenchError
from motionbench.report.card import load_metric_card, render_metric_card

REPO = Path(__file__).resolve().parents[1]
MANIFEST = (REPO / "tests" / "fixtures" / "tiny_synthetic_manifest.yaml").read_text()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motionbench", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="module")
def card_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("card")
    (folder / "manifest.yaml").write_text(MANIFEST)
    out = folder / "metaeval.json"
    proc = _cli("metaeval", "--manifest", str(folder / "manifest.yaml"), "--tracker", "gt", "--resamples", "50",
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_card_section_shows_every_row_and_the_target(card_file: Path) -> None:
    card = load_metric_card(card_file)
    section = render_metric_card(card)
    assert section.count("<tr><td>gt</td>") == len(card["rows"]) == 3
    for row in card["rows"]:
        assert f"<td>{row['variant']}</td>" in section
        mark = "✓" if row["meets_target"] else "✗"
        assert f"{row['min_auc']:.2f} {mark}" in section
    matched = next(r for r in card["rows"] if r["variant"] == "matched")
    assert matched["meets_target"]  # true tracks of a new look score exactly 1
    for kind in card["negative_kinds"]:
        assert f"AUC vs {kind['name'].replace('_', ' ')}" in section


def test_report_picks_up_the_card_beside_the_run(card_file: Path, tmp_path: Path) -> None:
    run = tmp_path / "small"
    shutil.copytree(REPO / "tests" / "fixtures" / "store_small" / "small", run)
    shutil.copy(card_file, run / "metaeval.json")
    proc = _cli("report", str(run), "--format", "html", "--out", str(tmp_path / "r.html"))
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="metric-card"' in html and "AUC vs time reversed" in html
    (run / "metaeval.json").unlink()
    plain = _cli("report", str(run), "--format", "html", "--out", str(tmp_path / "p.html"))
    assert plain.returncode == 0 and 'id="metric-card"' not in (tmp_path / "p.html").read_text(encoding="utf-8")


def test_a_file_that_is_not_metaeval_output_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"rows": []}))
    with pytest.raises(MotionBenchError, match="not the output of `motionbench metaeval"):
        load_metric_card(bad)
    with pytest.raises(MotionBenchError, match="no such file"):
        load_metric_card(tmp_path / "missing.json")
