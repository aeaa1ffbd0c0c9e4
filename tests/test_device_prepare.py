"""benchmarks/prepare_device.py: what travels to the GPU machine, its size, the wheels and their needs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import script_module

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "prepare_device.py"


@pytest.fixture(scope="module")
def prep():
    with script_module(SCRIPT, "prepare_device") as module:
        yield module


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def make_repo(tmp_path: Path, ignore: str = "/.whl/\n/.cotracker/\n") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text(ignore)
    (repo / "tracked.py").write_bytes(b"x" * 1000)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    (repo / "untracked.txt").write_bytes(b"y" * 500)  # untracked, not ignored: travels
    (repo / "constraints.txt").write_text("alpha==1.0\nbeta==2.0 ; python_version >= '3'\n")
    return repo


def make_wheel(folder: Path, name: str, version: str, requires: list[str], size: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    meta = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n".format(name, version)
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-{version}.dist-info/METADATA", meta)
        zf.writestr(f"{name}/data.bin", b"z" * size)
    return path


def test_plan_counts_the_travelling_tree_the_wheels_and_the_cotracker_copy(prep, tmp_path):
    repo = make_repo(tmp_path)
    wheel = make_wheel(repo / ".whl", "alpha", "1.0", [], size=3000)
    (repo / ".cotracker").mkdir()
    (repo / ".cotracker" / "hubconf.py").write_bytes(b"h" * 200)
    (repo / "ignored-by-nobody").mkdir()
    plan = prep.plan(repo, {"alpha": "1.0", "beta": "2.0"})
    # tracked.py + untracked.txt + .gitignore + constraints.txt; the ignored folders are counted apart
    tree = sum((repo / n).stat().st_size for n in ("tracked.py", "untracked.txt", ".gitignore", "constraints.txt"))
    assert plan.tree_files == 4 and plan.tree_bytes == tree
    assert plan.wheels == [(wheel.name, wheel.stat().st_size)]
    assert plan.wheels_missing == ["beta==2.0", "motionbench (built from this checkout)"]
    assert plan.cotracker_bytes == 200
    assert plan.total == tree + wheel.stat().st_size + 200
    assert plan.carry == [".whl", ".cotracker"]
    text = plan.describe()
    assert "within the limit" in text and "beta==2.0" in text and "not downloaded yet" in text


def test_dry_run_refuses_when_over_the_limit_and_changes_nothing(prep, tmp_path, capsys):
    repo = make_repo(tmp_path)
    (repo / "constraints.txt").write_text("".join(f"{n}==1.0\n" for n in prep.CARRIED))
    (repo / "big.bin").write_bytes(b"b" * 3 * 2**20)
    assert prep.main(["--dry-run", "--repo", str(repo), "--limit-mib", "2"]) == 1
    out = capsys.readouterr()
    assert "OVER THE LIMIT" in out.out and "too much to travel" in out.err
    assert not (repo / ".whl").exists()
    assert prep.main(["--dry-run", "--repo", str(repo), "--limit-mib", "64"]) == 0
    printed = capsys.readouterr().out
    assert "within the limit" in printed and "device_check.py --copy-to" in printed


def test_wheel_folders_must_be_ignored_by_git(prep, tmp_path, capsys):
    repo = make_repo(tmp_path, ignore="")
    assert prep.main(["--dry-run", "--repo", str(repo)]) == 2
    assert "not ignored by git" in capsys.readouterr().err
    # and the project's own .gitignore keeps them out of commits
    assert prep.is_ignored(ROOT, ".whl") and prep.is_ignored(ROOT, ".cotracker")


def test_pins_come_from_constraints_and_a_missing_pin_is_named(prep, tmp_path):
    repo = make_repo(tmp_path)
    assert prep.pinned_versions(repo / "constraints.txt", ["alpha", "beta"]) == {"alpha": "1.0", "beta": "2.0"}
    with pytest.raises(SystemExit, match="gamma"):
        prep.pinned_versions(repo / "constraints.txt", ["alpha", "gamma"])
    # every carried wheel is pinned by the project's constraints
    assert set(prep.pinned_versions(ROOT / "constraints.txt", list(prep.CARRIED))) == set(prep.CARRIED)


def test_requirements_neither_on_the_image_nor_carried_are_reported(prep, tmp_path):
    folder = tmp_path / "whl"
    make_wheel(folder, "alpha", "1.0", ["numpy>=1", "missing-thing", "old-only; python_version < '3.8'",
                                        "beta", "extra-only; extra == 'dev'", "decord; platform_machine == 'x86_64'"])
    assert prep.unmet_requirements(folder) == {"alpha-1.0-py3-none-any.whl": ["beta", "missing-thing"]}
    make_wheel(folder, "beta", "2.0", [])
    make_wheel(folder, "missing_thing", "0.1", [])
    assert prep.unmet_requirements(folder) == {}


def test_motionbench_needs_only_what_the_image_has_or_what_is_carried(prep):
    """A new dependency in pyproject.toml must be on the GPU image, carried, or deliberately left out."""
    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {prep.normalise(Requirement(d).name) for d in deps}
    known = prep.DEVICE_IMAGE | {prep.normalise(n) for n in (*prep.CARRIED, *prep.NOT_CARRIED)}
    assert names - known == set()


def test_cotracker_code_is_copied_from_a_work_tree_or_a_bare_git_folder(prep, tmp_path):
    src = tmp_path / "co-tracker"
    (src / "cotracker" / "__pycache__").mkdir(parents=True)
    (src / "hubconf.py").write_text("def cotracker3_offline(): pass\n")
    (src / "cotracker" / "__init__.py").write_text("")
    (src / "cotracker" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (src / "assets.gif").write_bytes(b"g" * 100)
    dest = tmp_path / "copy"
    prep.copy_cotracker(src, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == \
        ["cotracker/__init__.py", "hubconf.py"]
    git(src, "init", "-q")
    git(src, "add", "hubconf.py", "cotracker/__init__.py", "assets.gif")
    git(src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True)
    dest2 = tmp_path / "copy2"
    prep.copy_cotracker(bare, dest2)
    assert (dest2 / "hubconf.py").read_text() == "def cotracker3_offline(): pass\n"
    assert not (dest2 / "assets.gif").exists()
    with pytest.raises(SystemExit, match="neither a co-tracker work tree"):
        prep.copy_cotracker(tmp_path / "nowhere", tmp_path / "copy3")


def test_device_command_installs_the_wheels_then_runs_the_check(prep):
    command = prep.device_command(ROOT)
    assert len(command) <= 2000  # the device tool's limit
    assert command.startswith("python3 -m pip install -q --no-index --no-deps")
    assert "--target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit;" in command
    assert command.endswith('python3 benchmarks/device_check.py --copy-to "$OUT"')
