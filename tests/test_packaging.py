"""MotionBench as an installed package: a wheel that works outside the repository, beside other packages.

The module's fixture builds the wheel from the checkout's files (the way ``benchmarks/prepare_device.py``
does, in a copy, so the checkout gets no build/ or egg-info) and installs it with pip into a fresh
virtual environment. That environment reuses the dependencies already installed for the tests
through a ``.pth`` file pointing at a folder of links to them, leaving out every trace of the editable
install of this checkout, so nothing is downloaded and only the wheel can answer. Beside it go stand-in
projects owning the import names ``fym`` and ``baselines`` (as two projects on the package index do),
and the wheel is built with stand-ins for the toy world's weights and cards where the checkout has
none yet. Commands then run from an empty folder, inside a git repository that is not MotionBench's.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import script_module

from motionbench.bench.manifest import load_manifest
from motionbench.package_data import (DEFAULT_MANIFEST, TOY_MANIFEST, checkout_commit, data_folder,
                                      reported_folder, resolve_manifest, source_checkout)
from motionbench.run.env import git_state

ROOT = Path(__file__).resolve().parents[1]
#: The manifests the repository ships (data/*.yaml), by name, as the program lists them.
SHIPPED = sorted(p.stem for p in (ROOT / "data").glob("*.yaml"))
# The repository's folders and the import names they install under (setup.py).
IMPORT_NAMES = {"fym": "motionbench_fym", "baselines": "motionbench_baselines", "fyc": "motionbench_fyc"}
# Projects on the package index that own two of the folder names as import names.
CLASHING = ("fym", "baselines")
TOP_LEVEL = {"motionbench", *IMPORT_NAMES.values()}


# --- in the checkout (fast) ----------------------------------------------------------------------


def test_the_checkout_finds_its_data_through_the_packages() -> None:
    assert source_checkout() == ROOT
    assert data_folder() == ROOT / "data" and reported_folder() == ROOT / "results" / "reported"
    assert DEFAULT_MANIFEST == ROOT / "data" / "manifest.yaml" and TOY_MANIFEST == ROOT / "data" / "toy.yaml"


def test_a_manifest_the_user_names_by_path_wins_over_a_shipped_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_manifest(None) == DEFAULT_MANIFEST
    assert resolve_manifest("toy") == TOY_MANIFEST and load_manifest("toy").name == "motionbench-toy"
    (tmp_path / "toy").write_text(DEFAULT_MANIFEST.read_text())  # a file of that name is the user's choice
    assert resolve_manifest("toy") == Path("toy") and load_manifest("toy").name == "motionbench-synthetic"
    assert resolve_manifest("sub/toy") == Path("sub/toy")  # a path is never taken for a name
    with pytest.raises(Exception, match=r"manifest not found: .*toy\.yml .*shipped one: " + ", ".join(SHIPPED)):
        load_manifest("toy.yml")


def test_git_state_is_the_checkouts_and_only_for_its_top_level(tmp_path) -> None:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("this checkout is not a git work tree (an unpacked archive)")
    assert git_state().commit == head.stdout.strip()
    assert checkout_commit(ROOT / "motionbench") is None  # inside the work tree, but not its top level


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_code_imports_the_folder_names() -> None:
    """``import fym`` works in the checkout (its folder is on the path) and nowhere else: use the import names.

    A branch written against the old names fails here; the rename script in the history of setup.py fixes it.
    """
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "*.py"], capture_output=True, text=True)
    files = [ROOT / p for p in tracked.stdout.split()] if tracked.returncode == 0 else list(ROOT.rglob("*.py"))
    word = re.compile(rf"\b({'|'.join(IMPORT_NAMES)})\b")
    offenders = {str(p.relative_to(ROOT)): sorted(_imported_roots(p) & set(IMPORT_NAMES))
                 for p in files if p.is_file() and "/.venv/" not in str(p) and word.search(p.read_text(encoding="utf-8"))}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_entry_points_name_the_installed_import_names() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    targets = [t for group in ("motionbench.methods", "motionbench.metrics")
               for t in project["entry-points"][group].values()]
    assert {t.split(":")[0].split(".")[0] for t in targets} <= TOP_LEVEL
    specs = [ROOT / "fym" / "plugin.py", ROOT / "baselines" / "plugins.py"]
    named = {m.split(".")[0] for p in specs for m in re.findall(r'"([\w.]+):\w+"', p.read_text())}
    assert named and named <= TOP_LEVEL, named


# --- the wheel, installed into a fresh environment ------------------------------------------------


@dataclass
class Installed:
    wheel: Path
    python: Path
    bin: Path
    site: Path  # the fresh environment's site-packages
    work: Path  # an empty folder to run commands from
    env: dict[str, str]

    def run(self, *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), cwd=cwd or self.work, env=env or self.env, capture_output=True,
                              text=True, timeout=timeout)

    def motionbench(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(str(self.bin / "motionbench"), *args, **kw)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def _without_this_checkout(target: Path) -> Path:
    """A folder of links to the dependencies installed here, without MotionBench's editable install."""
    target.mkdir()
    ours = re.compile(r"^(__editable__|motionbench|_?motionbench_|fym$|baselines$|fyc$)|\.(pth|egg-link)$")
    for site in dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]):
        for entry in Path(site).iterdir():
            if not ours.search(entry.name) and not (target / entry.name).exists():
                (target / entry.name).symlink_to(entry)
    return target


