"""cosmic-ray's test command: run only the tests that execute the lines a mutant changed.

cosmic-ray has just written one mutant of a module into the scratch copy. This script diffs that
file against the pristine copy ``mutate.py`` saved, looks the changed lines up in the coverage map
(line -> the test node ids that executed it, built by ``covermap.py`` before the campaign), and asks
the fork server (``forkserver.py``, which holds torch and the other heavy imports already loaded)
to run those node ids in a fresh forked process. Exit status: that of pytest (0: the mutant
survived); 0 with ``MUTATE: not covered`` printed when no test executes the changed lines (the
summary counts these apart from survivors); 1 with ``MUTATE: timeout`` printed when the tests ran
past their time (the summary counts these as timeouts, not kills).

Standard library only, and started with ``python -I -S``: it runs once per mutant, so its own
start-up must cost next to nothing.

Usage (written into the cosmic-ray config by ``mutate.py``)::

    python -I -S mutation/run_mutant.py STATE_DIR MODULE
"""

from __future__ import annotations

import ast
import difflib
import json
import socket
import sys
from pathlib import Path


def changed_lines(pristine: list[str], mutant: list[str]) -> set[int]:
    """1-based line numbers of ``pristine`` that the mutant replaced or deleted (or, for a pure
    insertion, the line before it)."""
    lines: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, pristine, mutant, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lines.update(range(i1 + 1, i2 + 1) if i2 > i1 else [max(i1, 1)])
    return lines


def enclosing_definition_lines(source: str, line: int) -> range | None:
    """The lines of the innermost function or class whose header (decorators, signature) holds ``line``.

    A header runs once, at import, before any test; a mutant there (a default argument, a decorator)
    is exercised by the tests that run the definition's body.
    """
    best: range | None = None
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if first <= line < node.body[0].lineno and (best is None or first >= best.start):
                best = range(first, (node.end_lineno or node.lineno) + 1)
    return best


def tests_for(lines: set[int], source: str, cover: dict[str, list[str]], imported: set[int]) -> set[str]:
    """The node ids to run for a mutant changing ``lines``; empty when nothing executes them.

    Lines run by tests map to those tests. Lines run only at import (module constants, dataclass
    fields, definition headers) map to the tests of the enclosing definition's body, or to every
    test that touched the module when there is none.
    """
    ids: set[str] = set()
    for line in lines:
        ids.update(cover.get(str(line), ()))
        if str(line) in cover or line not in imported:
            continue
        body = enclosing_definition_lines(source, line)
        covered = [t for n in (body or ()) for t in cover.get(str(n), ())]
        ids.update(covered if covered else (t for ts in cover.values() for t in ts))
    return ids


def main(argv: list[str]) -> int:
    state, module = Path(argv[0]), argv[1]
    info = json.loads((state / "covermap.json").read_text())
    pristine = (state / "pristine.py").read_text()
    mutant = Path(module).read_text()
    lines = changed_lines(pristine.splitlines(), mutant.splitlines())
    ids = tests_for(lines, pristine, info["lines"], set(info["imported"]))
    if not ids:
        print(f"MUTATE: not covered (lines {sorted(lines)})")
        return 0
    ordered = sorted(ids, key=lambda t: info["durations"].get(t, 0.0))  # quick tests first: -x stops early
    budget = info["timeout_factor"] * sum(info["durations"].get(t, 1.0) for t in ids) + info["timeout_floor"]
    budget = min(budget, info.get("timeout_cap", budget))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(state / "server.sock"))
        conn.sendall(json.dumps({"ids": ordered, "timeout": budget}).encode() + b"\n")
        reply = json.loads(conn.makefile("rb").readline())
    sys.stdout.write(reply["output"])
    print(f"MUTATE: ran {len(ordered)} tests for lines {sorted(lines)} in {reply['seconds']:.1f} s")
    if reply["status"] == "timeout":
        print(f"MUTATE: timeout after {budget:.0f} s")
        return 1
    return int(reply["status"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
