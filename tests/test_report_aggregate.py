"""Aggregation, bootstrap intervals, ranks, backends and published rows, checked against values
computed by hand from the fixed store in tests/fixtures/store_small (see the tables below)."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Iterable

import numpy as np
import pytest

from motionbench.report import MixedBackendsError, ReportError, build, leaderboard, sample_scores
from motionbench.report.bootstrap import bootstrap_mean, bootstrap_mean_of_groups, cell_rng
from motionbench.report.model import OVERALL_CATEGORIES, OVERALL_SAMPLES, Leaderboard
from motionbench.run.records import GenerationRecord, ScoreRecord, job_id, to_json_line

STORE = Path(__file__).parent / "fixtures" / "store_small"
SMALL = STORE / "small"
OTHER = STORE / "other_clip"

# The fixture's per-video values (prompt 0, prompt 1) - the hand computation starts here.
#   clip_text            fym          ditflow         motion_fidelity/dmt  fym          ditflow
#   camera  cam-pan      .30 .32      .36 .38                              .90 .94      skipped x2
#           cam-zoom     .28 .30      .30 .34                              .80 .84      .60 .70
#   single  obj-car      .34 .36      .31 .33                              .96 .98      .80 .82
#           obj-dog      .26 .30      .29 .31                              .70 .74      .75 .79
# (scores.jsonl also holds an older fym/obj-car/0 clip_text line of 0.10, superseded by the later one.)


def cell(lb: Leaderboard, group: str, method: str, column: str):
    rows = [r for r in lb.rows if r.group == group and r.method == method and r.kind != "reported"]
    assert len(rows) == 1, (group, method, [r.label for r in lb.rows])
    return rows[0].cells[column]


@pytest.fixture()
def small() -> Leaderboard:
    # Built per test (8 ms): a mutation campaign attributes the lines a fixture runs to the test that
    # sets it up, so a module-scoped table would leave every later test out of the mutants it kills.
    return build([SMALL])


def test_means_per_sample_category_and_both_overalls(small: Leaderboard) -> None:
    # Sample means: fym clip_text cam-pan .31, cam-zoom .29, obj-car .35, obj-dog .28.
    assert cell(small, "camera", "fym", "clip_text").value == pytest.approx(0.30)
    assert cell(small, "single_object", "fym", "clip_text").value == pytest.approx(0.315)
    assert cell(small, OVERALL_CATEGORIES, "fym", "clip_text").value == pytest.approx(0.3075)
    assert cell(small, OVERALL_SAMPLES, "fym", "clip_text").value == pytest.approx(0.3075)
    # ditflow motion fidelity: cam-pan fully skipped, so camera rests on cam-zoom alone (.65);
    # single (.81 + .77) / 2 = .79; mean of categories (.65 + .79) / 2 = .72; mean of 3 samples 2.23 / 3.
    assert cell(small, "camera", "ditflow", "motion_fidelity/dmt").value == pytest.approx(0.65)
    assert cell(small, "single_object", "ditflow", "motion_fidelity/dmt").value == pytest.approx(0.79)
    assert cell(small, OVERALL_CATEGORIES, "ditflow", "motion_fidelity/dmt").value == pytest.approx(0.72)
    assert cell(small, OVERALL_SAMPLES, "ditflow", "motion_fidelity/dmt").value == pytest.approx(2.23 / 3)


def test_sample_counts_and_skipped_scores_are_carried_not_averaged(small: Leaderboard) -> None:
    c = cell(small, "camera", "ditflow", "motion_fidelity/dmt")
    assert (c.n, c.videos, c.skipped) == (1, 2, 2)
    assert (c.lo, c.hi) == (None, None)  # one sample: no interval rather than a zero-width one
    overall = cell(small, OVERALL_SAMPLES, "ditflow", "motion_fidelity/dmt")
    assert (overall.n, overall.videos, overall.skipped) == (3, 6, 2)
    assert cell(small, "camera", "fym", "motion_fidelity/dmt").n == 2
    [note] = small.skips
    assert (note.row, note.column, note.status, note.count) == ("ditflow", "motion_fidelity/dmt", "skipped", 2)
    footer = "\n".join(small.footer_lines())
    assert "2 skipped in motion_fidelity/dmt (ditflow 2): no reference tracks" in footer


def test_last_record_of_a_key_wins(small: Leaderboard) -> None:
    # The stale 0.10 would give obj-car (0.10 + 0.36) / 2 = 0.23 and single_object 0.255.
    assert cell(small, "single_object", "fym", "clip_text").value == pytest.approx(0.315)
    # ... and its version "0" would show as a second version of the column.
    assert small.column("clip_text").versions == ("1",)


def test_category_intervals_of_two_samples_span_them(small: Leaderboard) -> None:
    # Resampling 2 values: the mean is min (p=1/4), mid (1/2) or max (1/4), so the 2.5 and 97.5
    # percentiles are the two sample means themselves.
    c = cell(small, "camera", "fym", "clip_text")
    assert (c.lo, c.hi) == (pytest.approx(0.29), pytest.approx(0.31))
    c = cell(small, "single_object", "fym", "motion_fidelity/dmt")
    assert (c.lo, c.hi) == (pytest.approx(0.72), pytest.approx(0.97))


def test_mean_of_categories_interval_resamples_within_categories(small: Leaderboard) -> None:
    # Each category mean is its min with p=1/4, so both at their min has p=1/16 > 2.5%:
    # lo = (.29 + .28) / 2, hi = (.31 + .35) / 2.
    c = cell(small, OVERALL_CATEGORIES, "fym", "clip_text")
    assert (c.lo, c.hi) == (pytest.approx(0.285), pytest.approx(0.33))
    # ditflow: camera has one sample (fixed at .65); single varies over {.77, .79, .81}.
    c = cell(small, OVERALL_CATEGORIES, "ditflow", "motion_fidelity/dmt")
    assert (c.lo, c.hi) == (pytest.approx(0.71), pytest.approx(0.73))


def test_mean_of_samples_interval_matches_the_exact_bootstrap_distribution(small: Leaderboard) -> None:
    # fym motion fidelity sample means .92 .82 .97 .72: enumerate all 4^4 equally likely resamples.
    x = np.array([0.92, 0.82, 0.97, 0.72])
    means = np.sort([np.mean(x[list(i)]) for i in itertools.product(range(4), repeat=4)])
    cdf = lambda v: np.mean(means <= v + 1e-12)  # noqa: E731
    c = cell(small, OVERALL_SAMPLES, "fym", "motion_fidelity/dmt")
    assert c.value == pytest.approx(0.8575)
    # B=2000 replicates: the estimated percentiles lie within a percentage point of the exact ones.
    assert 0.015 <= cdf(c.lo) and np.mean(means < c.lo - 1e-12) <= 0.035
    assert np.mean(means < c.hi - 1e-12) <= 0.985 and cdf(c.hi) >= 0.965
    assert means[0] < c.lo < c.value < c.hi < means[-1]


def test_intervals_are_seeded_and_do_not_depend_on_other_columns() -> None:
    a = build([SMALL], seed=3)
    b = build([SMALL], seed=3, metrics=["motion_fidelity/dmt"])
    c = build([SMALL], seed=4)
    pick = lambda lb: cell(lb, OVERALL_SAMPLES, "fym", "motion_fidelity/dmt")  # noqa: E731
    assert (pick(a).lo, pick(a).hi) == (pick(b).lo, pick(b).hi)
    assert [col.id for col in b.quality_columns] == ["motion_fidelity/dmt"]
    draws = lambda seed: bootstrap_mean([0.92, 0.82, 0.97, 0.72], rng=cell_rng(seed, "x"), n_boot=200)  # noqa: E731
    assert draws(1) == draws(1) and draws(1) != draws(2)
    assert pick(c).value == pick(a).value


def test_bootstrap_functions_on_known_inputs() -> None:
    rng = np.random.default_rng(0)
    assert bootstrap_mean([0.5], rng=rng) is None
    assert bootstrap_mean([2.0, 2.0, 2.0], rng=rng) == (2.0, 2.0)
    assert bootstrap_mean_of_groups([[1.0], [3.0]], rng=rng) is None
    lo, hi = bootstrap_mean_of_groups([[0.0, 1.0], [10.0]], rng=rng, n_boot=4000)
    assert (lo, hi) == (pytest.approx(5.0), pytest.approx(5.5))  # (0 + 10) / 2 and (1 + 10) / 2
    with pytest.raises(ValueError):
        bootstrap_mean_of_groups([[1.0], []], rng=rng)


@pytest.mark.parametrize("level,z", [(0.95, 1.959964), (0.5, 0.674490)])
def test_bootstrap_interval_has_the_normal_width_for_a_large_symmetric_sample(level: float, z: float) -> None:
    """For 51 evenly spread values the mean's bootstrap distribution is close to normal, so the
    percentile interval at ``level`` is mean -/+ z * sd / sqrt(n) (sd with ddof 0), z the normal quantile."""
    x = np.linspace(-1.0, 1.0, 51)
    half = z * x.std() / np.sqrt(x.size)
    lo, hi = bootstrap_mean(x, rng=cell_rng(0, "width"), n_boot=80000, level=level)
    assert lo == pytest.approx(-half, rel=0.025) and hi == pytest.approx(half, rel=0.025)


def test_costs_count_fit_once_per_method_and_sample(small: Leaderboard) -> None:
    # fym fit seconds per sample 700, 720, 740, 760, written on both jobs of cam-pan and obj-car:
    # summing jobs would give camera 1060 and single 1120.
    assert cell(small, "camera", "fym", "tuning_s").value == pytest.approx(710.0)
    assert cell(small, "single_object", "fym", "tuning_s").value == pytest.approx(750.0)
    assert cell(small, OVERALL_CATEGORIES, "fym", "tuning_s").value == pytest.approx(730.0)
    # Generation seconds per video: sample means 11, 12, 10, 13.
    assert cell(small, "camera", "fym", "generate_s").value == pytest.approx(11.5)
    # Peak memory is a maximum, not a mean: obj-dog's 24576 MB generation.
    assert cell(small, "single_object", "fym", "peak_memory_gib").value == pytest.approx(24.0)
    assert cell(small, "camera", "fym", "peak_memory_gib").value == pytest.approx(20.0)
    assert cell(small, OVERALL_SAMPLES, "fym", "peak_memory_gib").value == pytest.approx(24.0)


def test_ranks_follow_each_columns_direction(small: Leaderboard) -> None:
    assert cell(small, "camera", "ditflow", "clip_text").best
    assert cell(small, "camera", "fym", "clip_text").rank == 2
    assert cell(small, "single_object", "fym", "clip_text").best
    assert cell(small, OVERALL_CATEGORIES, "fym", "motion_fidelity/dmt").best
    # Costs: lower is better.
    assert cell(small, OVERALL_CATEGORIES, "ditflow", "tuning_s").best
    assert cell(small, OVERALL_CATEGORIES, "fym", "generate_s").best


def test_a_lower_is_better_metric_ranks_the_other_way(tmp_path: Path) -> None:
    run = tmp_path / "small"
    shutil.copytree(SMALL, run)
    lines = [json.loads(line) for line in (run / "scores.jsonl").read_text().splitlines()]
    for rec in lines:
        if rec["metric"] == "clip_text":
            rec["higher_is_better"] = False
    (run / "scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    lb = build([run])
    assert cell(lb, "camera", "fym", "clip_text").best
    assert cell(lb, "camera", "ditflow", "clip_text").rank == 2
    assert lb.column("clip_text").arrow == "↓"


def test_mixed_backends_in_one_column_are_refused() -> None:
    with pytest.raises(MixedBackendsError) as err:
        build([SMALL, OTHER])
    msg = str(err.value)
    assert "clip_text" in msg and "ViT-B-32" in msg and "ViT-L-14" in msg
    assert "motiondirector" in msg and "--allow-mixed" in msg
    # The motion-fidelity column alone is consistent across both runs.
    lb = build([SMALL, OTHER], metrics=["motion_fidelity"])
    assert not lb.has_mixed
    assert cell(lb, OVERALL_CATEGORIES, "motiondirector", "motion_fidelity/dmt").value == pytest.approx(0.865)


def test_allow_mixed_marks_the_odd_rows() -> None:
    lb = build([SMALL, OTHER], allow_mixed=True)
    assert cell(lb, OVERALL_CATEGORIES, "motiondirector", "clip_text").mixed
    assert not cell(lb, OVERALL_CATEGORIES, "fym", "clip_text").mixed
    assert not cell(lb, OVERALL_CATEGORIES, "motiondirector", "motion_fidelity/dmt").mixed
    col = lb.column("clip_text")
    assert col.backends[0].startswith("open_clip:ViT-B-32") and len(col.backends) == 2
    assert any("†" in line for line in lb.footer_lines())


def test_reported_rows_are_shown_but_never_ranked_with_measured() -> None:
    plain = build([SMALL])
    lb = build([SMALL], with_reported=True)
    reported = [r for r in lb.rows if r.kind == "reported"]
    assert {r.label for r in reported} >= {"DiTFlow", "MotionDirector", "FYM", "FYM w/o sparse sampling"}
    assert all(r.group == OVERALL_CATEGORIES for r in reported)
    assert all(c.rank is None and not c.best for r in reported for c in r.cells.values())
    fym_paper = next(r for r in reported if r.label == "FYM")
    assert fym_paper.cells["motion_fidelity/dmt"].value == pytest.approx(0.971)
    assert fym_paper.cells["clip_text"].value == pytest.approx(0.380)
    assert fym_paper.cells["tuning_s"].value == pytest.approx(727)
    # Measured ranks are those of the table without reported rows, though 0.971 > 0.8575.
    for r in plain.rows:
        for cid, c in r.cells.items():
            assert cell(lb, r.group, r.method, cid).rank == c.rank
    assert any("2506.05207" in line for line in lb.footer_lines())


def test_rank_reported_ranks_them_together_when_asked() -> None:
    lb = build([SMALL], with_reported=True, rank_reported=True)
    best = [r.label for r in lb.rows_in(OVERALL_CATEGORIES) if r.cells["motion_fidelity/dmt"].best]
    assert best == ["FYM w/o sparse sampling"]  # 0.975, the highest published motion fidelity
    assert cell(lb, OVERALL_CATEGORIES, "fym", "motion_fidelity/dmt").rank == 4  # after .975, .971, .896


# ------------------------------------------------------------------ stores built record by record
def write_store(run: Path, entries: list[tuple], *, metric: str = "motion_fidelity", variant: str = "dmt",
                version: str = "1", convention: str = "test") -> Path:
    """entries: (method, sample, category, prompt_index, value | None | "genfail")."""
    run.mkdir(parents=True)
    with open(run / "generations.jsonl", "w") as g, open(run / "scores.jsonl", "w") as s:
        for method, sample, category, p, value in entries:
            job = job_id(method, sample, p, 0)
            failed = value == "genfail"
            g.write(to_json_line(GenerationRecord(
                job=job, method=method, sample=sample, category=category, prompt_index=p, prompt=f"prompt {p}",
                seed=0, status="error" if failed else "ok", video=None if failed else f"videos/{job}.mp4",
                fit_seconds=1.0, generate_seconds=2.0,
                error="OutOfMemoryError: CUDA out of memory" if failed else None)))
            if failed:
                continue
            s.write(to_json_line(ScoreRecord(
                job=job, method=method, sample=sample, category=category, prompt_index=p, seed=0, metric=metric,
                variant=variant, status="ok" if value is not None else "error", value=value, version=version,
                backend="tracker:lk:grid=8", convention=convention, higher_is_better=True,
                reason=None if value is not None else "ValueError: no tracks")))
    return run


def test_anchor_methods_are_shown_unranked(tmp_path: Path) -> None:
    run = write_store(tmp_path / "r", [("reference", "a", "camera", 0, 1.0), ("fym", "a", "camera", 0, 0.8),
                                       ("static", "a", "camera", 0, 0.1)])
    lb = build([run])
    assert cell(lb, "camera", "fym", "motion_fidelity/dmt").best
    assert cell(lb, "camera", "reference", "motion_fidelity/dmt").rank is None
    only_anchors = build([write_store(tmp_path / "a", [("reference", "a", "camera", 0, 1.0),
                                                        ("static", "a", "camera", 0, 0.1)])])
    assert cell(only_anchors, "camera", "reference", "motion_fidelity/dmt").best
    assert any("only anchor methods" in line for line in only_anchors.footer_lines())


def test_cells_that_print_the_same_share_their_rank(tmp_path: Path) -> None:
    run = write_store(tmp_path / "r", [("fym", "a", "camera", 0, 0.8001), ("ditflow", "a", "camera", 0, 0.8004),
                                       ("motiondirector", "a", "camera", 0, 0.7)])
    lb = build([run])
    assert cell(lb, "camera", "fym", "motion_fidelity/dmt").best  # 0.800 either way
    assert cell(lb, "camera", "ditflow", "motion_fidelity/dmt").best
    assert cell(lb, "camera", "motiondirector", "motion_fidelity/dmt").rank == 3


def test_failed_generations_and_failed_scores_are_reported(tmp_path: Path) -> None:
    run = write_store(tmp_path / "r", [("fym", "a", "camera", 0, 0.5), ("fym", "a", "camera", 1, "genfail"),
                                       ("fym", "b", "camera", 0, None), ("fym", "b", "camera", 1, 0.7)])
    lb = build([run])
    c = cell(lb, "camera", "fym", "motion_fidelity/dmt")
    assert (c.value, c.n, c.skipped) == (pytest.approx(0.6), 2, 1)
    footer = "\n".join(lb.footer_lines())
    assert "Failed generations (no video, no scores): 1" in footer and "CUDA out of memory" in footer
    assert "1 error in motion_fidelity/dmt (fym 1): ValueError: no tracks" in footer


def test_a_row_missing_a_category_gets_no_mean_of_categories(tmp_path: Path) -> None:
    run = write_store(tmp_path / "r", [("fym", "a", "camera", 0, 0.5), ("fym", "b", "human", 0, 0.9),
                                       ("ditflow", "a", "camera", 0, 0.4), ("ditflow", "b", "human", 0, None)])
    lb = build([run])
    c = cell(lb, OVERALL_CATEGORIES, "ditflow", "motion_fidelity/dmt")
    assert c.value is None and "human" in c.note and c.rank is None
    assert cell(lb, OVERALL_SAMPLES, "ditflow", "motion_fidelity/dmt").value == pytest.approx(0.4)
    assert cell(lb, OVERALL_CATEGORIES, "fym", "motion_fidelity/dmt").value == pytest.approx(0.7)
    assert cell(lb, "human", "ditflow", "motion_fidelity/dmt").note == "all 1 scores failed"  # status "error"
    assert any("ditflow / motion_fidelity/dmt: overall (mean of categories) not computed" in line
               for line in lb.footer_lines())


def test_clear_errors_for_unknown_runs_metrics_and_options(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"run 'nope' not found.*runs in .*: other_clip, small"):
        build(["nope"], results_dir=STORE)
    assert build(["small"], results_dir=STORE).runs[0].path == str(STORE / "small")  # a name under results_dir
    with pytest.raises(ReportError, match=r"metric 'fvd' has no scores.*available: clip_text, motion_fidelity/dmt"):
        build([SMALL], metrics=["fvd"])
    with pytest.raises(ReportError, match="by='sample'"):
        build([SMALL], by="sample")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "run.json").write_text('{"schema": 2}')
    with pytest.raises(ReportError, match="no generations.jsonl or scores.jsonl records"):
        build([tmp_path / "empty"])


def test_dataframe_for_notebooks() -> None:
    df = leaderboard(str(SMALL), by="overall", with_reported=True)
    assert list(df.group.unique()) == [OVERALL_CATEGORIES, OVERALL_SAMPLES]
    fym = df[(df.group == OVERALL_CATEGORIES) & (df.method == "fym") & (df.kind == "measured")].iloc[0]
    assert fym["motion_fidelity/dmt"] == pytest.approx(0.8575)
    assert fym["motion_fidelity/dmt.rank"] == 1 and fym["n"] == 4
    paper = df[(df.kind == "reported") & (df.label == "FYM")].iloc[0]
    assert paper["motion_fidelity/dmt"] == pytest.approx(0.971) and math.isnan(paper["generate_s"])
    assert paper["generate_s.note"] == "not reported"
    assert any("percentile-bootstrap" in line for line in df.attrs["footer"])
    assert df.attrs["columns"]["tuning_s"]["higher_is_better"] is False


def test_per_sample_means_for_paired_analyses() -> None:
    df = sample_scores(SMALL)
    mf = df[df.column == "motion_fidelity/dmt"].set_index(["method", "sample"])
    assert mf.loc[("fym", "cam-pan"), "value"] == pytest.approx(0.92)
    assert mf.loc[("ditflow", "obj-dog"), "value"] == pytest.approx(0.77)
    skipped = mf.loc[("ditflow", "cam-pan")]
    assert math.isnan(skipped["value"]) and (skipped["videos"], skipped["skipped"]) == (0, 2)
    assert len(df) == 2 * 2 * 4  # methods x columns x samples


def test_a_nan_value_is_counted_as_failed_never_averaged(tmp_path: Path) -> None:
    run = write_store(tmp_path / "r", [("fym", "a", "camera", 0, 0.5), ("fym", "a", "camera", 1, 0.7)])
    lines = (run / "scores.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["value"] = float("nan")  # what a buggy metric might write; json.dumps writes NaN
    (run / "scores.jsonl").write_text(lines[0] + "\n" + json.dumps(bad) + "\n")
    lb = build([run])
    c = cell(lb, "camera", "fym", "motion_fidelity/dmt")
    assert (c.value, c.videos, c.skipped) == (pytest.approx(0.5), 1, 1)
    assert any("1 error in motion_fidelity/dmt (fym 1): value is NaN or missing" in line for line in lb.footer_lines())


def test_published_numbers_need_a_citation_and_numbers(tmp_path: Path) -> None:
    from motionbench.report.reported import load_reported, load_reported_file

    rows = load_reported_file(Path(__file__).parents[1] / "results" / "reported" / "fym_paper.yaml")
    assert [r.name for r in rows if r.table == "main"] == ["DiTFlow", "MotionDirector", "FYM"]
    assert len([r for r in rows if r.table == "ablation"]) == 4
    assert rows[2].value_for("clip_temporal", "") == pytest.approx(0.976) and rows[2].cost("tuning_s") == 727
    bad = tmp_path / "paper.yaml"
    bad.write_text("source: {title: T, url: u}\ncolumns: {mf: {metric: motion_fidelity}}\ntables: {main: []}\n")
    with pytest.raises(ReportError, match="source needs citation"):
        load_reported_file(bad)
    bad.write_text("source: {title: T, citation: c, url: u}\ncolumns: {mf: {metric: motion_fidelity}}\n"
                   "tables: {main: [{name: A, mf: high}]}\n")
    with pytest.raises(ReportError, match=r"tables.main\[0\].mf: 'high' is not a number"):
        load_reported_file(bad)
    with pytest.raises(ReportError, match="no published-numbers folder"):
        load_reported(tmp_path / "absent")


def test_comparability_is_backend_and_version_never_the_convention_text(tmp_path: Path) -> None:
    """Rewording a convention (same version) keeps runs comparable; another version does not."""
    entries = [("fym", "a", "camera", 0, 0.8), ("fym", "b", "camera", 0, 0.6)]
    old = write_store(tmp_path / "old", entries, convention="unit steps; identity subtracted")
    new = write_store(tmp_path / "new", [("ditflow", s, c, p, v) for _, s, c, p, v in entries],
                      convention="unit per-step displacements; the identity is subtracted")
    newer = write_store(tmp_path / "newer", [("ditflow", s, c, p, v) for _, s, c, p, v in entries], version="2",
                        convention="unit per-step displacements; the identity is subtracted")
    lb = build([old, new])
    col = lb.column("motion_fidelity/dmt")
    assert (col.backends, col.versions) == (("tracker:lk:grid=8",), ("1",)) and len(col.conventions) == 1
    assert not lb.has_mixed and cell(lb, OVERALL_SAMPLES, "ditflow", "motion_fidelity/dmt").value == pytest.approx(0.7)
    with pytest.raises(MixedBackendsError, match=r"backend 'tracker:lk:grid=8' \(version 1\) used by fym; "
                                                  r"backend 'tracker:lk:grid=8' \(version 2\) used by ditflow"):
        build([old, newer])


def test_a_cell_whose_scores_all_failed_says_failed_and_one_all_skipped_says_skipped(tmp_path: Path) -> None:
    """A metric that ran and failed on every video (e.g. a camera that cannot be solved from a noisy
    video) is a different fact from one that could not run (no weights): the cell says which."""
    from motionbench.report.render import to_markdown

    run = write_store(tmp_path / "r", [("fym", "a", "camera", 0, 0.5), ("ditflow", "a", "camera", 0, None)])
    text = to_markdown(build([run], by="overall"))
    assert "| ditflow | 0 | failed |" in text  # n: samples with a score
    scores = tmp_path / "r" / "scores.jsonl"
    scores.write_text(scores.read_text().replace('"status": "error"', '"status": "skipped"'))
    c = cell(build([run]), "camera", "ditflow", "motion_fidelity/dmt")
    assert c.note == "all 1 scores skipped"
    assert "| ditflow | 0 | skipped |" in to_markdown(build([run], by="overall"))


def test_leaderboard_bootstrap_settings_are_checked_at_their_bounds():
    from motionbench.report.aggregate import build_leaderboard

    for kwargs, message in [({"n_boot": 99}, r"n_boot=99: use at least 100"),
                            ({"level": 1.0}, r"level=1.0: the interval level must be in \[0.5, 1\)"),
                            ({"level": 1.5}, r"level=1.5: the interval level"),
                            ({"level": 0.4}, r"level=0.4: the interval level"),
                            ({"level": -0.2}, r"level=-0.2: the interval level")]:
        with pytest.raises(ReportError, match=message):
            build_leaderboard([], **kwargs)
    # the bounds themselves pass these checks (and fail later, on the empty list of runs, for another reason)
    for kwargs in ({"n_boot": 100}, {"level": 0.5}, {"level": 0.999}):
        try:
            build_leaderboard([], **kwargs)
        except ReportError as exc:
            assert "n_boot" not in str(exc) and "interval level" not in str(exc)


def test_bootstrap_percentiles_and_defaults_are_exactly_the_documented_ones():
    from motionbench.report.bootstrap import _percentiles

    assert _percentiles(np.arange(1001.0), 0.95) == pytest.approx((25.0, 975.0), abs=1e-9)  # 2.5th, 97.5th
    values = np.random.default_rng(7).random(40)  # continuous means: one replicate more moves the percentiles
    assert bootstrap_mean(values, rng=np.random.default_rng(3)) == bootstrap_mean(
        values, rng=np.random.default_rng(3), n_boot=2000, level=0.95)  # the defaults: 2000 replicates
    with pytest.raises(TypeError):  # the generator is named, never taken by position
        bootstrap_mean(values, np.random.default_rng(3))


def test_grouped_bootstrap_resamples_when_any_group_has_two_or_more_values():
    rng = np.random.default_rng(0)
    lo, hi = bootstrap_mean_of_groups([[0.1, 0.5, 0.9], [0.3]], rng=rng)  # 3 values and a fixed one
    assert lo < hi
    assert bootstrap_mean_of_groups([[0.1], [0.3]], rng=rng) is None


def test_grouped_bootstrap_defaults_are_the_documented_ones_and_its_generator_is_named():
    groups = [np.random.default_rng(7).random(40), np.random.default_rng(8).random(30), [0.4]]
    assert bootstrap_mean_of_groups(groups, rng=np.random.default_rng(3)) == bootstrap_mean_of_groups(
        groups, rng=np.random.default_rng(3), n_boot=2000, level=0.95)  # the defaults: 2000 replicates, 95%
    with pytest.raises(TypeError):  # the generator is named, never taken by position
        bootstrap_mean_of_groups(groups, np.random.default_rng(3))
    assert bootstrap_mean_of_groups(groups=groups, rng=np.random.default_rng(3)) is not None


def test_select_task_with_no_runs_defaults_to_motion_transfer_and_names_bad_tasks():
    from motionbench.report.aggregate import select_task
    from motionbench.tasks import MOTION_TRANSFER

    assert select_task([], None) == ([], MOTION_TRANSFER)
    with pytest.raises(ReportError, match=r"task 'dance' is not a task; tasks: "):
        select_task([], "dance")
    with pytest.raises(ReportError, match=rf"these runs hold no record of the {MOTION_TRANSFER} task \(they hold none\)"):
        select_task([], MOTION_TRANSFER)


# ------------------------------------------------------------------ records written field by field
def gen(method: str, sample: str, category: str, p: int = 0, **fields) -> GenerationRecord:
    """A generation record of job (method, sample, prompt p, seed 0); ``fields`` override the defaults."""
    job = job_id(method, sample, p, 0)
    base = dict(job=job, method=method, sample=sample, category=category, prompt_index=p, prompt=f"prompt {p}",
                seed=0, status="ok", video=f"videos/{job}.mp4")
    return GenerationRecord(**{**base, **fields})


def score(method: str, sample: str, category: str, p: int = 0, value: float | None = 0.5, **fields) -> ScoreRecord:
    """A motion_fidelity/dmt score of job (method, sample, prompt p, seed 0); ``fields`` override the defaults."""
    base = dict(job=job_id(method, sample, p, 0), method=method, sample=sample, category=category, prompt_index=p,
                seed=0, metric="motion_fidelity", variant="dmt", status="ok" if value is not None else "error",
                value=value, version="1", backend="tracker:lk:grid=8", convention="test", higher_is_better=True)
    return ScoreRecord(**{**base, **fields})


def write_records(run: Path, generations: Iterable[GenerationRecord] = (), scores: Iterable[ScoreRecord] = ()) -> Path:
    run.mkdir(parents=True)
    (run / "generations.jsonl").write_text("".join(to_json_line(g) for g in generations))
    (run / "scores.jsonl").write_text("".join(to_json_line(s) for s in scores))
    return run


def test_cost_overalls_weigh_categories_equally_and_peak_memory_is_the_largest(tmp_path: Path) -> None:
    """Camera has two samples and human one, so the mean of categories differs from the mean over samples."""
    gens = [gen("fym", "a", "camera", 0, fit_seconds=100.0, generate_seconds=2.0, fit_peak_memory_mb=1024.0,
                generate_peak_memory_mb=2048.0),
            gen("fym", "a", "camera", 1, fit_seconds=100.0, generate_seconds=4.0, generate_peak_memory_mb=3072.0),
            gen("fym", "b", "camera", 0, fit_seconds=200.0, generate_seconds=6.0, generate_peak_memory_mb=1024.0),
            gen("fym", "c", "human", 0, fit_seconds=600.0, generate_seconds=10.0, generate_peak_memory_mb=5120.0),
            gen("ditflow", "a", "camera", 0, fit_seconds=50.0, generate_seconds=1.0, generate_peak_memory_mb=512.0)]
    lb = build([write_records(tmp_path / "r", gens)])
    expected = {  # fym: (camera, human, mean of categories, mean over samples)
        "tuning_s": (150.0, 600.0, (150 + 600) / 2, (100 + 200 + 600) / 3),
        "generate_s": (4.5, 10.0, (4.5 + 10) / 2, (3 + 6 + 10) / 3),  # sample means 3, 6 and 10
        "peak_memory_gib": (3.0, 5.0, 5.0, 5.0),  # the largest figure (3072 MB, 5120 MB), never a mean
    }
    for column, values in expected.items():
        got = [cell(lb, g, "fym", column).value for g in ("camera", "human", OVERALL_CATEGORIES, OVERALL_SAMPLES)]
        assert got == pytest.approx(list(values)), column
    assert cell(lb, "camera", "fym", "tuning_s").n == 2 and cell(lb, OVERALL_SAMPLES, "fym", "tuning_s").n == 3
    # ditflow ran camera only: its mean of categories is over its own categories, and it has no human row
    assert cell(lb, OVERALL_CATEGORIES, "ditflow", "tuning_s").value == pytest.approx(50.0)
    assert cell(lb, OVERALL_CATEGORIES, "ditflow", "peak_memory_gib").value == pytest.approx(0.5)
    assert [r.method for r in lb.rows_in("human")] == ["fym"]
    assert [r.method for r in lb.rows_in("camera")] == ["ditflow", "fym"]
    for column in expected:  # every cost is lower-is-better: ditflow is the cheaper in each
        assert cell(lb, OVERALL_CATEGORIES, "ditflow", column).best, column
        assert cell(lb, OVERALL_CATEGORIES, "fym", column).rank == 2, column


def test_a_cost_missing_in_one_category_leaves_the_mean_of_categories_empty_and_says_where(tmp_path: Path) -> None:
    gens = [gen("fym", "a", "camera", 0, fit_seconds=10.0, generate_seconds=2.0),
            # a failed job still reports its fit; its generation time does not count (no video was made)
            gen("fym", "c", "human", 0, status="error", video=None, fit_seconds=30.0, generate_seconds=99.0,
                error="RuntimeError: boom")]
    lb = build([write_records(tmp_path / "r", gens)])
    human = cell(lb, "human", "fym", "generate_s")
    assert (human.value, human.n, human.note) == (None, 0, "not recorded")
    overall = cell(lb, OVERALL_CATEGORIES, "fym", "generate_s")
    assert (overall.value, overall.note, overall.rank) == (None, "not recorded in human", None)
    assert cell(lb, OVERALL_SAMPLES, "fym", "generate_s").value == pytest.approx(2.0)
    assert cell(lb, OVERALL_CATEGORIES, "fym", "tuning_s").value == pytest.approx(20.0)
    memory = cell(lb, OVERALL_SAMPLES, "fym", "peak_memory_gib")
    assert (memory.value, memory.note) == (None, "not recorded")


def test_tuning_time_is_the_first_measured_fit_and_cached_fits_are_named(tmp_path: Path) -> None:
    gens = [gen("fym", "e", "camera", 0, fit_seconds=None, fit_cached=True),
            gen("fym", "a", "camera", 0, fit_seconds=None, fit_cached=True),
            gen("fym", "b", "camera", 0, fit_seconds=None, fit_cached=True),  # cached, then measured: measured
            gen("fym", "b", "camera", 1, fit_seconds=40.0),
            gen("fym", "c", "camera", 0, fit_seconds=20.0),
            gen("fym", "c", "camera", 1, fit_seconds=999.0),  # not a second fit of the sample: ignored
            gen("fym", "d", "camera", 0, fit_seconds=None, fit_cached=False)]  # not measured, not cached: no note
    lb = build([write_records(tmp_path / "r", gens)])
    tuning = cell(lb, "camera", "fym", "tuning_s")
    assert (tuning.value, tuning.n) == (pytest.approx(30.0), 2)
    assert [n for n in lb.notes if "tuning time" in n] == [
        "fym: tuning time not measured for 2 sample(s) (a, e): the fitted state came from the cache."]
    assert any(n.startswith("note: ") and "run.json: missing" in n for n in lb.notes)  # the loader's warning


def test_the_footer_says_what_peak_memory_measures(tmp_path: Path) -> None:
    cuda, rss = "cuda_max_allocated", "cpu_rss_peak_delta"
    same = build([write_records(tmp_path / "same", [
        gen("fym", "a", "camera", 0, generate_peak_memory_mb=1024.0, memory_kind=cuda),
        gen("ditflow", "a", "camera", 0, fit_peak_memory_mb=512.0, memory_kind=cuda),
        gen("motiondirector", "a", "camera", 0, memory_kind=rss)])])  # a kind without a figure measures nothing
    assert [n for n in same.notes if "emory" in n] == [f"Peak memory measured as {cuda}."]
    mixed = build([write_records(tmp_path / "mixed", [
        gen("fym", "a", "camera", 0, generate_peak_memory_mb=1024.0, memory_kind=cuda),
        gen("fym", "a", "camera", 1, generate_peak_memory_mb=1024.0, memory_kind=rss),
        gen("ditflow", "a", "camera", 0, fit_peak_memory_mb=512.0, memory_kind=rss)])])
    assert [n for n in mixed.notes if "emory" in n] == [
        f"Peak memory is measured differently across rows (ditflow: {rss}; fym: {rss}, {cuda}): compare only "
        "equal kinds."]
    assert not [n for n in build([SMALL]).notes if "emory" in n]  # older records name no kind: no claim


def test_each_missing_score_and_failed_generation_is_reported_with_its_cause(tmp_path: Path) -> None:
    long_error = "RuntimeError: " + "x" * 150
    scores = [score("fym", "a", "camera", 0, value=0.5),
              score("fym", "a", "camera", 1, value=None, status="error", reason=None),
              score("fym", "a", "camera", 2, value=0.9, status="error", reason="ValueError: tracks lost"),  # not averaged
              score("fym", "b", "camera", 0, value=None, status="skipped", reason=None),
              score("fym", "b", "camera", 1, value=None, status="ok", reason=None),  # "ok" without a number
              score("fym", "c", "human", 0, value=None, status="skipped", reason="no reference tracks"),
              score("fym", "c", "human", 1, value=None, status="error", reason="ValueError: no tracks"),
              score("ditflow", "a", "camera", 0, value=0.4, metric="clip_text", variant="", backend="clip:b32")]
    gens = [gen(s.method, s.sample, s.category, s.prompt_index) for s in scores]  # the scored videos
    gens += [gen("fym", "d", "camera", 0, status="error", video=None, error=None),
            # the first line of the message, cut to 160 characters: these two differ only past that and count as one
            gen("fym", "d", "camera", 1, status="error", video=None, error=f"\n  {long_error}A\nTraceback: ..."),
            gen("fym", "e", "camera", 0, status="error", video=None, error=f"{long_error}B")]
    lb = build([write_records(tmp_path / "r", gens, scores)])
    assert {(s.row, s.column, s.status, s.reason, s.count) for s in lb.skips} == {
        ("fym", "motion_fidelity/dmt", "error", "no reason recorded", 1),
        ("fym", "motion_fidelity/dmt", "skipped", "no reason recorded", 1),
        ("fym", "motion_fidelity/dmt", "error", "value is NaN or missing", 1),
        ("fym", "motion_fidelity/dmt", "skipped", "no reference tracks", 1),
        ("fym", "motion_fidelity/dmt", "error", "ValueError: no tracks", 1),
        ("fym", "motion_fidelity/dmt", "error", "ValueError: tracks lost", 1)}
    assert {(f.row, f.reason, f.count) for f in lb.failures} == {
        ("fym", "no error message recorded", 1), ("fym", long_error[:160], 2)}
    assert len(long_error[:160]) == 160 < len(long_error)
    camera = cell(lb, "camera", "fym", "motion_fidelity/dmt")
    assert (camera.value, camera.skipped, camera.missing) == (pytest.approx(0.5), 4, None)
    human = cell(lb, "human", "fym", "motion_fidelity/dmt")
    assert (human.value, human.missing, human.note) == (None, "skipped or failed", "all 2 scores skipped or failed")
    never = cell(lb, OVERALL_SAMPLES, "fym", "clip_text")  # fym has no clip_text record at all
    assert (never.value, never.missing, never.note, never.skipped) == (None, None, "no scores", 0)


def test_runs_that_disagree_on_a_metrics_direction_are_refused(tmp_path: Path) -> None:
    up = write_records(tmp_path / "up", scores=[score("fym", "a", "camera", 0, value=0.5)])
    down = write_records(tmp_path / "down", scores=[score("ditflow", "a", "camera", 0, value=0.5,
                                                          higher_is_better=False)])
    with pytest.raises(ReportError, match=r"motion_fidelity/dmt: score records disagree on higher_is_better"):
        build([up, down])


def test_a_column_whose_scores_were_all_skipped_is_described_from_the_skipped_records(tmp_path: Path) -> None:
    skipped = dict(value=None, status="skipped", reason="no CLIP weights", metric="clip_text", variant="", backend="")
    run = write_records(tmp_path / "r", scores=[
        score("fym", "a", "camera", 0, version="2", convention="raw cosine, no clamp", **skipped),
        score("fym", "a", "camera", 1, version="", convention="a record that names no version", **skipped),
        score("fym", "a", "camera", 0, value=0.8, version="1", convention="unit steps")])
    lb = build([run])
    clip = lb.column("clip_text")
    assert (clip.backends, clip.versions, clip.conventions) == ((), ("2",), ("raw cosine, no clamp",))
    motion = lb.column("motion_fidelity/dmt")
    assert (motion.backends, motion.versions, motion.conventions) == (("tracker:lk:grid=8",), ("1",), ("unit steps",))
    assert cell(lb, "camera", "fym", "clip_text").note == "all 2 scores skipped"


def test_the_main_backend_is_the_most_used_and_each_version_keeps_its_most_common_wording(tmp_path: Path) -> None:
    """With --allow-mixed the column's main backend is the one most scores used (here not the first in
    sort order nor in the run order), and each version is described by its own most common text (the
    most used version lies between the others, so no version borrows a neighbour's text)."""
    older = write_records(tmp_path / "older", scores=[
        score("ditflow", "a", "camera", 0, value=0.5, backend="tracker:a", version="1", convention="B")])
    newer = write_records(tmp_path / "newer", scores=[
        score("motiondirector", "a", "camera", 0, value=0.4, backend="tracker:b", version="3", convention="C")])
    many = write_records(tmp_path / "many", scores=[
        score("fym", s, "camera", 0, value=0.6, backend="tracker:z", version="2",
              convention="A (older wording)" if s == "d" else "A") for s in "abcd"])
    lb = build([older, newer, many], allow_mixed=True)
    col = lb.column("motion_fidelity/dmt")
    assert col.backends == ("tracker:z", "tracker:a", "tracker:b")
    assert (col.versions, col.conventions) == (("2", "1", "3"), ("A", "B", "C"))
    assert cell(lb, OVERALL_SAMPLES, "ditflow", "motion_fidelity/dmt").mixed
    assert cell(lb, OVERALL_SAMPLES, "motiondirector", "motion_fidelity/dmt").mixed
    assert not cell(lb, OVERALL_SAMPLES, "fym", "motion_fidelity/dmt").mixed


def test_each_row_is_compared_with_its_groups_best_on_shared_samples(tmp_path: Path) -> None:
    """ditflow is 0.1 below fym on each of 4 camera samples and 0.3 below on the one human sample.
    Camera: of the 2^4 sign flips only the two of one sign reach |sum| 0.4, so p = 2/16. The mean of
    categories weighs the categories equally (delta (-0.1 - 0.3) / 2), the mean of samples the samples
    ((4 * -0.1 - 0.3) / 5); in both only the 2 one-sign patterns of 2^5 reach the observed value.
    motiondirector, 0.2 below on camera, is compared too (it comes after the best); tuneavideo shares
    no sample with fym and reference is an anchor: no comparison for either. The first column
    (clip_text) has no number at all, which must not stop the columns after it."""
    fym = {("a", "camera"): 0.9, ("b", "camera"): 0.8, ("c", "camera"): 0.7, ("d", "camera"): 0.6,
           ("h", "human"): 0.5}
    scores = [score("fym", s, c, 0, value=v) for (s, c), v in fym.items()]
    scores += [score("ditflow", s, c, 0, value=v - (0.1 if c == "camera" else 0.3)) for (s, c), v in fym.items()]
    scores += [score("motiondirector", s, c, 0, value=v - 0.2) for (s, c), v in fym.items() if c == "camera"]
    scores += [score("reference", s, c, 0, value=1.0) for (s, c) in fym]  # an anchor: shown, never compared
    scores += [score("tuneavideo", "e", "camera", 0, value=0.3)]
    scores += [score(m, "a", "camera", 0, value=None, status="skipped", reason="no CLIP weights", metric="clip_text",
                     variant="", backend="") for m in ("fym", "ditflow")]
    lb = build([write_records(tmp_path / "r", scores=scores)])
    assert [c.id for c in lb.quality_columns] == ["clip_text", "motion_fidelity/dmt"]
    assert [r.method for r in lb.rows_in("camera")] == ["ditflow", "fym", "motiondirector", "tuneavideo", "reference"]
    comps = {(c.group, c.column, c.row): c for c in lb.comparisons}
    assert set(comps) == {(g, "motion_fidelity/dmt", "ditflow")
                          for g in ("camera", "human", OVERALL_CATEGORIES, OVERALL_SAMPLES)} | {
        ("camera", "motion_fidelity/dmt", "motiondirector"), (OVERALL_SAMPLES, "motion_fidelity/dmt", "motiondirector")}
    assert comps[("camera", "motion_fidelity/dmt", "motiondirector")].delta == pytest.approx(-0.2)  # listed after fym
    human = comps[("human", "motion_fidelity/dmt", "ditflow")]
    assert (human.n, human.delta) == (1, pytest.approx(-0.3))  # the human sample alone
    camera = comps[("camera", "motion_fidelity/dmt", "ditflow")]
    assert (camera.best, camera.n, camera.exact) == ("fym", 4, True)
    assert camera.delta == pytest.approx(-0.1) and camera.p == pytest.approx(2 / 16)
    categories = comps[(OVERALL_CATEGORIES, "motion_fidelity/dmt", "ditflow")]
    assert (categories.n, categories.delta, categories.p) == (5, pytest.approx(-0.2), pytest.approx(2 / 32))
    samples = comps[(OVERALL_SAMPLES, "motion_fidelity/dmt", "ditflow")]
    assert (samples.n, samples.delta, samples.p) == (5, pytest.approx(-0.14), pytest.approx(2 / 32))
    assert cell(lb, "camera", "ditflow", "motion_fidelity/dmt").p_vs_best == pytest.approx(2 / 16)
    assert cell(lb, OVERALL_CATEGORIES, "ditflow", "motion_fidelity/dmt").p_vs_best == pytest.approx(2 / 32)
    assert cell(lb, "camera", "fym", "motion_fidelity/dmt").p_vs_best is None  # the best itself
    assert cell(lb, "camera", "tuneavideo", "motion_fidelity/dmt").p_vs_best is None
    assert cell(lb, "camera", "reference", "motion_fidelity/dmt").p_vs_best is None


def test_a_columns_mean_of_categories_is_over_the_categories_it_has_scores_in(tmp_path: Path) -> None:
    """clip_text was scored on camera only, clip_temporal on human only, motion fidelity on both (videos
    of both): each column's overall is over its own categories, not refused for lacking the other."""
    clip = dict(variant="", backend="clip:b32")
    scores = [score("fym", "a", "camera", 0, value=0.8), score("fym", "h", "human", 0, value=0.4),
              score("fym", "a", "camera", 0, value=0.3, metric="clip_text", **clip),
              score("fym", "h", "human", 0, value=0.9, metric="clip_temporal", **clip)]
    gens = [gen("fym", "a", "camera", 0), gen("fym", "h", "human", 0)]
    lb = build([write_records(tmp_path / "r", gens, scores)])
    assert cell(lb, OVERALL_CATEGORIES, "fym", "clip_text").value == pytest.approx(0.3)
    assert cell(lb, OVERALL_CATEGORIES, "fym", "clip_temporal").value == pytest.approx(0.9)
    assert cell(lb, OVERALL_CATEGORIES, "fym", "motion_fidelity/dmt").value == pytest.approx(0.6)
    assert cell(lb, "human", "fym", "clip_text").note == "no scores"


def test_the_default_bootstrap_seed_is_zero(tmp_path: Path) -> None:
    from motionbench.report.aggregate import build_leaderboard
    from motionbench.report.runs import load_runs

    values = np.random.default_rng(5).random(12)  # 12 distinct means: the interval moves with the seed
    stores = load_runs([write_records(tmp_path / "r", scores=[score("fym", f"s{i:02d}", "camera", 0, value=float(v))
                                                              for i, v in enumerate(values)])])
    interval = lambda lb: (cell(lb, OVERALL_SAMPLES, "fym", "motion_fidelity/dmt").lo,  # noqa: E731
                           cell(lb, OVERALL_SAMPLES, "fym", "motion_fidelity/dmt").hi)
    default = build_leaderboard(stores)
    assert default.seed == 0
    assert interval(default) == interval(build_leaderboard(stores, seed=0)) == interval(build_leaderboard(stores))
    assert interval(default) == interval(build(stores))  # the public entry point has the same default
    assert interval(default) != interval(build_leaderboard(stores, seed=1))


def test_select_task_keeps_only_the_records_and_runs_of_the_chosen_task(tmp_path: Path) -> None:
    from motionbench.report.aggregate import select_task
    from motionbench.report.runs import load_runs
    from motionbench.tasks import MOTION_TRANSFER, RECAPTURE

    transfer = write_records(tmp_path / "transfer", scores=[score("ditflow", "a", "camera", 0, value=0.4)])
    both = write_records(tmp_path / "both", scores=[
        score("fym", "a", "camera", 0, value=0.6),
        score("reference", "v", "static_scene", 0, value=30.0, metric="novel_view", variant="psnr", task=RECAPTURE,
              job="reference/v/0-k1-s0", path_index=0, path_key="k1")])
    stores = load_runs([transfer, both])
    with pytest.raises(ReportError, match=rf"these runs hold the tasks {MOTION_TRANSFER}, {RECAPTURE}: report one at "
                                          rf"a time \(--task {MOTION_TRANSFER}\)"):
        select_task(stores, None)
    chosen, task = select_task(stores, RECAPTURE)
    assert task == RECAPTURE and [s.name for s in chosen] == ["both"]  # the run without recapture records is left out
    assert [(r.method, r.task) for s in chosen for r in s.scores.values()] == [("reference", RECAPTURE)]
    chosen, task = select_task(stores, MOTION_TRANSFER)
    assert task == MOTION_TRANSFER and [s.name for s in chosen] == ["transfer", "both"]
    assert sorted((r.method, r.task) for s in chosen for r in s.scores.values()) == [
        ("ditflow", MOTION_TRANSFER), ("fym", MOTION_TRANSFER)]
    assert select_task(stores[:1], MOTION_TRANSFER) == ([stores[0]], MOTION_TRANSFER)  # only that task: as loaded


def test_a_method_in_two_runs_is_labelled_with_its_run(tmp_path: Path) -> None:
    first = write_records(tmp_path / "first", scores=[score("fym", "a", "camera", 0, value=0.5),
                                                      score("ditflow", "a", "camera", 0, value=0.4)])
    second = write_records(tmp_path / "second", scores=[score("fym", "a", "camera", 0, value=0.7)])
    lb = build([first, second])
    assert [r.label for r in lb.rows_in(OVERALL_SAMPLES)] == ["ditflow", "fym (first)", "fym (second)"]


def test_known_metrics_come_first_with_their_labels_and_others_follow_by_name(tmp_path: Path) -> None:
    extra = dict(variant="", backend="x")
    run = write_records(tmp_path / "r", scores=[
        score("fym", "a", "camera", 0, value=0.5, metric="zeta_score", **extra),
        score("fym", "a", "camera", 0, value=0.5, metric="aesthetic", **extra),
        score("fym", "a", "camera", 0, value=0.5),
        score("fym", "a", "camera", 0, value=0.5, metric="clip_text", **extra)])
    lb = build([run])
    assert [(c.id, c.label) for c in lb.quality_columns] == [
        ("clip_text", "Text sim."), ("motion_fidelity/dmt", "Motion fid. (dmt)"), ("aesthetic", "aesthetic"),
        ("zeta_score", "zeta_score")]


def test_run_details_show_the_device_and_only_the_main_versions(tmp_path: Path) -> None:
    run = tmp_path / "small"
    shutil.copytree(SMALL, run)
    info = json.loads((run / "run.json").read_text())
    info["versions"] = {"numpy": "2.1.0", "motionbench": "0.1.0", "diffusers": None, "torch": "2.14.1"}
    (run / "run.json").write_text(json.dumps(info))
    [details] = build([run]).runs
    assert (details.name, details.git, details.created) == ("small", "cbd1baf", "2026-11-20T10:00:00Z")
    assert (details.device, details.versions) == ("NVIDIA H100 80GB HBM3", "motionbench 0.1.0, torch 2.14.1")
    del info["device"]
    info["versions"] = {"numpy": "2.1.0"}
    (run / "run.json").write_text(json.dumps(info))
    [details] = build([run]).runs
    assert (details.device, details.versions) == (None, None)


def test_costs_that_print_the_same_share_their_rank(tmp_path: Path) -> None:
    """Costs print with one decimal (seconds, GiB): 100.04 and 100.01 s read 100.0 and tie; 100.2 does not."""
    gens = [gen("fym", "a", "camera", 0, fit_seconds=100.04, generate_seconds=10.04, generate_peak_memory_mb=1.04 * 1024),
            gen("ditflow", "a", "camera", 0, fit_seconds=100.01, generate_seconds=10.01,
                generate_peak_memory_mb=1.01 * 1024),
            gen("motiondirector", "a", "camera", 0, fit_seconds=100.2, generate_seconds=10.2,
                generate_peak_memory_mb=1.2 * 1024)]
    lb = build([write_records(tmp_path / "r", gens)])
    for column in ("tuning_s", "generate_s", "peak_memory_gib"):
        assert lb.column(column).decimals == 1
        ranks = [cell(lb, "camera", m, column).rank for m in ("fym", "ditflow", "motiondirector")]
        assert ranks == [1, 1, 3], column


def test_build_leaderboard_refuses_mixed_backends_and_ranks_no_published_row_by_default() -> None:
    from motionbench.report.aggregate import build_leaderboard
    from motionbench.report.reported import load_reported_file
    from motionbench.report.runs import load_runs

    with pytest.raises(MixedBackendsError):
        build_leaderboard(load_runs([SMALL, OTHER]))
    rows = load_reported_file(Path(__file__).parents[1] / "results" / "reported" / "fym_paper.yaml")
    lb = build_leaderboard(load_runs([SMALL]), reported=rows)
    assert lb.ranked_kinds == ("measured",)
    assert all(c.rank is None for r in lb.rows if r.kind == "reported" for c in r.cells.values())


def test_a_reported_row_names_its_method_or_else_its_own_name(tmp_path: Path) -> None:
    """A published row that says which MotionBench method it is keeps that method; one that does not
    is its own method (its name). Quality cells take the metric's value, cost cells the cost's."""
    from motionbench.report.aggregate import build_leaderboard
    from motionbench.report.model import ReportedSource
    from motionbench.report.reported import ReportedRow, ReportedValue
    from motionbench.report.runs import load_runs

    source = ReportedSource(title="A paper", citation="Someone 2025", url="https://example.org")
    paper = ReportedRow(name="FYM (paper)", method="fym", table="main", source=source,
                        values=(ReportedValue(metric="motion_fidelity", variant=None, cost=None, value=0.9),
                                ReportedValue(metric=None, variant=None, cost="tuning_s", value=700.0)))
    other = ReportedRow(name="Other", method=None, table="main", source=source,
                        values=(ReportedValue(metric=None, variant=None, cost="generate_s", value=3.0),))
    stores = load_runs([write_records(tmp_path / "r", scores=[score("fym", "a", "camera", 0, value=0.5)])])
    lb = build_leaderboard(stores, reported=[paper, other])
    rows = {r.label: r for r in lb.rows if r.kind == "reported"}
    assert {label: (r.method, r.run, r.group) for label, r in rows.items()} == {
        "FYM (paper)": ("fym", None, OVERALL_CATEGORIES), "Other": ("Other", None, OVERALL_CATEGORIES)}
    values = {label: {cid: c.value for cid, c in r.cells.items()} for label, r in rows.items()}
    assert values == {"FYM (paper)": {"motion_fidelity/dmt": 0.9, "tuning_s": 700.0, "generate_s": None,
                                      "peak_memory_gib": None},
                      "Other": {"motion_fidelity/dmt": None, "tuning_s": None, "generate_s": 3.0,
                                "peak_memory_gib": None}}
    assert rows["Other"].cells["tuning_s"].note == "not reported" and rows["Other"].cells["generate_s"].note is None
    assert lb.reported == [source]  # cited once


def test_build_leaderboards_options_are_keyword_only() -> None:
    """Only the runs are positional: an option passed by position (``by``, ``metrics``...) is refused
    rather than silently read as another one."""
    from motionbench.report.aggregate import build_leaderboard
    from motionbench.report.runs import load_runs

    stores = load_runs([SMALL])
    with pytest.raises(TypeError):
        build_leaderboard(stores, "overall")  # type: ignore[misc]
    assert build_leaderboard(stores, by="overall", n_boot=100).groups == [OVERALL_CATEGORIES, OVERALL_SAMPLES]


def test_only_ok_scores_are_averaged_whatever_number_a_skipped_or_failed_record_carries(tmp_path: Path) -> None:
    """Each status a score can have ("ok", "skipped", "error"), each carrying a number: only the ok one counts."""
    scores = [score("fym", "a", "camera", 0, value=0.5),
              score("fym", "b", "camera", 0, value=0.7, status="skipped", reason="no reference tracks"),
              score("fym", "c", "camera", 0, value=0.9, status="error", reason="ValueError: tracks lost")]
    lb = build([write_records(tmp_path / "r", scores=scores)])
    c = cell(lb, "camera", "fym", "motion_fidelity/dmt")
    assert (c.value, c.n, c.skipped) == (pytest.approx(0.5), 1, 2)
    assert {(s.status, s.reason) for s in lb.skips} == {("skipped", "no reference tracks"),
                                                         ("error", "ValueError: tracks lost")}


def test_a_column_is_described_by_its_own_records_only(tmp_path: Path) -> None:
    """A column whose scores were all skipped takes its version from its own records, not from a metric
    listed before it; and a version read from many lines (the same text, not the same string object)
    keeps its most common wording."""
    clip = dict(metric="clip_text", variant="", backend="clip:b32")
    scores = [score("fym", "a", "camera", 0, value=None, status="skipped", reason="no tracker", version="2.0",
                    convention="unit steps"),
              score("fym", "a", "camera", 0, value=0.3, version="9.1", convention="old cosine", **clip),
              score("fym", "a", "camera", 1, value=0.4, version="9.1", convention="raw cosine", **clip),
              score("fym", "b", "camera", 0, value=0.5, version="9.1", convention="raw cosine", **clip)]
    lb = build([write_records(tmp_path / "r", scores=scores)])
    motion, text = lb.column("motion_fidelity/dmt"), lb.column("clip_text")
    assert (motion.backends, motion.versions, motion.conventions) == ((), ("2.0",), ("unit steps",))
    assert (text.backends, text.versions, text.conventions) == (("clip:b32",), ("9.1",), ("raw cosine",))


def test_a_costs_mean_of_categories_is_over_the_categories_the_row_ran(tmp_path: Path) -> None:
    """fym ran human only and ditflow camera only: each overall is over the row's own category, whichever
    sorts first (camera before human, by name and in the manifest)."""
    gens = [gen("fym", "h", "human", 0, fit_seconds=30.0, generate_seconds=2.0),
            gen("ditflow", "a", "camera", 0, fit_seconds=10.0, generate_seconds=1.0)]
    lb = build([write_records(tmp_path / "r", gens)])
    for method, tuning, generate in (("fym", 30.0, 2.0), ("ditflow", 10.0, 1.0)):
        for column, want in (("tuning_s", tuning), ("generate_s", generate)):
            c = cell(lb, OVERALL_CATEGORIES, method, column)
            assert (c.value, c.note) == (pytest.approx(want), None), (method, column)


def test_by_read_from_the_command_line_groups_like_the_literal() -> None:
    """``by`` as parsed from a command line is a string equal to "category" but not the interpreter's
    literal object: it must still give a group per category, then both overalls."""
    from motionbench.report.aggregate import build_leaderboard
    from motionbench.report.runs import load_runs

    parsed = "".join(["cate", "gory"])
    assert parsed == "category" and id(parsed) != id("category")
    lb = build_leaderboard(load_runs([SMALL]), by=parsed, n_boot=100)  # type: ignore[arg-type]
    assert lb.groups == ["camera", "single_object", OVERALL_CATEGORIES, OVERALL_SAMPLES]


def test_per_sample_scores_are_of_quality_columns_only_even_when_a_metric_shares_a_cost_columns_name(
        tmp_path: Path) -> None:
    """A plugin metric may be named like a cost column ("tuning_s"): its per-sample scores are listed once,
    as a quality column's, and the cost column adds none."""
    run = write_records(tmp_path / "r", [gen("fym", "a", "camera", 0, fit_seconds=5.0)],
                        [score("fym", "a", "camera", 0, value=0.25, metric="tuning_s", variant="", backend="x")])
    lb = build([run])
    assert [(s.sample, s.column, s.value) for s in lb.samples] == [("a", "tuning_s", 0.25)]


def test_a_group_of_one_value_is_a_constant_and_draws_nothing_from_the_stream():
    """A category with one sample stays fixed in every replicate and uses no random draws, so the other
    categories' replicates (and a report's intervals) are the same wherever that category sorts."""
    import numpy as np

    values = [0.0, 1.0, 2.0, 7.0]
    alone = bootstrap_mean_of_groups([values], rng=np.random.default_rng(7), n_boot=500)
    first = bootstrap_mean_of_groups([[5.0], values], rng=np.random.default_rng(7), n_boot=500)
    last = bootstrap_mean_of_groups([values, [5.0]], rng=np.random.default_rng(7), n_boot=500)
    expected = tuple((5.0 + v) / 2 for v in alone)  # percentiles move with an affine map of the replicates
    assert first == pytest.approx(expected, abs=1e-12) and last == pytest.approx(expected, abs=1e-12)
