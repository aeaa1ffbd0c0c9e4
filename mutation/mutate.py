"""Mutation testing of MotionBench's central modules with cosmic-ray (``make mutate``; not part of CI).

Each central module is listed with the test files that should guard it. The script copies the
tracked files of the checkout into a scratch folder (cosmic-ray edits the module it mutates in
place, so the checkout itself is never touched), with links that make the folders ``setup.py`` maps
(``fym/`` is installed as ``motionbench_fym``, ...) importable there under their installed names, so
a mutant of ``fym/losses.py`` is what ``import motionbench_fym.losses`` loads. Then, per module:

1. its guard tests run once under coverage with a context per test (``covermap.py``): which tests
   execute which line;
2. mutants whose lines no test executes are set aside as *not covered*; with ``--sample N`` a fixed
   seeded sample of N of the rest is kept (the others are counted as *sampled out*, never dropped
   silently);
3. cosmic-ray applies each mutant and runs ``run_mutant.py``, which runs only the tests that execute
   the changed lines, in a process forked from a server that has torch and the other heavy imports
   loaded already (``forkserver.py``);
4. the summary counts killed / survived / timed out / not covered per module, sets apart the
   survivors argued equivalent in ``mutation/EQUIVALENT.md`` and those that a test written after
   the campaign kills (``mutation/KILLED_BY.md``: mutant -> test; ``--verify`` applies each such
   mutant to a fresh copy of the checkout and checks that its test fails), and prints the others' diffs.

The kill rate is estimated over all of a module's mutants, from two strata: the not-covered ones are
a census (every one counts as missed unless a test written later kills it: a mutant no test runs is
a mutant the tests miss), the covered ones a seeded sample, whose kill rate and share of equivalent
mutants stand for the covered mutants not run (sampled out, or left by ``--minutes``). So, with
caught = killed + killed later + timed out among those run, judged = caught + survived, and u = the
covered mutants not run::

    estimate = (caught + u * f * caught / judged + later among not covered)
               / (judged + u * f + not covered),   f = judged / (judged + equivalent survivors)

``of run`` is caught / judged, the sample alone. (Counting the census and the sample side by side,
as this script first did, weighs a module's not-covered mutants about 20 times more than its covered
ones when 40 of 800 are sampled.)

Usage::

    python mutation/mutate.py                      # every module below, the default sample
    python mutation/mutate.py motionbench/report/bootstrap.py --sample 0 --minutes 0   # all of one module's mutants
    python mutation/mutate.py --list               # the modules and their guarding tests
    python mutation/mutate.py --summary --work DIR # the counts of an earlier (or stopped) campaign
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_mutant  # noqa: E402 - the same line -> tests rule the per-mutant command uses

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT = Path(__file__).resolve().parent / "EQUIVALENT.md"
KILLED_BY = Path(__file__).resolve().parent / "KILLED_BY.md"

#: module -> the test files that should kill its mutants
GUARDS: dict[str, tuple[str, ...]] = {
    "motionbench/metrics/motion_fidelity.py": ("tests/test_metrics_motion.py",),
    "motionbench/metrics/motion_matched.py": ("tests/test_metaeval.py",),
    "motionbench/metrics/clip.py": ("tests/test_metrics_clip.py",),
    "motionbench/metrics/tracks.py": ("tests/test_metrics_motion.py",),
    "motionbench/metrics/trackers.py": ("tests/test_trackers.py",),
    "motionbench/run/records.py": ("tests/test_store_recovery.py", "tests/test_runner.py"),
    "motionbench/run/jsonl.py": ("tests/test_store_recovery.py",),
    "motionbench/run/store.py": ("tests/test_store_recovery.py", "tests/test_runner.py"),
    "motionbench/run/plan.py": ("tests/test_runner.py",),
    "motionbench/run/executors.py": ("tests/test_runner.py",),
    "motionbench/report/aggregate.py": ("tests/test_report_aggregate.py",),
    # the golden reports pin the intervals, which the cells' seeded streams promise stay the same across runs
    "motionbench/report/bootstrap.py": ("tests/test_report_aggregate.py", "tests/test_report_formats.py"),
    "motionbench/backbones/lora.py": ("tests/test_backbone.py",),
    "fym/losses.py": ("tests/test_fym.py",),
    "fym/stages.py": ("tests/test_fym.py",),
    "fym/heads.py": ("tests/test_fym.py",),
}

#: Operators left out (cr-filter-operators): replacing an arithmetic operator by a bitwise or shift one
#: only raises TypeError on the floats and arrays these modules compute with, so such mutants die on
#: any test that runs the line; they would multiply the campaign's time without telling anything.
EXCLUDED_OPERATORS = (r"core/ReplaceBinaryOperator_.*_(BitOr|BitAnd|BitXor|LShift|RShift)$",)

#: The default campaign: a seeded sample of 40 covered mutants per module (0 = all), each module's
#: mutants run for at most 1.5 minutes (the rest count as "not run"). All of them (about 5,400) cannot
#: be run in an hour on one free core of this machine; see the README's development section.
DEFAULT_SAMPLE = 40
DEFAULT_MINUTES = 1.5
SEED = 17

NOT_COVERED = "MUTATE: not covered"
SAMPLED_OUT = "MUTATE: sampled out"
TIMED_OUT = "MUTATE: timeout"
ANNOTATION = "MUTATE: inside a postponed annotation"
NO_COMPILE = "MUTATE: not valid Python"


@dataclass
class ModuleResult:
    module: str
    killed: int = 0
    killed_later: int = 0  # survivors (or not covered) of the campaign that a test listed in KILLED_BY.md kills
    survived: int = 0
    timeout: int = 0
    not_covered: int = 0
    equivalent: int = 0  # mutants of postponed annotations, and survivors argued equivalent in EQUIVALENT.md
    equivalent_run: int = 0  # of those, the survivors argued equivalent (they were run: part of the sample)
    later_uncovered: int = 0  # of killed_later, those no guard test had run (part of the census)
    incompetent: int = 0  # the mutant could not even be applied or run (not a test verdict)
    filtered: int = 0  # left out by EXCLUDED_OPERATORS
    sampled_out: int = 0
    not_run: int = 0
    seconds: float = 0.0
    survivors: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    later: list[tuple[str, str, dict]] = field(default_factory=list)  # (key, test, mutation) for --verify

    def _sample(self) -> tuple[int, int]:
        """(caught, judged) among the covered mutants that were run."""
        caught = self.killed + self.killed_later - self.later_uncovered + self.timeout
        return caught, caught + self.survived

    def estimate(self) -> tuple[float, float]:
        """(caught, behaviour-changing) estimated over all the module's mutants (see the module docstring)."""
        caught, judged = self._sample()
        census = self.not_covered + self.later_uncovered
        if not judged:  # nothing run: the covered mutants tell nothing, and are left out
            return float(self.later_uncovered), float(census)
        unrun = (self.sampled_out + self.not_run) * judged / (judged + self.equivalent_run)
        return caught + unrun * caught / judged + self.later_uncovered, judged + unrun + census

    @property
    def kill_rate(self) -> float:
        """The estimated kill rate over all the module's mutants."""
        caught, total = self.estimate()
        return caught / total if total else float("nan")

    @property
    def run_kill_rate(self) -> float:
        """The kill rate among the covered mutants that were run (the sample alone)."""
        caught, judged = self._sample()
        return caught / judged if judged else float("nan")


