"""The fork server: pytest runs for mutants without paying torch's import each time.

Importing torch, diffusers and the rest costs 3-12 s here, more than most mutants' tests take. This
server imports, once, the third-party modules the guard tests imported in the coverage run
(``covermap.py`` lists them; nothing of the checkout itself, so every mutant's module is read from
disk afresh), then listens on ``STATE_DIR/server.sock``. For each request from ``run_mutant.py`` it
forks; the child starts a new session, sends its output to a file and runs ``pytest.main`` on the
requested node ids, in a temporary folder of its own. The server kills the child's whole process
group when it runs past the request's time and answers with pytest's exit status (or ``timeout``) and
the output.

Usage (started and stopped by ``mutate.py``, with the scratch copy's environment)::

    python mutation/forkserver.py STATE_DIR
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path


def preload(names: list[str]) -> int:
    """Import what can be imported of ``names``; a module that fails here is just imported later."""
    loaded = 0
    for name in names:
        try:
            importlib.import_module(name)
            loaded += 1
        except BaseException:  # noqa: BLE001 - some private modules refuse a direct import
            pass
    return loaded


def run_child(ids: list[str], scratch: Path) -> None:
    """In the forked child: pytest on ``ids``, output to ``scratch/output``, then ``os._exit``."""
    os.setsid()
    out = os.open(scratch / "output", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.dont_write_bytecode = True  # a mutant's bytecode must never be cached as the module's
    tempfile.tempdir = str(scratch)
    os.environ["TMPDIR"] = str(scratch)
    code = 3
    try:
        import pytest

        code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "--basetemp", str(scratch / "pytest"), *ids]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(state: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = state / "server.sock"
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    listener.listen(1)
    (state / "server.ready").write_text(str(os.getpid()))
    while True:
        conn, _ = listener.accept()
        with conn:
            request = json.loads(conn.makefile("rb").readline())
            scratch = Path(tempfile.mkdtemp(prefix="mutant-", dir=state))
            start = time.monotonic()
            pid = os.fork()
            if pid == 0:
                listener.close()
                run_child(request["ids"], scratch)
            status: int | str = "timeout"
            while time.monotonic() - start < request["timeout"]:
                done, code = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(code)
                    break
                time.sleep(0.02)
            else:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            try:  # what the tests left running in the child's session goes with it
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            output = (scratch / "output").read_text(errors="replace")[-20000:]
            shutil.rmtree(scratch, ignore_errors=True)
            reply = {"status": status, "output": output, "seconds": time.monotonic() - start}
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass  # cosmic-ray gave up on this mutant (its own timeout); on to the next


def main(argv: list[str]) -> int:
    state = Path(argv[0])
    info = json.loads((state / "covermap.json").read_text())
    sys.dont_write_bytecode = True
    loaded = preload(info["preload"])
    roots = [Path.cwd().resolve(), Path(os.environ.get("MUTATE_REPO", Path.cwd())).resolve()]
    for name, module in list(sys.modules.items()):  # a preloaded module that imported the checkout
        file = getattr(module, "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(root) for root in roots):
            del sys.modules[name]
    print(f"fork server: {loaded} of {len(info['preload'])} modules preloaded", file=sys.stderr, flush=True)
    serve(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
