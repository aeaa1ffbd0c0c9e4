"""The Ray executor against a real local Ray cluster: same records as the local executor."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import REPO, comparable, use_plugin, write_manifest  # noqa: E402

from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import read_video  # noqa: E402

use_plugin()
# Ray is only ever imported by the child processes these tests start (see fixtures/ray_driver.py).
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="needs Ray: pip install -e '.[dev]' (make test installs it)")
DRIVER = Path(__file__).parent / "fixtures" / "ray_driver.py"


def ray_runs(*runs: dict) -> dict:
    """The runs, in order, by a driver process of their own on one local Ray cluster (fixtures/ray_driver.py:
    this process never imports Ray); the driver's pid and each run's counts."""
    import json
    import subprocess

    from runner_support import subprocess_env

    spec = [{"methods": [[m.name, list(m.overrides)] for m in run["methods"]], "out": str(run["out"]),
             "manifest": str(run["manifest"]), "seeds": list(run.get("seeds", (0,))),
             "task": run.get("task", "motion_transfer")} for run in runs]
    proc = subprocess.run([sys.executable, str(DRIVER), json.dumps(spec)], cwd=REPO, env=subprocess_env(),
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_ray_and_local_give_the_same_records(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok", "broken": "corrupt"})
    methods = (MethodChoice("reference"), MethodChoice("shuffle"), MethodChoice("raises"),
               MethodChoice("fitcount", ("brightness=5",)))

    local = execute_run(RunConfig(methods=methods, out=tmp_path / "local", manifest=manifest, device="cpu",
                                  seeds=(0, 1), executor="local"))
    # The second run on the cluster: failed jobs retried, a new seed added.
    remote, again = ray_runs({"methods": methods, "out": tmp_path / "ray", "manifest": manifest, "seeds": (0, 1)},
                             {"methods": methods, "out": tmp_path / "ray", "manifest": manifest, "seeds": (0, 1, 2)}
                             )["runs"]
    assert remote["planned"] == local.planned == 48
    assert (remote["ok"], remote["failed"]) == (local.ok, len(local.failed)) == (28, 20)  # broken: 4 methods x 4 jobs; raises: prompt 1 of a and b
    local_recs = RunStore(tmp_path / "local").generation_records()
    ray_recs = [r for r in RunStore(tmp_path / "ray").generation_records() if r.seed != 2]
    assert len(ray_recs) == len(local_recs) + 20  # one record per job, written by the driver; the rerun's retries
    first_ray = {}
    for rec in ray_recs:
        first_ray.setdefault(rec.job, rec)  # each job's first record: the first run's
    assert comparable(list(first_ray.values())) == comparable(local_recs)
    for rec in local_recs:
        if rec.status == "ok":  # same frames, up to x264's encode-to-encode differences (mean ~1 seen)
            a = read_video(tmp_path / "local" / rec.video).frames.astype(np.int16)
            b = read_video(tmp_path / "ray" / rec.video).frames.astype(np.int16)
            assert a.shape == b.shape and np.abs(a - b).mean() < 3.0
    # The fitted states were cached by the workers in the run's store, and reused on the rerun.
    assert len(list((tmp_path / "ray" / "cache" / "states" / "fitcount").iterdir())) == 2
    assert (again["already_done"], again["ok"], again["failed"]) == (28, 14, 30)
    new = [r for r in RunStore(tmp_path / "ray").latest_generations().values() if r.seed == 2 and r.status == "ok"]
    assert len(new) == 14 and all(r.fit_cached for r in new if r.method == "fitcount")
    assert sum(r.method == "fitcount" for r in new) == 4


def test_jobs_run_in_ray_worker_processes_not_in_the_driver(tmp_path: Path) -> None:
    """`--executor ray` must send the work to the cluster: the fits and generations are logged (with
    their pid) by the processes that did them, and none of them is the driver."""
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok"})
    log = tmp_path / "work.log"
    methods = (MethodChoice("slowref", (f"log={log}",)), MethodChoice("fitcount", (f"log={log}",)))
    result = ray_runs({"methods": methods, "out": tmp_path / "run", "manifest": manifest})
    assert (result["runs"][0]["ok"], result["runs"][0]["failed"]) == (8, 0)
    lines = log.read_text().splitlines()
    assert sum(line.startswith("generate ") for line in lines) == 4 and sum(line.startswith("fit ") for line in lines) == 2
    pids = {int(line.rsplit("pid=", 1)[1]) for line in lines}
    assert result["pid"] not in pids and os.getpid() not in pids
    # Each line was written by a Ray worker: the command line it had then reads ray::<task>.
    assert all(" proc=ray::" in line for line in lines), lines[:4]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_runs_on_a_cluster_given_by_address(tmp_path: Path) -> None:
    """`motionbench run --executor ray --ray-address` against a head node started with `ray start`."""
    import shutil
    import signal
    import subprocess
    import tempfile

    from runner_support import subprocess_env

    manifest = write_manifest(tmp_path / "data", {"a": "ok", "broken": "corrupt"})
    port = _free_port()
    env = subprocess_env()
    env["RAY_AUTH_MODE"] = "disabled"  # a throwaway head on 127.0.0.1; the CLI child connects without a token
    # Ray's socket paths must stay short (a unix socket path is at most 107 bytes): not under tmp_path.
    temp_dir = tempfile.mkdtemp(prefix="mbray-", dir="/tmp")
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block",
                             "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # The driver waits for the head to come up; workers inherit the head's PYTHONPATH (plugin included).
        result = subprocess.run(
            [sys.executable, "-m", "motionbench", "run", "--method", "reference", "--method", "raises",
             "--manifest", str(manifest), "--out", str(tmp_path / "run"), "--device", "cpu", "--no-score",
             "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
        assert result.returncode == 1, result.stderr
        latest = RunStore(tmp_path / "run").latest_generations()
        assert {j for j, r in latest.items() if r.status == "ok"} == {"reference/a/0-s0", "reference/a/1-s0", "raises/a/0-s0"}
        assert latest["raises/a/1-s0"].error.startswith("RuntimeError: deliberate failure")
        assert latest["reference/broken/0-s0"].error.startswith("VideoError: ")
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head and every process it started (one process group)
        try:
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_recapture_run_on_ray_gives_the_local_records_and_frames(tmp_path: Path) -> None:
    from recapture_support import write_scene_manifest

    manifest = write_scene_manifest(tmp_path / "data")
    methods = (MethodChoice("warp-only"), MethodChoice("reference"))
    local = execute_run(RunConfig(methods=methods, out=tmp_path / "local", manifest=manifest, device="cpu",
                                  executor="local", task="recapture"))
    [remote] = ray_runs({"methods": methods, "out": tmp_path / "ray", "manifest": manifest, "task": "recapture"})["runs"]
    assert (remote["planned"], remote["ok"], remote["failed"]) == (local.planned, local.ok, len(local.failed)) == (8, 8, 0)
    local_recs = RunStore(tmp_path / "local").generation_records()
    assert comparable(RunStore(tmp_path / "ray").generation_records()) == comparable(local_recs)
    for rec in local_recs:  # recapture videos are lossless: the workers' frames are the local ones exactly
        assert rec.task == "recapture" and rec.path_key is not None
        assert np.array_equal(read_video(tmp_path / "local" / rec.video).frames,
                              read_video(tmp_path / "ray" / rec.video).frames)
