"""SIGTERM (how SLURM and Kubernetes cancel a job) stops `motionbench run` as cleanly as Ctrl-C does.

A real `python -m motionbench run` is stopped while an external command of it runs (in its fit or
its generate): the command's whole process group must die with it, the run's lock be free, no
temporary file or folder be left, the last line say how to resume, and the same command then
finish the rest.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import REPO, subprocess_env, write_manifest  # noqa: E402

from motionbench.run.store import RunStore  # noqa: E402

# Stands in for a repository's script: records its pid (and its child's), hangs while told to.
TOOL = """
import os, shutil, subprocess, sys, time
mode, src, dst, flags = sys.argv[1:5]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # something it started
open(os.path.join(flags, f"{mode}-{os.getpid()}-{child.pid}.pid"), "w").close()
while os.path.exists(os.path.join(flags, f"hang-{mode}")):
    time.sleep(0.05)
child.kill()
shutil.copyfile(src, dst if mode == "gen" else os.path.join(dst, "ref.mp4"))
"""


def _pids(flags: Path, mode: str) -> list[int]:
    return [int(p) for f in flags.glob(f"{mode}-*.pid") for p in f.stem.split("-")[1:]]


@pytest.mark.parametrize("phase, sig", [("fit", signal.SIGTERM), ("gen", signal.SIGTERM), ("gen", signal.SIGINT)],
                         ids=["sigterm-in-fit", "sigterm-in-generate", "sigint-in-generate"])
def test_a_stopped_run_kills_its_commands_releases_the_lock_removes_partials_and_the_rerun_finishes(
        tmp_path: Path, phase: str, sig: signal.Signals) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"}, prompts=("p",))
    tool, flags, scratch, out = tmp_path / "tool.py", tmp_path / "flags", tmp_path / "tmp", tmp_path / "run"
    tool.write_text(TOOL)
    flags.mkdir()
    scratch.mkdir()
    (flags / f"hang-{phase}").touch()
    prog = f"{shlex.quote(sys.executable)} {shlex.quote(str(tool))}"
    args = ["run", "--method", "external", "--manifest", str(manifest), "--out", str(out), "--device", "cpu",
            "--no-score", "--method-opt", f"fit_command={prog} fit {{reference}} {{state_dir}} {flags}",
            "--method-opt", f"command={prog} gen {{state_dir}}/ref.mp4 {{output}} {flags}"]
    env = subprocess_env() | {"TMPDIR": str(scratch)}
    # As from a terminal: SIGINT at its default even when the suite itself runs as a background job (a
    # non-interactive shell starts those with SIGINT ignored, which Python and its children respect).
    proc = subprocess.Popen([sys.executable, "-m", "motionbench", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not _pids(flags, phase):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    stuck = _pids(flags, phase)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), stderr
    name = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C (SIGINT)"
    assert f"stopped by {name}" in stderr and "Run the same command again to resume" in " ".join(stderr.split())
    assert "Traceback" not in stderr
    time.sleep(0.2)
    assert [p for p in stuck if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE] == []
    store = RunStore(out)
    store.lock()  # free: a second writer is not refused
    store.unlock()
    assert list(scratch.iterdir()) == []  # no motionbench-external-* or motionbench-fit-* folder left
    assert [p for p in out.rglob("*") if "partial" in p.name] == []
    assert all(r.status == "ok" for r in store.generation_records())  # nothing half-done was recorded as done

    (flags / f"hang-{phase}").unlink()
    rerun = subprocess.run([sys.executable, "-m", "motionbench", *args], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    latest = store.latest_generations()
    assert sorted(latest) == ["external/a/0-s0", "external/b/0-s0"] and all(r.status == "ok" for r in latest.values())
    assert list(scratch.iterdir()) == []
