"""Where the files MotionBench ships live, and which copy of MotionBench is running.

What the program reads at run time besides its code is package data, found through
:mod:`importlib.resources`, so an installed wheel finds it exactly as a checkout does:

* ``motionbench.data`` (the repository's ``data/``): the manifests, ``manifest.yaml`` (the default
  benchmark) and ``toy.yaml`` (the toy world);
* ``motionbench.data.reported`` (the repository's ``results/reported/``): published numbers;
* ``motionbench/assets/``: the toy world's trained weights and model cards (:mod:`motionbench.toy.assets`).

setup.py maps the repository's folders to these packages. A path the user gives always wins over
them; a bare name such as ``--manifest toy`` names a shipped manifest (a file of that name wins).

A source tree used without being installed (its folder on ``PYTHONPATH``, as on the GPU machine)
has no ``motionbench.data`` package; its ``data/`` beside the ``motionbench/`` folder serves instead.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import motionbench
from motionbench.errors import MotionBenchError

DATA_PACKAGE = "motionbench.data"
REPORTED_PACKAGE = "motionbench.data.reported"
MANIFEST_SUFFIX = ".yaml"


def _folder(package: str, source_folder: str) -> Path:
    """The folder of a data package; ``source_folder`` (relative to the source tree) when not installed."""
    try:
        where = resources.files(package)
    except ModuleNotFoundError:
        where = resources.files("motionbench").joinpath("..", source_folder)
    if not isinstance(where, Path):  # a zip import: the data would need extracting first
        raise MotionBenchError(f"MotionBench's package data is inside {where}; install MotionBench unpacked "
                               "(pip install, not a zipped site-packages)")
    return where.resolve()


def package_folder() -> Path:
    """The folder of the ``motionbench`` package that is running."""
    return Path(str(resources.files("motionbench"))).resolve()


def data_folder() -> Path:
    """The shipped manifests' folder (``data/`` in the repository, ``motionbench/data/`` installed)."""
    return _folder(DATA_PACKAGE, "data")


def reported_folder() -> Path:
    """The shipped published numbers' folder (``results/reported/`` in the repository)."""
    return _folder(REPORTED_PACKAGE, "results/reported")


def asset_path(*parts: str) -> Path:
    """A path under the shipped assets (``motionbench/assets/...``); it may not exist."""
    return package_folder().joinpath("assets", *parts)


DEFAULT_MANIFEST = data_folder() / "manifest.yaml"
TOY_MANIFEST = data_folder() / "toy.yaml"


def shipped_manifests() -> dict[str, Path]:
    """``name -> path`` of every manifest shipped with MotionBench (the name is the file's stem)."""
    return {p.stem: p for p in sorted(data_folder().glob(f"*{MANIFEST_SUFFIX}"))}


def resolve_manifest(path: Path | str | None) -> Path:
    """The manifest file a user's ``--manifest`` means.

    None is the default benchmark; an existing path is itself; a bare name (no folder, no suffix)
    that is no file here names a shipped manifest (``toy``); anything else is returned as given, so
    that reading it fails naming it.
    """
    if path is None or str(path) == "":
        return DEFAULT_MANIFEST
    given = Path(path).expanduser()
    if given.exists() or given.name != str(path) or given.suffix:
        return given
    return shipped_manifests().get(str(path), given)


def source_checkout() -> Path | None:
    """The repository root MotionBench runs from (an editable install or a source tree), None when installed.

    A checkout has the repository's layout around the package: ``pyproject.toml`` and
    ``data/manifest.yaml`` beside ``motionbench/``; an installed wheel has neither.
    """
    root = package_folder().parent
    if (root / "pyproject.toml").is_file() and (root / "data" / "manifest.yaml").is_file():
        return root
    return None


def checkout_commit(root: Path) -> tuple[str, bool] | None:
    """(commit, dirty) of the git work tree whose top level is ``root``; None if ``root`` is not one.

    The top level must be ``root`` itself: a wheel installed into a virtual environment inside some
    other project's repository must not report that project's commit as MotionBench's.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root.resolve():
            return None
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass(frozen=True)
class Installation:
    """Which MotionBench is running and where its files are (``motionbench doctor``, ``--version``)."""

    version: str  # motionbench.__version__
    metadata_version: str | None  # the installed distribution's, None when not installed
    package: Path  # the motionbench package folder
    checkout: Path | None  # the repository root when running from a source checkout
    data: Path  # the shipped manifests' folder
    reported: Path  # the shipped published numbers' folder
    assets: Path  # the shipped assets' folder (may be absent)

    @property
    def kind(self) -> str:
        if self.checkout is None:
            return "installed package"
        return "source checkout" + ("" if self.metadata_version else " (not installed)")


def installation() -> Installation:
    """Describe the running MotionBench; reads no file beyond its own metadata."""
    try:
        installed: str | None = metadata.version("motionbench")
    except metadata.PackageNotFoundError:
        installed = None
    return Installation(version=motionbench.__version__, metadata_version=installed, package=package_folder(),
                        checkout=source_checkout(), data=data_folder(), reported=reported_folder(),
                        assets=asset_path())