def _pip_install(python: Path, *wheels: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--no-compile", "-q", "--disable-pip-version-check", *map(str, wheels)],
                   check=True, capture_output=True, timeout=300)


def _stand_in_wheel(folder: Path, name: str) -> Path:
    """A wheel of a project that owns the top-level import name ``name`` (as PyPI's fym and baselines do)."""
    path = folder / f"{name}-9.9-py3-none-any.whl"
    info = f"{name}-9.9.dist-info"
    files = {f"{name}/__init__.py": f"OWNER = 'the other {name} project'\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 9.9\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{f},,\n" for f in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return path


# Stand-ins for the toy world's shipped weights and cards, where the checkout has none yet: they prove
# that everything under motionbench/assets/ (any suffix, any depth) ships and is found installed.
STAND_IN_ASSETS = {"motionbench/assets/toy/wan/transformer/config.json": b'{"_class_name": "stand-in"}\n',
                   "motionbench/assets/toy/wan/README.md": b"# stand-in card of the toy T2V model\n",
                   "motionbench/assets/toy/clip/model.safetensors": b"\x00stand-in weights\xff",
                   "motionbench/assets/toy/clip/README.md": b"# stand-in card of the toy CLIP\n"}


def _stand_in_assets() -> dict[str, bytes]:
    return {path: content for path, content in STAND_IN_ASSETS.items() if not (ROOT / path).exists()}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    with script_module(ROOT / "benchmarks" / "prepare_device.py", "prepare_device") as prep:
        top = tmp_path_factory.mktemp("installed")
        # Everything below lives in a git repository that is not MotionBench: its commit must not show up.
        _git(top, "init", "-q")
        _git(top, "commit", "-q", "--allow-empty", "-m", "someone else's project")
        wheel = prep.build_motionbench_wheel(ROOT, top / "dist", extra=_stand_in_assets())
    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "motionbench_test_dependencies.pth").write_text(f"{_without_this_checkout(top / 'deps')}\n")
    # The projects that own the import names fym and baselines go in beside it: every test below runs with them.
    _pip_install(python, wheel, *(_stand_in_wheel(top, name) for name in CLASHING))
    work = top / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1", HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1", COLUMNS="200", MOTIONBENCH_CACHE=str(top / "cache"))
    return Installed(wheel, python, venv / "bin", site, work, env)


