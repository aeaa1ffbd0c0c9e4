"""The mutation-testing tool (mutation/): what a mutant's tests import, and which tests a mutant runs.

No campaign runs here: these check the parts that, when wrong, make every verdict meaningless (a
mutant the tests never import survives; a mutant mapped to no test is called not covered).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import script_module

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mutate():
    with script_module(REPO / "mutation" / "mutate.py", "_mutation_mutate") as module:
        yield module


@pytest.fixture(scope="module")
def run_mutant():
    with script_module(REPO / "mutation" / "run_mutant.py", "_mutation_run_mutant") as module:
        yield module


def test_scratch_copy_imports_its_own_fym_under_the_installed_name(mutate, tmp_path: Path) -> None:
    work = tmp_path / "scratch"
    mutate.prepare_scratch(work)
    # a change made in the scratch copy (as cosmic-ray makes one) is what the installed name loads
    with open(work / "fym" / "__init__.py", "a") as f:
        f.write("\nMUTATION_PROBE = 'scratch'\n")
    probe = ("import importlib.util, motionbench, motionbench_fym, motionbench_baselines; "
             "print(motionbench_fym.MUTATION_PROBE); "
             "print(importlib.util.find_spec('motionbench_fym.losses').origin); "
             "print(importlib.util.find_spec('motionbench_baselines.ditflow').origin); "
             "print(motionbench.__file__)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=work, env=mutate.scratch_env(work),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "scratch"
    assert Path(out[1]).resolve() == (work / "fym" / "losses.py").resolve()
    assert Path(out[2]).resolve() == (work / "baselines" / "ditflow.py").resolve()
    assert Path(out[3]).resolve() == (work / "motionbench" / "__init__.py").resolve()


SOURCE = '''\
LIMIT = 3


def clip(x, low=0):
    if x > LIMIT:
        return LIMIT
    return max(x, low)


def unused():
    return 1
'''


def test_a_mutant_runs_the_tests_of_the_lines_it_changes(run_mutant) -> None:
    rm = run_mutant
    cover = {"5": ["t::big", "t::small"], "6": ["t::big"], "7": ["t::small"]}
    imported = {1, 4, 10}  # what ran at import: the constant and the two def lines
    pristine = SOURCE.splitlines()
    mutant = SOURCE.replace("return LIMIT", "return LIMIT + 1").splitlines()
    assert rm.changed_lines(pristine, mutant) == {6}
    assert rm.tests_for({6}, SOURCE, cover, imported) == {"t::big"}
    # a default argument is exercised by the tests of the function's body, not by no test
    assert rm.tests_for({4}, SOURCE, cover, imported) == {"t::big", "t::small"}
    # a module constant can matter to any test that touched the module
    assert rm.tests_for({1}, SOURCE, cover, imported) == {"t::big", "t::small"}
    # a body no test runs is not covered
    assert rm.tests_for({11}, SOURCE, cover, imported) == set()


def test_mutants_inside_postponed_annotations_are_recognised(mutate) -> None:
    source = "from __future__ import annotations\n\ndef f(x: int | None, y=1 | 2) -> float | None:\n    return x\n"
    spans = mutate.annotation_spans(source)
    inside = lambda pos: any(a <= pos < b for a, b in spans)  # noqa: E731
    assert inside((3, 13))  # the | of int | None
    assert inside((3, 39))  # the | of the return annotation
    assert not inside((3, 25))  # the | of a default value: real code
    assert mutate.annotation_spans(source.split("\n", 1)[1]) == []  # evaluated annotations are code


def test_the_kill_rate_weighs_the_sampled_mutants_by_how_many_they_stand_for(mutate) -> None:
    """Covered mutants are a sample, not-covered ones a census: each run mutant stands for the covered ones not run."""
    r = mutate.ModuleResult("m", killed=9, survived=1, sampled_out=80, not_run=10, not_covered=10)
    assert r.run_kill_rate == pytest.approx(0.9)
    assert r.kill_rate == pytest.approx((9 + 90 * 0.9) / (10 + 90 + 10))  # not 9 / (10 + 10), as counted side by side
    # Survivors argued equivalent in the sample mean that share of the unrun covered mutants is equivalent too.
    eq = mutate.ModuleResult("m", killed=8, equivalent=2, equivalent_run=2, sampled_out=40, not_covered=2)
    assert eq.kill_rate == pytest.approx((8 + 32) / (8 + 32 + 2))
    # A not-covered mutant that a later test kills is caught, in the census.
    later = mutate.ModuleResult("m", killed=4, killed_later=3, later_uncovered=3, not_covered=1)
    assert later.run_kill_rate == 1.0 and later.kill_rate == pytest.approx(7 / 8)
    # Over modules, each is its own stratum: a small weak module does not drag down a large strong one's sample.
    strong = mutate.ModuleResult("a", killed=10, sampled_out=90)
    weak = mutate.ModuleResult("b", killed=5, survived=5)
    assert mutate.overall_kill_rate([strong, weak]) == pytest.approx(105 / 110)
    assert mutate.ModuleResult("c", not_covered=3).kill_rate == 0.0


def test_a_mutant_that_is_not_valid_python_is_recognised(mutate) -> None:
    """The `*` of a keyword-only marker turned into `+` is no program at all: incompetent, not a mutant the tests miss."""
    from types import SimpleNamespace

    source = "def f(a, *, b=2):\n    return a * b\n"
    spec = lambda occurrence: SimpleNamespace(operator_name="core/ReplaceBinaryOperator_Mul_Add",  # noqa: E731
                                              operator_args={}, occurrence=occurrence)
    assert not mutate.compiles(source, spec(0))  # def f(a, +, b=2)
    assert mutate.compiles(source, spec(1))  # return a + b: a real mutant


def test_a_summary_names_the_modules_its_folder_holds_no_campaign_of(mutate, tmp_path: Path) -> None:
    """`--summary --work DIR` over a folder that never ran a module says so (it used to crash in
    cosmic-ray's `dump`), and without a module list it leaves out the ones not run there."""
    with pytest.raises(SystemExit, match=rf"{re.escape(str(tmp_path))} holds no campaign of motionbench/run/plan.py"):
        mutate.main(["--summary", "--work", str(tmp_path), "motionbench/run/plan.py"])
    with pytest.raises(SystemExit, match="holds no campaign of motionbench/metrics/motion_fidelity.py, "):
        mutate.main(["--summary", "--work", str(tmp_path)])
    assert not (tmp_path / "setup.py").exists()  # nothing was copied for a summary of nothing