def copy_checkout(dest: Path) -> None:
    """The tracked (and untracked, not ignored) files of the checkout, as they are on disk now."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        src = REPO / raw.decode()
        if src.is_file():
            target = dest / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def import_names() -> dict[str, str]:
    """setup.py's import package -> folder map (``CODE``), read without running setup.py."""
    for node in ast.parse((REPO / "setup.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "CODE" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("setup.py has no CODE = {import name: folder} mapping; mutate.py needs it")


def link_import_names(work: Path) -> Path:
    """``work/.import-names/<name>`` -> ``work/<folder>`` for each folder installed under another name.

    Without them ``motionbench_fym`` would resolve through the editable install to the checkout, and
    no mutant of ``fym/`` would ever be imported by the tests.
    """
    links = work / ".import-names"
    links.mkdir(exist_ok=True)
    for name, folder in import_names().items():
        link = links / name
        if name != folder and not link.exists():
            link.symlink_to(work / folder, target_is_directory=True)
    return links


def scratch_env(work: Path) -> dict[str, str]:
    """The environment the scratch copy's tests run in: its packages first on the import path."""
    path = os.pathsep.join([str(work / ".import-names"), str(work)])
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "MUTATE_REPO": str(REPO)}


def prepare_scratch(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "setup.py").exists():
        copy_checkout(work)
    link_import_names(work)


def write_config(folder: Path, module: str, state: Path, timeout: float) -> Path:
    command = " ".join([sys.executable, "-I", "-S", str(folder / "mutation" / "run_mutant.py"), str(state), module])
    config = state / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {timeout + 120}\n"  # a backstop: run_mutant.py reports its own timeouts first
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(list(EXCLUDED_OPERATORS))}\n")
    return config