def test_the_wheel_holds_the_code_under_unique_names_and_the_package_data(installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == TOP_LEVEL  # no fym/, baselines/ or fyc/ to shadow (or be shadowed by) other projects
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True).stdout
    expected = set()
    for path in tracked.split():
        folder, _, rest = path.partition("/")
        if folder in ("motionbench", *IMPORT_NAMES) and path.endswith(".py"):
            expected.add(f"{IMPORT_NAMES.get(folder, folder)}/{rest}")
        elif folder == "data" and path.endswith((".yaml", ".py")):
            expected.add(f"motionbench/data/{rest}")
        elif path.startswith("results/reported/"):
            expected.add(f"motionbench/data/reported/{path.removeprefix('results/reported/')}")
        elif path.startswith("motionbench/assets/"):
            expected.add(path)
    expected |= set(_stand_in_assets())
    assert "motionbench/data/manifest.yaml" in expected and "motionbench/data/reported/fym_paper.yaml" in expected
    assert sorted(expected - set(names)) == []


def test_version_and_which_copy_runs(installed) -> None:
    out = installed.motionbench("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"motionbench 0.1.0 from {installed.site / 'motionbench'} (installed package;")
    probe = installed.run(str(installed.python), "-c", "import json, sys, motionbench, motionbench_fym; "
                          "from motionbench.package_data import TOY_MANIFEST; from motionbench.run.env import git_state; "
                          "print(git_state().commit); "
                          "print(json.dumps([motionbench.__file__, motionbench_fym.__file__, str(TOY_MANIFEST), sys.path]))")
    assert probe.returncode == 0, probe.stderr
    commit, listing = probe.stdout.splitlines()
    assert commit == "None"  # not the commit of the repository the environment sits in
    *files, path = json.loads(listing)
    assert all(Path(f).is_relative_to(installed.site) for f in files), files
    assert Path(files[2]).read_text() == (ROOT / "data" / "toy.yaml").read_text()
    assert not any(str(ROOT) in entry for entry in path), path  # the checkout is nowhere on the path


def test_ls_and_validate_read_the_shipped_manifests(installed) -> None:
    shipped = installed.site / "motionbench" / "data"
    out = installed.motionbench("ls", "--json")
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    assert listing["manifest"] == str(shipped / "manifest.yaml")
    assert [s["id"] for s in listing["samples"]] == [s.id for s in load_manifest(ROOT / "data" / "manifest.yaml").samples]
    out = installed.motionbench("validate")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ok {shipped / 'manifest.yaml'}: 19 samples in 4 categories"


def test_add_refuses_to_edit_the_installed_manifest(installed) -> None:
    shipped = installed.site / "motionbench" / "data" / "manifest.yaml"
    before = hashlib.sha256(shipped.read_bytes()).hexdigest()
    out = installed.motionbench("add", "clip.mp4", "--category", "camera", "--prompt", "a red kite")
    assert out.returncode == 2
    assert "shipped inside the installed MotionBench package" in out.stderr and "--manifest my-bench.yaml" in out.stderr
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == before


def test_run_and_report_with_the_published_numbers_from_an_empty_folder(installed) -> None:
    out = installed.motionbench("run", "--method", "static", "--sample", "camera-tilt", "--num-frames", "9",
                                "--size", "32x32", "--metric", "motion_fidelity/matched", "--tracker", "lk",
                                "--grid", "8", "--device", "cpu", "--out", "run")
    assert out.returncode == 0, out.stdout + out.stderr
    run = installed.work / "run"
    records = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    assert [(r["sample"], r["status"]) for r in records] == [("camera-tilt", "ok")] * 2  # its 2 prompts
    info = json.loads((run / "run.json").read_text())
    assert info["settings"]["manifest"] == str(installed.site / "motionbench" / "data" / "manifest.yaml")
    assert info["git"]["commit"] is None  # not the commit of the repository the environment sits in
    out = installed.motionbench("report", "run", "--with-reported")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"static\*\s+1\s+0\.0", out.stdout), out.stdout
    assert "FYM w/o sparse sampling ‡" in out.stdout and "arXiv:2506.05207" in out.stdout


def test_doctor_rows_show_version_git_and_package_data(installed) -> None:
    # The rows `motionbench doctor` starts with (the command itself also probes torch: slow, tested in the checkout).
    out = installed.run(str(installed.python), "-c", "import json; from motionbench.cli.metrics import "
                        "installation_rows; print(json.dumps(installation_rows()))")
    assert out.returncode == 0, out.stderr
    rows = {name: (status, detail) for name, status, detail in json.loads(out.stdout)}
    data = installed.site / "motionbench" / "data"
    assert rows["MotionBench"] == ("info", f"0.1.0, installed package at {installed.site / 'motionbench'}")
    assert rows["git commit"] == ("info", "none: an installed package, not a git checkout")
    assert rows["package data"] == ("ok", f"{data} (manifests: {', '.join(SHIPPED)}; --manifest NAME picks one)")
    assert rows["published numbers"] == ("ok", f"{data / 'reported'} (1 file(s))")


def test_doctor_in_the_checkout_names_its_commit_and_data() -> None:
    from motionbench.cli.metrics import installation_rows

    rows = {name: (status, detail) for name, status, detail in installation_rows()}
    assert rows["MotionBench"][1].startswith(f"0.1.0, source checkout at {ROOT / 'motionbench'}")
    assert rows["package data"] == ("ok", f"{ROOT / 'data'} (manifests: {', '.join(SHIPPED)}; --manifest NAME picks one)")
    commit = git_state().commit
    if commit:
        assert rows["git commit"][1].startswith(f"{commit[:12]}") and rows["git commit"][1].endswith(f"in {ROOT}")


def test_projects_named_fym_and_baselines_install_beside_it(installed) -> None:
    probe = installed.run(str(installed.python), "-c", "\n".join([
        "import json; from importlib import metadata",
        "import baselines, fym, motionbench_baselines.plugins, motionbench_fym.plugin",
        "from motionbench.methods.registry import METHODS",
        "print(fym.OWNER); print(baselines.OWNER)",
        "print(METHODS.describe('fym').summary); print(METHODS.describe('ditflow').summary)",
        "print(json.dumps({d: sorted({str(f).split('/')[0] for f in metadata.files(d)}) "
        "for d in ('motionbench', 'fym', 'baselines')}))"]))
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.splitlines()
    assert lines[:2] == ["the other fym project", "the other baselines project"]
    assert lines[2].startswith("Follow-Your-Motion") and lines[3].startswith("DiTFlow")
    tops = {dist: set(folders) for dist, folders in json.loads(lines[4]).items()}
    # No installed file is shared, so uninstalling either project leaves MotionBench whole (and the reverse).
    assert tops["motionbench"] & (tops["fym"] | tops["baselines"]) == set(), tops
    assert tops["fym"] == {"fym", "fym-9.9.dist-info"} and "motionbench_fym" in tops["motionbench"]


def test_the_toy_worlds_weights_and_cards_are_found_in_the_installed_package(installed) -> None:
    out = installed.run(str(installed.python), "-c", "from motionbench.toy.assets import toy_clip_folder, "
                        "toy_t2v_folder; print(toy_t2v_folder()); print(toy_clip_folder())")
    assert out.returncode == 0, out.stderr
    toy = installed.site / "motionbench" / "assets" / "toy"
    assert out.stdout.split() == [str(toy / "wan"), str(toy / "clip")]
    for path, stand_in in STAND_IN_ASSETS.items():  # byte for byte: the checkout's own file, else the stand-in
        assert (installed.site / path).read_bytes() == ((ROOT / path).read_bytes() if (ROOT / path).exists() else stand_in)


def test_a_source_tree_on_the_path_reads_its_own_data(installed) -> None:
    """Without installing the checkout (its folder on PYTHONPATH, as on the GPU machine) data/ serves."""
    env = {**installed.env, "PYTHONPATH": str(ROOT)}
    out = installed.run(str(installed.python), "-m", "motionbench", "ls", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["manifest"] == str(ROOT / "data" / "manifest.yaml")
    probe = installed.run(str(installed.python), "-c", "from motionbench.package_data import reported_folder; "
                          "print(reported_folder())", env=env)
    assert probe.stdout.strip() == str(ROOT / "results" / "reported"), probe.stderr
