"""The README's "Adding your own method" and "Adding your own metric" examples, run as written.

The Python blocks become the files their first line names (``# my_pkg/adapter.py``), the TOML
blocks become the package's entry points, and the commands the README gives are run in a fresh
process that sees the package only through its dist-info, as an installed third-party package.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import REPO, subprocess_env, write_manifest  # noqa: E402

from motionbench.run.store import RunStore  # noqa: E402

README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    return README[start:README.index("\n## ", start + 1)]


def install_examples(folder: Path) -> Path:
    """Write the README's example package into ``folder`` with a dist-info holding its entry points."""
    groups: list[str] = []
    for title in ("Adding your own method", "Adding your own metric"):
        text = section(title)
        for code in re.findall(r"```python\n(.*?)```", text, re.S):
            target = folder / code.splitlines()[0].removeprefix("# ").strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            (target.parent / "__init__.py").touch()
            target.write_text(code)
        for toml in re.findall(r"```toml\n(.*?)```", text, re.S):
            lines = [line for line in toml.splitlines() if line and not line.startswith("#")]
            header = re.fullmatch(r'\[project\.entry-points\."([\w.]+)"\]', lines[0])
            assert header, lines[0]
            groups.append(f"[{header.group(1)}]\n" + "\n".join(line.replace('"', "") for line in lines[1:]) + "\n")
    info = folder / "my_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("\n".join(groups))
    return folder


def motionbench(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = subprocess_env()
    env["PYTHONPATH"] = f"{folder}:{env['PYTHONPATH']}"
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "motionbench", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_readme_method_and_metric_run_as_written(tmp_path: Path) -> None:
    package = install_examples(tmp_path / "site")
    manifest = write_manifest(tmp_path / "data", {"a": "ok"})
    described = motionbench(package, "metrics", "flicker")
    assert described.returncode == 0, described.stderr
    assert "Mean change of frame brightness" in described.stdout and "needs: generated_frames" in described.stdout
    assert "strength: float = 0.5" in motionbench(package, "methods", "mine").stdout

    # The README's commands: `motionbench run --method mine --method-opt strength=0.8`, then
    # `motionbench score RUN --metric flicker`, and `motionbench run --method mine --metric flicker`.
    where = ["--manifest", str(manifest), "--device", "cpu"]
    run = tmp_path / "run"
    for method in (["--method", "mine", "--method-opt", "strength=0.8"], ["--method", "static"]):
        done = motionbench(package, "run", *method, "--no-score", *where, "--out", str(run))
        assert done.returncode == 0, done.stderr
    scored = motionbench(package, "score", str(run), "--metric", "flicker", "--device", "cpu")
    assert scored.returncode == 0 and "scored 4 video(s) (4 values ok" in " ".join(scored.stdout.split()), scored.stderr
    store = RunStore(run)
    assert store.latest_generations()["mine/a/0-s0"].method_config == {"strength": 0.8}
    flicker = {r.method: r for r in store.score_records()}
    assert flicker["mine"].higher_is_better is False and (flicker["mine"].backend, flicker["mine"].version) == ("pixels", "1")
    # A held frame does not flicker; noise drawn afresh for every frame does.
    assert flicker["static"].value < 0.1 < flicker["mine"].value
    again = motionbench(package, "run", "--method", "mine", "--metric", "flicker", *where, "--out", str(tmp_path / "run2"))
    assert again.returncode == 0 and "scored 2 video(s) (2 values ok" in " ".join(again.stdout.split()), again.stderr