def cosmic_ray_tool(name: str = "cosmic-ray") -> str:
    """A cosmic-ray command, from this interpreter's environment when it is not on the PATH."""
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def mutant_key(mutation: dict) -> str:
    """module:line operator #occurrence, the key of EQUIVALENT.md."""
    return f"{mutation['module_path']}:{mutation['start_pos'][0]} {mutation['operator_name']} #{mutation['occurrence']}"


def equivalent_keys(path: Path = EQUIVALENT) -> set[str]:
    """The keys listed in EQUIVALENT.md as ``- `key`: argument`` lines."""
    if not path.exists():
        return set()
    return set(re.findall(r"^- `([^`]+)`:", path.read_text(), flags=re.M))


def killed_by(path: Path = KILLED_BY) -> dict[str, str]:
    """key -> the test node id that kills it, from KILLED_BY.md's ``- `key`: `node id``` lines."""
    if not path.exists():
        return {}
    return dict(re.findall(r"^- `([^`]+)`: `([^`]+)`", path.read_text(), flags=re.M))


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(line, column) spans of the type annotations, when the module postpones them.

    With ``from __future__ import annotations`` an annotation is a string nobody evaluates here, so a
    mutant inside one (``float | None`` to ``float - None``) changes no behaviour.
    """
    tree = ast.parse(source)
    if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
               any(a.name == "annotations" for a in n.names) for n in tree.body):
        return []
    spans = []
    for node in ast.walk(tree):
        found = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            found.append(node.returns)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        spans += [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in found]
    return spans


def compiles(source: str, spec) -> bool:
    """Whether the module with mutant ``spec`` applied is still valid Python (a mutant that is not is
    *incompetent*: no test could run it, so it is no evidence about the tests)."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    operator = get_operator(spec.operator_name)(**(spec.operator_args or {}))
    mutated = mutate_code(source, operator, spec.occurrence)
    if mutated is None:
        return True
    try:
        compile(mutated, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


def set_aside(session: Path, state: Path, sample: int, seed: int) -> None:
    """Mark the not-covered mutants, then all but a seeded sample of ``sample`` of the rest, as skipped."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    info = json.loads((state / "covermap.json").read_text())
    source = (state / "pristine.py").read_text()
    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=lambda item: (  # job ids are random: sample by place
            item.mutations[0].start_pos, item.mutations[0].operator_name, item.mutations[0].occurrence))
        spans = annotation_spans(source)
        covered, uncovered, annotations, broken = [], [], [], []
        for item in pending:
            spec = item.mutations[0]
            if any(start <= tuple(spec.start_pos) < end for start, end in spans):
                annotations.append(item.job_id)
                continue
            lines = set(range(spec.start_pos[0], spec.end_pos[0] + 1))
            tests = run_mutant.tests_for(lines, source, info["lines"], set(info["imported"]))
            if not tests and not compiles(source, spec):
                broken.append(item.job_id)  # e.g. the `*` of a keyword-only marker made a `+`
                continue
            (covered if tests else uncovered).append(item.job_id)
        if annotations:
            db.set_multiple_results(annotations, WorkResult(output=ANNOTATION, worker_outcome=WorkerOutcome.SKIPPED))
        if broken:
            db.set_multiple_results(broken, WorkResult(output=NO_COMPILE, worker_outcome=WorkerOutcome.SKIPPED))
        if uncovered:
            db.set_multiple_results(uncovered, WorkResult(output=NOT_COVERED, worker_outcome=WorkerOutcome.SKIPPED))
        if sample and len(covered) > sample:
            keep = set(random.Random(seed).sample(covered, sample))
            out = [job for job in covered if job not in keep]
            db.set_multiple_results(out, WorkResult(output=SAMPLED_OUT, worker_outcome=WorkerOutcome.SKIPPED))


def summarise(module: str, session: Path, cwd: Path, env: dict[str, str]) -> ModuleResult:
    out = subprocess.run([cosmic_ray_tool(), "dump", str(session)], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True).stdout
    result = ModuleResult(module)
    equivalent = equivalent_keys()
    later = killed_by()
    for line in out.splitlines():
        item, outcome = json.loads(line)
        if outcome is None:
            result.not_run += 1  # the campaign was stopped by --minutes before this one
            continue
        worker, test, output = outcome.get("worker_outcome"), outcome.get("test_outcome"), outcome.get("output") or ""
        key = mutant_key(item["mutations"][0])
        uncovered = (worker == "skipped" and output == NOT_COVERED) or (test == "survived" and NOT_COVERED in output)
        if (uncovered or test == "survived") and key in later:
            result.killed_later += 1
            result.later_uncovered += uncovered
            result.later.append((key, later[key], item["mutations"][0]))
        elif worker == "skipped" and output == NOT_COVERED:
            result.not_covered += 1
            result.uncovered.append(key)
        elif worker == "skipped" and output == ANNOTATION:
            result.equivalent += 1
        elif worker == "skipped" and output == NO_COMPILE:
            result.incompetent += 1
        elif worker == "skipped" and output == SAMPLED_OUT:
            result.sampled_out += 1
        elif worker == "skipped":
            result.filtered += 1
        elif TIMED_OUT in output or output == "timeout":
            result.timeout += 1
        elif test == "killed":
            result.killed += 1
        elif uncovered:
            result.not_covered += 1
            result.uncovered.append(key)
        elif test == "survived" and key in equivalent:
            result.equivalent += 1
            result.equivalent_run += 1
        elif test == "survived":
            result.survived += 1
            result.survivors.append(f"{key}\n{outcome.get('diff', '')}")
        else:
            result.incompetent += 1
    return result


def verify_later(results: list[ModuleResult], work: Path) -> list[str]:
    """Apply each mutant of KILLED_BY.md to a fresh copy of the checkout and run its test; the failures.

    A listed test that passes on its mutant is a false claim; this is how the list is kept honest.
    Each test runs in a process forked from this one after the campaign's third-party imports, as
    in the campaign (``forkserver.run_child``).
    """
    import forkserver
    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.plugins import get_operator

    wrong = []
    fresh = work / ".verify"
    shutil.rmtree(fresh, ignore_errors=True)
    prepare_scratch(fresh)
    env = scratch_env(fresh)
    names: set[str] = set()
    for r in results:
        cover = work / ".mutate" / r.module.replace("/", "_") / "covermap.json"
        if r.later and cover.exists():
            names.update(json.loads(cover.read_text())["preload"])
    forkserver.preload(sorted(names))
    for r in results:
        for key, test, mutation in r.later:
            operator = get_operator(mutation["operator_name"])(**(mutation.get("operator_args") or {}))
            with use_mutation(fresh / mutation["module_path"], operator, mutation["occurrence"]) as (_, mutated):
                if mutated is None:
                    wrong.append(f"{key}: the mutation no longer applies (the module changed); rerun the campaign")
                    continue
                scratch = Path(tempfile.mkdtemp(prefix="verify-", dir=work))
                pid = os.fork()
                if pid == 0:
                    os.chdir(fresh)
                    os.environ.update(env)
                    sys.path[:0] = env["PYTHONPATH"].split(os.pathsep)
                    forkserver.run_child([test], scratch)
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                output = (scratch / "output").read_text(errors="replace")
                shutil.rmtree(scratch, ignore_errors=True)
            print(f"verify {key}: {test} {'killed' if code == 1 else f'NOT KILLED (pytest exit {code})'}", flush=True)
            if code != 1:
                wrong.append(f"{key}: {test} exits {code} on this mutant\n{output[-2000:]}")
    return wrong


def build_coverage_map(module: str, tests: tuple[str, ...], work: Path, state: Path, env: dict[str, str],
                       timeout: float) -> None:
    if (state / "covermap.json").exists():
        return
    shutil.copy2(work / module, state / "pristine.py")
    # This run may write bytecode (of the pristine code): the forked test runs then import the other
    # modules and the assertion-rewritten test files from it instead of compiling them each time.
    compiling = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, str(work / "mutation" / "covermap.py"), str(state), module, "5", "10", *tests],
                   cwd=work, env=compiling, check=True, stdout=subprocess.DEVNULL)
    for cached in (work / module).parent.glob(f"__pycache__/{Path(module).stem}.*.pyc"):
        cached.unlink()  # the mutated module is always compiled from its (mutated) source
    info = json.loads((state / "covermap.json").read_text())
    info["timeout_cap"] = timeout
    (state / "covermap.json").write_text(json.dumps(info))
    if info["failed"]:
        raise SystemExit(f"{module}: these guard tests fail on the unmutated code, so every mutant would "
                         f"count as killed; fix them first: {', '.join(info['failed'])}")


def start_server(work: Path, state: Path, env: dict[str, str]) -> subprocess.Popen:
    (state / "server.ready").unlink(missing_ok=True)
    server = subprocess.Popen([sys.executable, str(work / "mutation" / "forkserver.py"), str(state)], cwd=work,
                              env=env)
    while not (state / "server.ready").exists():
        if server.poll() is not None:
            raise SystemExit(f"the fork server for {state.name} stopped (exit {server.returncode})")
        time.sleep(0.1)
    return server


def session_file(work: Path, module: str) -> Path:
    """Where the campaign in ``work`` keeps ``module``'s cosmic-ray session."""
    return work / ".mutate" / module.replace("/", "_") / "session.sqlite"


def run_module(module: str, tests: tuple[str, ...], work: Path, timeout: float, minutes: float | None,
               sample: int, seed: int, run: bool = True) -> ModuleResult:
    env = scratch_env(work)
    session = session_file(work, module)
    state = session.parent
    cosmic = cosmic_ray_tool()
    spent = state / "seconds"  # wall time of this module's campaign, summed over resumed runs
    if not run:
        result = summarise(module, session, work, env)
        result.seconds = float(spent.read_text()) if spent.exists() else 0.0
        return result
    state.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    build_coverage_map(module, tests, work, state, env, timeout)
    config = write_config(work, module, state, timeout)
    if not session.exists():  # an existing session (same --work) is resumed where it stopped
        subprocess.run([cosmic, "init", str(config), str(session)], cwd=work, env=env, check=True)
        subprocess.run([cosmic_ray_tool("cr-filter-operators"), str(session), str(config)], cwd=work,
                       env=env, check=True)
        set_aside(session, state, sample, seed)
    server = start_server(work, state, env)
    try:
        subprocess.run([cosmic, "exec", str(config), str(session)], cwd=work, env=env, check=True,
                       timeout=minutes * 60 if minutes else None)  # 0 or None: no limit
    except subprocess.TimeoutExpired:
        print(f"{module}: stopped after {minutes:g} minutes; rerun with the same --work to go on", file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
        shutil.copy2(state / "pristine.py", work / module)  # a stopped cosmic-ray may leave a mutant
    result = summarise(module, session, work, env)
    result.seconds = time.monotonic() - start + (float(spent.read_text()) if spent.exists() else 0.0)
    spent.write_text(f"{result.seconds:.1f}")
    return result


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:5.1f}" if seconds else f"{'-':>5}"  # not recorded (a campaign from before it was)


def overall_kill_rate(results: list[ModuleResult]) -> float:
    """The estimate over all modules: each module is its own stratum (their samples are not pooled)."""
    parts = [r.estimate() for r in results]
    total = sum(t for _, t in parts)
    return sum(c for c, _ in parts) / total if total else float("nan")


def print_table(results: list[ModuleResult]) -> None:
    header = (f"{'module':40} {'killed':>6} {'later':>5} {'survived':>8} {'timeout':>7} {'not covered':>11} {'equivalent':>10} "
              f"{'est. rate':>9} {'of run':>6} {'incompetent':>11} {'filtered':>8} {'sampled out':>11} {'not run':>7} {'min':>5}")
    print("\n" + header)
    for r in results:
        print(f"{r.module:40} {r.killed:6d} {r.killed_later:5d} {r.survived:8d} {r.timeout:7d} {r.not_covered:11d} {r.equivalent:10d} "
              f"{r.kill_rate:9.1%} {r.run_kill_rate:6.1%} {r.incompetent:11d} {r.filtered:8d} {r.sampled_out:11d} {r.not_run:7d} "
              f"{_minutes(r.seconds)}")
    total = ModuleResult("all", **{k: sum(getattr(r, k) for r in results) for k in (
        "killed", "killed_later", "survived", "timeout", "not_covered", "equivalent", "equivalent_run", "later_uncovered",
        "incompetent", "filtered", "sampled_out", "not_run", "seconds")})
    print(f"{total.module:40} {total.killed:6d} {total.killed_later:5d} {total.survived:8d} {total.timeout:7d} {total.not_covered:11d} "
          f"{total.equivalent:10d} {overall_kill_rate(results):9.1%} {total.run_kill_rate:6.1%} {total.incompetent:11d} {total.filtered:8d} "
          f"{total.sampled_out:11d} {total.not_run:7d} {_minutes(total.seconds)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all of GUARDS)")
    parser.add_argument("--timeout", type=float, default=300.0, help="most seconds one mutant's tests may take")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE,
                        help=f"covered mutants per module to run, a seeded sample (default {DEFAULT_SAMPLE}; 0 = all)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"the sample's seed (default {SEED})")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES,
                        help=f"stop each module's mutants after this long (default {DEFAULT_MINUTES:g}; 0 = no limit)")
    parser.add_argument("--summary", action="store_true", help="only print the summary of the sessions in --work")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests, and stop")
    parser.add_argument("--verify", action="store_true",
                        help="check that each KILLED_BY.md test fails on its mutant (with --summary --work DIR)")
    args = parser.parse_args(argv)
    if args.list:
        for module, tests in GUARDS.items():
            print(f"{module}: {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in GUARDS]
    if unknown:
        parser.error(f"not a configured module: {', '.join(unknown)}; see --list")
    work = args.work or Path(tempfile.mkdtemp(prefix="mb-mutate-"))
    modules = list(args.modules or GUARDS)
    if args.summary:  # a summary reads the campaign in --work; modules it did not run have nothing to show
        absent = [m for m in modules if not session_file(work, m).exists()]
        if absent and (args.modules or len(absent) == len(modules)):
            raise SystemExit(f"{work} holds no campaign of {', '.join(absent)}: run `python mutation/mutate.py "
                             f"--work {work} MODULE...` first, or name only the modules it ran")
        if absent:
            print(f"not run in {work}, left out: {', '.join(absent)}")
        modules = [m for m in modules if m not in absent]
    prepare_scratch(work)
    results = [run_module(m, GUARDS[m], work, args.timeout, args.minutes, args.sample, args.seed,
                          run=not args.summary) for m in modules]
    print_table(results)
    for r in results:
        for s in r.survivors:
            print(f"\nSURVIVED {s}")
    for r in results:
        if r.uncovered:
            print(f"\nNOT COVERED in {r.module}: {', '.join(r.uncovered)}")
    print(f"\nscratch folder: {work}")
    if args.verify:
        wrong = verify_later(results, work)
        for w in wrong:
            print(f"\nKILLED_BY.md is wrong: {w}")
        return 1 if wrong else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
