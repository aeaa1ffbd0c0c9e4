"""``motionbench metaeval`` end to end on a tiny manifest: table, JSON, metric card, reproducibility."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MANIFEST = (Path(__file__).parent / "fixtures" / "tiny_synthetic_manifest.yaml").read_text()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motionbench", "metaeval", *args], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("metaeval") / "manifest.yaml"
    path.write_text(MANIFEST)
    return path


def test_json_output_is_a_reproducible_metric_card(manifest: Path, tmp_path: Path) -> None:
    args = ("--manifest", str(manifest), "--tracker", "gt", "--tracker", "lk", "--grid", "8", "--resamples", "50")
    first = _cli(*args, "--json", "--out", str(tmp_path / "a.json"))
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    card = payload["card"]
    assert [(r["tracker"], r["variant"]) for r in card["rows"]] == [
        ("gt", "dmt"), ("gt", "symmetric"), ("gt", "matched"), ("lk", "dmt"), ("lk", "symmetric"), ("lk", "matched")]
    assert card["config"]["references"] == ["curve", "bounce"]
    assert card["config"]["counts"]["same_motion"] == 4 and card["config"]["counts"]["flicker"] == 4
    assert "Matching by position" in card["footer"]
    gt_matched = card["rows"][2]
    assert gt_matched["meets_target"] and gt_matched["mean_score"]["same_motion"] == 1.0
    for row in card["rows"]:
        assert set(row["auc"]) == {k["name"] for k in card["negative_kinds"]}
        for est in row["auc"].values():
            assert est["low"] <= est["value"] <= est["high"]
    assert json.loads((tmp_path / "a.json").read_text())["card"]["rows"] == card["rows"]
    second = _cli(*args, "--json")
    again = json.loads(second.stdout)
    assert again["card"]["rows"] == card["rows"] and again["result"]["scores"] == payload["result"]["scores"]


def test_table_and_errors(manifest: Path) -> None:
    out = _cli("--manifest", str(manifest), "--tracker", "gt", "--variant", "matched", "--variant", "dmt",
               "--resamples", "0")
    assert out.returncode == 0, out.stderr
    assert "matched" in out.stdout and "flicker" in out.stdout and "min" in out.stdout
    bad = _cli("--manifest", str(manifest), "--tracker", "raft")
    assert bad.returncode == 2 and "unknown tracker" in bad.stderr and "lk" in bad.stderr
    bad = _cli("--manifest", str(manifest), "--category", "human")
    assert bad.returncode == 2 and "single_object" in bad.stderr
    bad = _cli("--manifest", str(manifest), "--builtin")
    assert bad.returncode == 2 and "exclude each other" in bad.stderr
