"""Prepare what ``benchmarks/device_check.py`` needs on the GPU machine, and print the command to run it.

The GPU machine lent to this project has PyTorch, transformers, peft, typer, rich, pandas, OpenCV
and many more (:data:`DEVICE_IMAGE`), but not diffusers, open_clip or PyAV, and it cannot download.
What it lacks travels with the working tree (64 MiB in all), in folders git ignores:

* ``.whl/``: the missing wheels for manylinux x86-64 / CPython 3.12 at the versions
  ``constraints.txt`` pins (:data:`CARRIED`, downloaded with ``pip download --no-deps``, so each
  missing dependency is named here and checked against the image), plus MotionBench's own wheel,
  whose entry points register the methods;
* ``.cotracker/``: with ``--cotracker DIR``, the code of a co-tracker checkout (``hubconf.py``,
  ``cotracker/``, the licence; a work tree or a bare git folder), so CoTracker3 runs there with
  its real architecture (the 100 MB checkpoint does not fit; random weights).

Then it lists what would travel with sizes against the limit, and prints the device tool's
``carry`` list and the one-line command that installs the wheels there and runs the check.

    python benchmarks/prepare_device.py --dry-run            # what would travel; changes nothing
    python benchmarks/prepare_device.py                       # download + build, then the same list
    python benchmarks/prepare_device.py --cotracker ~/co-tracker
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHEEL_DIR = ".whl"
COTRACKER_DIR = ".cotracker"
LIMIT_BYTES = 64 * 2**20  # the working tree that travels, carried folders included
MIB = 2**20
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
COTRACKER_FILES = ("hubconf.py", "cotracker", "LICENSE.md")

#: Distributions the GPU image lacks that the check needs, and why (versions from constraints.txt).
CARRIED: dict[str, str] = {
    "diffusers": "Wan2.1 transformer, VAE and schedulers",
    "open_clip_torch": "CLIP metrics",
    "ftfy": "open_clip's tokenizer",
    "wcwidth": "ftfy",
    "av": "PyAV: writing mp4 (and reading it when decord is absent)",
    "importlib_metadata": "diffusers",
    "lazy-importer": "importlib_metadata",
    "ruamel.yaml": "motionbench add (manifest editing)",
}
#: Requirements left out on purpose.
NOT_CARRIED: dict[str, str] = {
    "decord": "optional: reading falls back to PyAV (saves 14 MB)",
    "ray": "only for --executor ray",
}
#: The GPU image's Python packages (the device library's list, as read on 2026-11-17).
DEVICE_IMAGE = frozenset(re.split(r"[,\s]+", """
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft
pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image
scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".strip()))
#: Markers of the GPU machine, for evaluating Requires-Dist lines.
DEVICE_MARKERS = {"python_version": PYTHON_VERSION, "python_full_version": "3.12.3", "sys_platform": "linux",
                  "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
                  "implementation_name": "cpython", "platform_python_implementation": "CPython",
                  "platform_release": "", "platform_version": "", "implementation_version": "3.12.3", "extra": ""}


