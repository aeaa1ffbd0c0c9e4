"""The Ray executor against a real local Ray cluster: same records as the local executor."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from runner_support import PLUGIN_DIR, REPO, comparable, use_plugin, write_manifest  # noqa: E402

from motionbench.run.execute import MethodChoice  # noqa: E402
from motionbench.run.runner import RunConfig, execute_run  # noqa: E402
from motionbench.run.store import RunStore  # noqa: E402
from motionbench.video import read_video  # noqa: E402

ray = pytest.importorskip("ray")
use_plugin()


@pytest.fixture
def ray_cluster():
    # Workers are started by this cluster and inherit its environment: let them import this checkout
    # and the test plugin (on a real cluster both are installed on every node).
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(PLUGIN_DIR)] + ([old] if old else []))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = old


def test_ray_and_local_give_the_same_records(tmp_path: Path, ray_cluster) -> None:
    manifest = write_manifest(tmp_path / "data", {"a": "ok", "b": "ok", "broken": "corrupt"})
    methods = (MethodChoice("reference"), MethodChoice("shuffle"), MethodChoice("raises"),
               MethodChoice("fitcount", ("brightness=5",)))

    def run(executor: str, out: str, seeds: tuple[int, ...] = (0, 1)):
        return execute_run(RunConfig(methods=methods, out=tmp_path / out, manifest=manifest, device="cpu",
                                     seeds=seeds, executor=executor))

    local, remote = run("local", "local"), run("ray", "ray")
    assert remote.planned == local.planned == 48
    assert (remote.ok, len(remote.failed)) == (local.ok, len(local.failed)) == (28, 20)  # broken: 4 methods x 4 jobs; raises: prompt 1 of a and b
    local_recs = RunStore(tmp_path / "local").generation_records()
    ray_recs = RunStore(tmp_path / "ray").generation_records()
    assert len(ray_recs) == len(local_recs) == 48  # one record per job, written by the driver
    assert comparable(ray_recs) == comparable(local_recs)
    for rec in local_recs:
        if rec.status == "ok":  # same frames; x264 here is not bit-exact between encodes (~1.3 seen)
            a = read_video(tmp_path / "local" / rec.video).frames.astype(np.int16)
            b = read_video(tmp_path / "ray" / rec.video).frames.astype(np.int16)
            assert a.shape == b.shape and np.abs(a - b).mean() < 3.0
    # The fitted states were cached by the workers in the run's store, and reused on a rerun.
    assert len(list((tmp_path / "ray" / "cache" / "states" / "fitcount").iterdir())) == 2
    again = run("ray", "ray", seeds=(0, 1, 2))  # failed jobs retried, a new seed added
    assert (again.already_done, again.ok, len(again.failed)) == (28, 14, 30)
    new = [r for r in RunStore(tmp_path / "ray").latest_generations().values() if r.seed == 2 and r.status == "ok"]
    assert len(new) == 14 and all(r.fit_cached for r in new if r.method == "fitcount")
    assert sum(r.method == "fitcount" for r in new) == 4


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
