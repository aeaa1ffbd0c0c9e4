"""The coverage map: which guard tests execute which line of the module under mutation.

Run once per module before its campaign, in the scratch copy: the guard tests run under coverage.py
with one dynamic context per test (switched by a small pytest plug-in, so the context is the test's
node id and includes its fixtures' set-up). It writes ``STATE_DIR/covermap.json``:

- ``lines``: line -> node ids of the tests that executed it;
- ``imported``: lines executed outside any test (at import or collection);
- ``durations``: node id -> seconds the test took here (for the per-mutant time budget);
- ``preload``: the third-party modules the tests imported (the fork server imports them once);
- ``failed``: tests that fail on the pristine code (a campaign over them would count false kills).

Lines executed only in child processes a test starts are not seen; their mutants count as not covered.

Usage (run by ``mutate.py``)::

    python mutation/covermap.py STATE_DIR MODULE TIMEOUT_FACTOR TIMEOUT_FLOOR TEST_FILE...
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import coverage
import pytest


class PerTestContext:
    """pytest plug-in: a coverage context per test, and each test's duration and outcome."""

    def __init__(self, cov: coverage.Coverage) -> None:
        self.cov = cov
        self.durations: dict[str, float] = {}
        self.failed: set[str] = set()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):  # noqa: ANN001 - pytest's hook signature
        self.cov.switch_context(item.nodeid)
        yield
        self.cov.switch_context("")

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.failed:
            self.failed.add(report.nodeid)


def third_party_modules(roots: list[Path]) -> list[str]:
    """Names of loaded modules whose files lie outside ``roots`` (the checkout and its scratch copy)."""
    names = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name == "__main__" or name.startswith(("motionbench", "tests", "conftest", "test_")):
            continue
        real = Path(file).resolve()
        if not any(real.is_relative_to(root) for root in roots):
            names.append(name)
    return sorted(names)


def main(argv: list[str]) -> int:
    state, module, factor, floor, tests = Path(argv[0]), argv[1], float(argv[2]), float(argv[3]), argv[4:]
    target = Path(module).resolve()
    cov = coverage.Coverage(data_file=None, include=[str(Path.cwd() / "*")], branch=False)
    plugin = PerTestContext(cov)
    cov.start()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[plugin])
    cov.stop()
    data = cov.get_data()
    lines: dict[str, list[str]] = {}
    imported: set[int] = set()
    for measured in data.measured_files():
        if Path(measured).resolve() != target:  # also through the import-name links
            continue
        for line, contexts in data.contexts_by_lineno(measured).items():
            tests_here = [c for c in contexts if c]
            if tests_here:
                lines.setdefault(str(line), [])
                lines[str(line)] = sorted(set(lines[str(line)]) | set(tests_here))
            if "" in contexts:
                imported.add(line)
    repo = Path(os.environ.get("MUTATE_REPO", Path.cwd())).resolve()
    info = {"module": module, "lines": lines, "imported": sorted(imported), "durations": plugin.durations,
            "preload": third_party_modules([Path.cwd().resolve(), repo]), "failed": sorted(plugin.failed),
            "pytest_status": int(code), "timeout_factor": factor, "timeout_floor": floor}
    (state / "covermap.json").write_text(json.dumps(info))
    print(f"coverage map of {module}: {len(lines)} lines run by {len(plugin.durations)} tests "
          f"({sum(plugin.durations.values()):.0f} s), {len(plugin.failed)} failing", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
