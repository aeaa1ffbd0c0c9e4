"""Rendered leaderboards: golden Markdown and LaTeX, LaTeX that compiles, CSV/JSON that read back,
and the `motionbench report` command.

Regenerate the golden files deliberately, after checking the difference is intended, with
``MOTIONBENCH_REGEN_GOLDEN=1 pytest tests/test_report_formats.py``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motionbench.report import build
from motionbench.report.render import latex_escape, to_csv, to_json, to_latex, to_markdown

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SMALL = Path("tests/fixtures/store_small/small")  # relative: the golden footers name the run's path
OTHER = Path("tests/fixtures/store_small/other_clip")
REGEN = os.environ.get("MOTIONBENCH_REGEN_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with MOTIONBENCH_REGEN_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if the change is intended, regenerate with MOTIONBENCH_REGEN_GOLDEN=1")


def test_markdown_golden_by_category_with_reported() -> None:
    text = to_markdown(build([SMALL], with_reported=True))
    check_golden("small_by_category_reported.md", text)
    # Spot checks that hold whatever the golden file says.
    assert "| ditflow | 2 | **0.345** [0.320, 0.370] | 0.650 (n=1) ≈ |" in text
    assert "| FYM ‡ | — | 0.380 | 0.971 | 727.0 | — | — |" in text


def test_latex_golden_overall() -> None:
    check_golden("small_overall.tex", to_latex(build([SMALL], by="overall")))


def test_latex_golden_mixed_and_reported() -> None:
    check_golden("mixed_overall_reported.tex",
                 to_latex(build([SMALL, OTHER], by="overall", allow_mixed=True, with_reported=True)))


def test_latex_escapes_specials() -> None:
    assert latex_escape("motion_fidelity/dmt 50% & #1 {x} ~^\\") == (
        r"motion\_fidelity/dmt 50\% \& \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}")
    assert latex_escape("a:b", breakable=True) == r"a:\allowbreak{}b"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (apt-get install texlive-latex-recommended)")
def test_latex_compiles_in_a_paper(tmp_path: Path) -> None:
    table = to_latex(build([SMALL, OTHER], by="category", allow_mixed=True, with_reported=True))
    doc = ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n"
           "\\begin{document}\n" + table + "\\end{document}\n")
    (tmp_path / "paper.tex").write_text(doc, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "paper.pdf").stat().st_size > 1000
    assert "Undefined control sequence" not in proc.stdout
    assert "Overfull \\hbox" not in proc.stdout, "the table is wider than the page"


def test_csv_reads_back_with_pandas() -> None:
    import pandas as pd

    text = to_csv(build([SMALL], by="overall"))
    df = pd.read_csv(io.StringIO(text), comment="#")
    row = df[(df.group == "overall (mean of categories)") & (df.method == "ditflow")].iloc[0]
    assert row["motion_fidelity/dmt"] == pytest.approx(0.72)
    assert row["motion_fidelity/dmt.n"] == 3 and row["motion_fidelity/dmt.skipped"] == 2
    assert row["clip_text.best"] == 1
    assert "# Skipped or failed scores (not averaged, not counted as 0): 2." in text


def test_json_is_nan_free_and_complete() -> None:
    data = json.loads(to_json(build([SMALL], by="overall", with_reported=True)))
    assert data["bootstrap"]["n_boot"] == 2000 and data["bootstrap"]["unit"] == "sample"
    cols = {c["id"]: c for c in data["columns"]}
    assert cols["motion_fidelity/dmt"]["backends"] == ["tracker:cotracker3_offline:scaled_offline.pth:sha256=5c6f2a91:grid=55"]
    fym = next(r for r in data["rows"] if r["method"] == "fym" and r["kind"] == "measured")
    assert fym["cells"]["motion_fidelity/dmt"]["value"] == pytest.approx(0.8575)
    paper = next(r for r in data["rows"] if r["kind"] == "reported" and r["label"] == "FYM")
    assert paper["cells"]["generate_s"]["value"] is None and paper["cells"]["clip_text"]["rank"] is None
    assert data["skipped"] == [{"row": "ditflow", "column": "motion_fidelity/dmt", "status": "skipped",
                                "reason": "no reference tracks: the tracker found no moving points in cam-pan's box; "
                                          "widen `box` in the manifest", "count": 2}]
    assert data["reported_sources"][0]["citation"] == "arXiv:2506.05207"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "240"}
    return subprocess.run([sys.executable, "-m", "motionbench", "report", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_markdown_matches_the_library(tmp_path: Path) -> None:
    out = tmp_path / "lb.md"
    proc = run_cli(str(SMALL), "--format", "md", "--with-reported", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == (GOLDEN / "small_by_category_reported.md").read_text(encoding="utf-8")
    assert f"wrote {out}" in proc.stderr


def test_cli_terminal_table_shows_cells_and_footer() -> None:
    proc = run_cli(str(SMALL), "--by", "overall", "--metric", "motion_fidelity", "--seed", "0")
    assert proc.returncode == 0, proc.stderr
    assert "overall (mean of categories)" in proc.stdout
    # Compact terminal cells: the mean, then the interval on the next line as lo–hi.
    lines = proc.stdout.splitlines()
    fym = next(i for i, line in enumerate(lines) if line.split()[:1] == ["fym"])
    assert "0.857" in lines[fym] and ".770–.945" in lines[fym + 1]
    ditflow = next(line for line in lines if line.split()[:1] == ["ditflow"])
    assert ditflow.split()[1] == "3"  # n of the row: the samples behind its only metric
    assert "0.720" in ditflow
    assert "Text sim." not in proc.stdout  # filtered out by --metric
    assert "2 skipped in motion_fidelity/dmt (ditflow 2): no reference tracks" in proc.stdout


def test_cli_refuses_mixed_backends_with_a_clear_message() -> None:
    proc = run_cli(str(SMALL), str(OTHER))
    assert proc.returncode == 2
    assert "clip_text: rows were scored with different backends" in proc.stderr
    assert "Traceback" not in proc.stderr
    ok = run_cli(str(SMALL), str(OTHER), "--allow-mixed", "--format", "md")
    assert ok.returncode == 0 and "† scored with a backend other than" in ok.stdout
    assert "0.245 [0.230, 0.260] †" in ok.stdout  # motiondirector's camera clip_text, marked


def test_cli_unknown_format_and_run() -> None:
    proc = run_cli(str(SMALL), "--format", "xlsx")
    assert proc.returncode == 2 and "--format 'xlsx' is not known" in proc.stderr
    proc = run_cli("no-such-run")
    assert proc.returncode == 2 and "run 'no-such-run' not found" in proc.stderr


@pytest.mark.parametrize("width", [60, 80, 200])
def test_the_terminal_table_splits_its_columns_to_fit_rather_than_cutting_numbers(width: int) -> None:
    """Each part fits the screen, no cell is cut short (no ellipsis), and every column and every full
    interval is printed in one of the parts."""
    from rich.console import Console

    from motionbench.report.terminal import _all_skipped, _terminal_header, print_table

    lb = build([SMALL], by="overall")
    buf = io.StringIO()
    print_table(lb, Console(file=buf, width=width, force_terminal=True, color_system=None))
    text = buf.getvalue()
    assert "…" not in text and max(len(line.rstrip()) for line in text.splitlines()) <= width
    assert ("(1/" in text) == (width == 60)  # 60 columns split this leaderboard; 80 and 200 hold it whole
    assert ".770–.945" in text  # fym's motion interval, whole (see test_cli_terminal_table_shows_cells_and_footer)
    shown = [c for c in lb.columns if not _all_skipped(lb, c)]
    assert shown and all(_terminal_header(c).split("\n")[0] in text for c in shown)