def normalise(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_versions(constraints: Path, names: list[str]) -> dict[str, str]:
    """``name -> version`` for ``names`` from a pip constraints file.

    Raises:
        SystemExit: a name has no ``name==version`` line (the message names it and the file).
    """
    pins = {}
    for line in constraints.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if m:
            pins[normalise(m.group(1))] = m.group(2)
    missing = [n for n in names if normalise(n) not in pins]
    if missing:
        raise SystemExit(f"{constraints}: no 'name==version' line for {', '.join(missing)}; pin them there first")
    return {n: pins[normalise(n)] for n in names}


def wheel_name(filename: str) -> tuple[str, str]:
    """(normalised distribution, version) of a wheel file name."""
    parts = filename.split("-")
    return normalise(parts[0]), parts[1]


def wheel_requirements(path: Path) -> list[str]:
    """Distribution names a wheel requires on the GPU machine (markers evaluated there, extras left out)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip carries its own copy
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]

    with zipfile.ZipFile(path) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(meta).decode("utf-8", "replace")
    names = []
    for line in text.splitlines():
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is None or req.marker.evaluate(DEVICE_MARKERS):
                names.append(normalise(req.name))
    return names


def unmet_requirements(wheel_dir: Path) -> dict[str, list[str]]:
    """``wheel file -> requirements`` that neither the GPU image nor another carried wheel provides."""
    wheels = sorted(wheel_dir.glob("*.whl"))
    carried = {wheel_name(w.name)[0] for w in wheels}
    ok = DEVICE_IMAGE | carried | {normalise(n) for n in NOT_CARRIED}
    out = {}
    for w in wheels:
        missing = sorted({r for r in wheel_requirements(w) if r not in ok})
        if missing:
            out[w.name] = missing
    return out


def tree_files(repo: Path) -> list[Path]:
    """What travels of the checkout: tracked files and untracked ones git does not ignore."""
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    paths = [repo / p for p in out.decode().split("\0") if p]
    return [p for p in paths if p.is_file() and not p.is_symlink()]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def is_ignored(repo: Path, relative: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", relative + "/"]).returncode == 0


@dataclass
class Plan:
    """What would travel to the GPU machine."""

    tree_files: int
    tree_bytes: int
    wheels: list[tuple[str, int]]  # (file, bytes) present in .whl/
    wheels_missing: list[str]  # name==version not downloaded yet
    cotracker_bytes: int | None  # None: no .cotracker/
    limit: int = LIMIT_BYTES

    @property
    def total(self) -> int:
        return self.tree_bytes + sum(b for _, b in self.wheels) + (self.cotracker_bytes or 0)

    @property
    def carry(self) -> list[str]:
        return [WHEEL_DIR] + ([COTRACKER_DIR] if self.cotracker_bytes is not None else [])

    def describe(self) -> str:
        lines = [f"What travels to the GPU machine (limit {self.limit / MIB:.0f} MiB):",
                 f"  working tree: {self.tree_files} files, {self.tree_bytes / MIB:.2f} MiB "
                 "(tracked + untracked files git does not ignore)"]
        lines.append(f"  {WHEEL_DIR}/: {len(self.wheels)} wheels, {sum(b for _, b in self.wheels) / MIB:.2f} MiB")
        lines += [f"    {name:70s} {size / MIB:7.2f} MiB" for name, size in self.wheels]
        lines += [f"    {name:70s} not downloaded yet (size known after the download)" for name in self.wheels_missing]
        if self.cotracker_bytes is None:
            lines.append(f"  {COTRACKER_DIR}/: absent (pass --cotracker DIR to take a co-tracker checkout's code)")
        else:
            lines.append(f"  {COTRACKER_DIR}/: {self.cotracker_bytes / MIB:.2f} MiB (co-tracker code, random weights)")
        verdict = "within the limit" if self.total <= self.limit else "OVER THE LIMIT"
        known = " (of what is here so far)" if self.wheels_missing else ""
        lines.append(f"  total: {self.total / MIB:.2f} MiB of {self.limit / MIB:.0f} MiB{known}: {verdict}")
        return "\n".join(lines)


def plan(repo: Path, pins: dict[str, str], limit: int = LIMIT_BYTES) -> Plan:
    files = tree_files(repo)
    wheel_dir, ct = repo / WHEEL_DIR, repo / COTRACKER_DIR
    wheels = sorted((w.name, w.stat().st_size) for w in wheel_dir.glob("*.whl")) if wheel_dir.is_dir() else []
    have = {wheel_name(name) for name, _ in wheels}
    wanted = {**pins, "motionbench": None}
    missing = [f"{n}=={v}" if v else f"{n} (built from this checkout)" for n, v in wanted.items()
               if not any(d == normalise(n) and (v is None or ver == v) for d, ver in have)]
    return Plan(tree_files=len(files), tree_bytes=sum(p.stat().st_size for p in files), wheels=wheels,
                wheels_missing=missing, cotracker_bytes=folder_bytes(ct) if ct.is_dir() else None, limit=limit)


def download(pins: dict[str, str], wheel_dir: Path) -> None:
    """``pip download`` each pinned wheel for the GPU machine; drop other versions of the same names."""
    wheel_dir.mkdir(exist_ok=True)
    wanted = {normalise(n): v for n, v in pins.items()}
    for w in wheel_dir.glob("*.whl"):
        name, version = wheel_name(w.name)
        if name in wanted and version != wanted[name]:
            print(f"removing {w.name} (pinned {wanted[name]}; two versions would stop the install)")
            w.unlink()
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version",
            PYTHON_VERSION, "--implementation", "cp", "--disable-pip-version-check", "-q", "-d", str(wheel_dir)]
    for platform in PLATFORMS:
        argv += ["--platform", platform]
    argv += [f"{n}=={v}" for n, v in pins.items()]
    print("$ " + " ".join(argv[1:]), flush=True)
    subprocess.run(argv, check=True)


def build_motionbench_wheel(repo: Path, wheel_dir: Path, extra: Mapping[str, bytes] | None = None) -> Path:
    """MotionBench's wheel (code, entry points, package data) from the files that travel, built outside the checkout.

    ``extra`` (repository-relative path -> bytes) adds files to the copy that is built, not to the
    checkout: tests use it for package data the checkout does not hold yet (the toy world's weights).
    """
    for old in wheel_dir.glob("motionbench-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="motionbench-wheel-") as tmp:
        src = Path(tmp) / "src"
        for path in tree_files(repo):
            dest = src / path.relative_to(repo)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        for relative, content in (extra or {}).items():
            dest = src / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "--disable-pip-version-check", "-w", str(wheel_dir), str(src)], check=True)
    built = sorted(wheel_dir.glob("motionbench-*.whl"))
    if not built:
        raise SystemExit("pip wheel built no motionbench wheel")
    return built[-1]


def copy_cotracker(source: Path, dest: Path) -> None:
    """Copy a co-tracker checkout's code (:data:`COTRACKER_FILES`) from a work tree or a (bare) git folder.

    Raises:
        SystemExit: ``source`` is neither, saying what was expected.
    """
    source = source.expanduser()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if (source / "hubconf.py").is_file():
        for name in COTRACKER_FILES:
            src = source / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif src.is_file():
                shutil.copy2(src, dest / name)
        return
    present = [name for name in COTRACKER_FILES
               if subprocess.run(["git", "--git-dir", str(source), "cat-file", "-e", f"HEAD:{name}"],
                                 capture_output=True).returncode == 0]
    archive = subprocess.run(["git", "--git-dir", str(source), "archive", "--format=tar", "HEAD", *present],
                             capture_output=True)
    if "hubconf.py" not in present or archive.returncode != 0:
        shutil.rmtree(dest)
        raise SystemExit(f"{source}: neither a co-tracker work tree (no hubconf.py) nor a git folder holding one "
                         f"({archive.stderr.decode().strip()[:200]}); clone github.com/facebookresearch/co-tracker")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


def device_command(repo: Path, limit_s: int = 600) -> str:
    """The one line the device tool runs: install the carried wheels, then the check (results to $OUT)."""
    from motionbench.run.env import git_state

    git = git_state(repo)
    stamp = f"MOTIONBENCH_GIT_COMMIT={git.commit} " if git.commit else ""
    if git.dirty:
        stamp += "MOTIONBENCH_GIT_DIRTY=1 "
    return ("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "
            f"{WHEEL_DIR}/*.whl && export PYTHONPATH=/tmp/site || exit; {stamp}PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 "
            'python3 benchmarks/device_check.py --copy-to "$OUT"')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dry-run", action="store_true", help="list what would travel and its size; change nothing")
    p.add_argument("--cotracker", type=Path, default=None, help="a co-tracker checkout (work tree or git folder)")
    p.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    p.add_argument("--limit-mib", type=float, default=LIMIT_BYTES / MIB, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    repo = args.repo.resolve()
    sys.path.insert(0, str(REPO))
    for folder in (WHEEL_DIR, COTRACKER_DIR):
        if not is_ignored(repo, folder):
            print(f"{repo / folder} is not ignored by git: add '/{folder}/' to .gitignore so it is never committed",
                  file=sys.stderr)
            return 2
    pins = pinned_versions(repo / "constraints.txt", list(CARRIED))
    if not args.dry_run:
        download(pins, repo / WHEEL_DIR)
        print(f"built {build_motionbench_wheel(repo, repo / WHEEL_DIR).name}", flush=True)
        if args.cotracker is not None:
            copy_cotracker(args.cotracker, repo / COTRACKER_DIR)
            print(f"copied co-tracker code from {args.cotracker} into {COTRACKER_DIR}/", flush=True)
    elif args.cotracker is not None:
        print(f"(dry run: would copy {', '.join(COTRACKER_FILES)} from {args.cotracker} into {COTRACKER_DIR}/)")
    result = plan(repo, pins, limit=int(args.limit_mib * MIB))
    print(result.describe())
    unmet = unmet_requirements(repo / WHEEL_DIR) if (repo / WHEEL_DIR).is_dir() else {}
    for wheel, names in unmet.items():
        print(f"  {wheel} needs {', '.join(names)}: neither on the GPU image nor carried", file=sys.stderr)
    command = device_command(repo)
    print()
    print(f"device tool: run with carry={result.carry!r}, timeout_s=600, command ({len(command)} characters):")
    print(command)
    print("then copy the returned <date>-<device>.json and .md into benchmarks/results/ and commit them "
          "(the .log stays out of git)")
    if result.total > result.limit:
        print(f"too much to travel: {result.total / MIB:.2f} MiB > {result.limit / MIB:.0f} MiB", file=sys.stderr)
        return 1
    return 1 if unmet or (result.wheels_missing and not args.dry_run) else 0


if __name__ == "__main__":
    raise SystemExit(main())
