"""Where model weights come from: explicit paths, caches, and (only when allowed) downloads.

A model is named by an id (``clip:ViT-B-32-quickgelu:openai``, ``cotracker3_offline``, ``wan:...``).
:func:`locate` turns an id into a :class:`Located` file: an explicit path first, then the caches
the upstream tools use, then MotionBench's own cache. It never touches the network. :func:`fetch`
downloads, with a progress bar and a sha256 check, and only when the network is allowed: by the
``motionbench download`` command or ``MOTIONBENCH_ALLOW_DOWNLOAD=1``.

Every located file carries its sha256, which becomes part of the metric's backend id, so numbers
computed with different weights are never mixed silently. Hashes of large files are remembered in
``$MOTIONBENCH_CACHE/sha256.json`` (keyed by path, size and mtime) so they are computed once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from motionbench.errors import WeightsError

ALLOW_ENV = "MOTIONBENCH_ALLOW_DOWNLOAD"
HOME_ENV = "MOTIONBENCH_CACHE"  # the project-wide cache (also holds synthetic clips)
COTRACKER_REPO_ENV = "MOTIONBENCH_COTRACKER_REPO"
COTRACKER_HUB_REPO = "facebookresearch/co-tracker"
COTRACKER_ENTRY = "cotracker3_offline"
COTRACKER_URL = "https://huggingface.co/facebook/cotracker3/resolve/main/scaled_offline.pth"
COTRACKER_FILE = "scaled_offline.pth"
WAN_DEFAULT = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"


class WeightsMissing(WeightsError):
    """Weights that exist upstream are not on this machine; the message has the fixing command."""


@dataclass(frozen=True)
class Source:
    """Where a model's weights can be downloaded from, and how to check them."""

    id: str
    url: str
    filename: str
    sha256: str | None  # None: no published checksum; the computed hash is still recorded
    command: str  # the command that fetches it, for error messages


@dataclass(frozen=True)
class Located:
    """A weight file found on disk."""

    id: str
    path: Path
    origin: str  # "explicit path", "MotionBench cache", "torch hub cache", ...

    @property
    def sha256(self) -> str:
        return file_sha256(self.path)


def home() -> Path:
    """MotionBench's own cache directory (``$MOTIONBENCH_CACHE`` or ``~/.cache/motionbench``)."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "motionbench"


def network_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "") == "1"


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, mtime) so large files are hashed once."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    memo_file = home() / "sha256.json"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    memo[key] = digest
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_file.with_name(f".sha256.{os.getpid()}.json")
        tmp.write_text(json.dumps(memo, indent=0))
        os.replace(tmp, memo_file)
    except OSError:
        pass  # a read-only home only costs re-hashing next time
    return digest


# ---------------------------------------------------------------------------------------------
# CLIP


def parse_clip_spec(spec: str) -> tuple[str, str]:
    """Split ``ARCH:WEIGHTS`` (a pretrained tag, a file path, or ``random``).

    Raises:
        WeightsError: not of the form ``ARCH:WEIGHTS``.
    """
    arch, sep, weights = spec.partition(":")
    if not sep or not arch or not weights:
        raise WeightsError(f"CLIP model {spec!r} must be ARCH:WEIGHTS, e.g. ViT-B-32-quickgelu:openai, "
                           "ViT-L-14-quickgelu:openai or ViT-B-32-quickgelu:/path/to/weights.pt")
    return arch, weights


def is_weight_path(weights: str) -> bool:
    return weights.endswith((".pt", ".pth", ".bin", ".safetensors")) or "/" in weights or os.sep in weights


def clip_source(arch: str, tag: str) -> Source:
    """The download source of an open_clip pretrained tag (OpenAI URLs carry their sha256)."""
    from open_clip import pretrained as oc_pretrained

    cfg = oc_pretrained.get_pretrained_cfg(arch, tag)
    if not cfg:
        known = ", ".join(oc_pretrained.list_pretrained_tags_by_model(arch)) or "none (unknown architecture?)"
        raise WeightsError(f"CLIP model {arch}:{tag}: open_clip has no pretrained weights {tag!r} for {arch!r}; "
                           f"known tags: {known}. Or give a file: {arch}:/path/to/weights.pt")
    url = cfg.get("url") or ""
    if url:
        m = re.search(r"/([0-9a-f]{64})/", url)
        return Source(f"clip:{arch}:{tag}", url, url.rsplit("/", 1)[-1], m.group(1) if m else None,
                      _clip_command(arch, tag))
    hub = cfg.get("hf_hub", "").rstrip("/")
    if not hub:
        raise WeightsError(f"CLIP model {arch}:{tag}: open_clip lists no download location")
    name = "open_clip_pytorch_model.bin"
    return Source(f"clip:{arch}:{tag}", f"https://huggingface.co/{hub}/resolve/main/{name}", name, None,
                  _clip_command(arch, tag))


def _clip_command(arch: str, tag: str) -> str:
    default = arch == "ViT-B-32-quickgelu" and tag == "openai"
    return "motionbench download clip" if default else f"motionbench download clip --clip {arch}:{tag}"


def locate_clip(arch: str, weights: str) -> Located:
    """Find CLIP weights on disk without the network.

    Search order: an explicit file (``weights`` is a path), MotionBench's cache
    (``<home>/weights/clip/<arch>/<tag>/``), the Hugging Face hub cache open_clip downloads into, and
    open_clip's URL cache (``~/.cache/clip``).

    Raises:
        WeightsError: not found; the message gives the command that fetches them.
    """
    if is_weight_path(weights):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsError(f"CLIP weights file {path} not found; give an existing .pt/.bin/.safetensors file")
        return Located(f"clip:{arch}:{path.name}", path, "explicit path")
    src = clip_source(arch, weights)
    ours = home() / "weights" / "clip" / arch / weights / src.filename
    if ours.is_file():
        return Located(src.id, ours, "MotionBench cache")
    from open_clip import pretrained as oc_pretrained

    hub = (oc_pretrained.get_pretrained_cfg(arch, weights).get("hf_hub") or "").rstrip("/")
    if hub:
        try:
            from huggingface_hub import try_to_load_from_cache

            for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
                hit = try_to_load_from_cache(hub, name)
                if isinstance(hit, str) and Path(hit).is_file():
                    return Located(src.id, Path(hit), "Hugging Face hub cache")
        except ImportError:
            pass
    legacy = Path.home() / ".cache" / "clip" / src.filename
    if legacy.is_file():
        return Located(src.id, legacy, "open_clip cache (~/.cache/clip)")
    raise WeightsMissing(f"CLIP weights {arch}:{weights} are not on this machine; run `{src.command}` "
                       f"(or pass --clip {arch}:/path/to/weights.pt)")


def fetch_clip(arch: str, tag: str, *, allow: bool | None = None) -> Located:
    """Locate CLIP weights, downloading them into MotionBench's cache if allowed."""
    try:
        return locate_clip(arch, tag)
    except WeightsMissing:
        pass
    src = clip_source(arch, tag)
    dest = home() / "weights" / "clip" / arch / tag / src.filename
    download(src, dest, allow=allow)
    return Located(src.id, dest, "MotionBench cache")


# ---------------------------------------------------------------------------------------------
# CoTracker


def torch_hub_dir() -> Path:
    """torch.hub's directory (``$TORCH_HOME/hub``), computed without importing torch."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        torch_home = os.path.join(xdg, "torch")
    return Path(torch_home).expanduser() / "hub"


COTRACKER_SOURCE = Source(COTRACKER_ENTRY, COTRACKER_URL, COTRACKER_FILE, None, "motionbench download cotracker")


def locate_cotracker_checkpoint(checkpoint: str | Path | None = None) -> Located:
    """The CoTracker3 offline checkpoint: an explicit path, else the torch hub cache.

    Raises:
        WeightsError: not found, with the fixing command.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise WeightsError(f"CoTracker checkpoint {path} not found; give an existing scaled_offline.pth")
        return Located(COTRACKER_ENTRY, path, "explicit path")
    cached = torch_hub_dir() / "checkpoints" / COTRACKER_FILE
    if cached.is_file():
        return Located(COTRACKER_ENTRY, cached, "torch hub cache")
    raise WeightsMissing(f"CoTracker3 weights ({COTRACKER_FILE}) are not on this machine (looked in {cached}); "
                       f"run `{COTRACKER_SOURCE.command}` or pass --tracker-checkpoint PATH")


def locate_cotracker_repo(repo: str | Path | None = None) -> Located:
    """A local co-tracker checkout: explicit, ``$MOTIONBENCH_COTRACKER_REPO``, or torch hub's cache.

    Raises:
        WeightsError: none found.
    """
    candidates: list[tuple[Path, str]] = []
    if repo is not None:
        candidates.append((Path(repo).expanduser(), "explicit path"))
    elif os.environ.get(COTRACKER_REPO_ENV):
        candidates.append((Path(os.environ[COTRACKER_REPO_ENV]).expanduser(), f"${COTRACKER_REPO_ENV}"))
    else:
        hub = torch_hub_dir()
        candidates += [(p, "torch hub cache") for p in sorted(hub.glob("facebookresearch_co-tracker_*"))]
    for path, origin in candidates:
        if (path / "hubconf.py").is_file():
            return Located("co-tracker", path, origin)
    if repo is not None or os.environ.get(COTRACKER_REPO_ENV):
        raise WeightsError(f"co-tracker checkout {candidates[0][0]} has no hubconf.py; point it at a clone of "
                           f"https://github.com/{COTRACKER_HUB_REPO}")
    raise WeightsMissing(f"the co-tracker code is not on this machine (torch hub cache {torch_hub_dir()}); run "
                       f"`{COTRACKER_SOURCE.command}` or pass --tracker-repo DIR (a clone of github.com/{COTRACKER_HUB_REPO})")


def fetch_cotracker(*, allow: bool | None = None) -> tuple[Located, Located]:
    """Make the co-tracker code and checkpoint available in torch hub's cache (network if allowed)."""
    _require_network(allow, "the co-tracker code", COTRACKER_SOURCE.command)
    try:
        repo = locate_cotracker_repo()
    except WeightsMissing:
        import torch

        try:
            torch.hub.load(COTRACKER_HUB_REPO, COTRACKER_ENTRY, pretrained=False, trust_repo=True, skip_validation=True)
        except Exception as exc:  # network and hub failures come in many types
            raise WeightsError(f"could not fetch github.com/{COTRACKER_HUB_REPO} through torch.hub "
                               f"({type(exc).__name__}: {exc}); check the network, or clone it and pass --tracker-repo DIR") from None
        repo = locate_cotracker_repo()
    try:
        ckpt = locate_cotracker_checkpoint()
    except WeightsMissing:
        dest = torch_hub_dir() / "checkpoints" / COTRACKER_FILE
        download(COTRACKER_SOURCE, dest, allow=allow)
        ckpt = Located(COTRACKER_ENTRY, dest, "torch hub cache")
    return repo, ckpt


# ---------------------------------------------------------------------------------------------
# Wan


def locate_wan(model: str = WAN_DEFAULT) -> Located:
    """A Wan diffusers folder: a local directory, or the Hugging Face hub cache snapshot.

    Raises:
        WeightsError: not found.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise WeightsError(f"{path} is not a diffusers folder (no model_index.json)")
        return Located(f"wan:{path.name}", path, "explicit path")
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model, "model_index.json")
    except ImportError:
        hit = None
    if isinstance(hit, str):
        return Located(f"wan:{model}", Path(hit).parent, "Hugging Face hub cache")
    raise WeightsMissing(f"Wan weights {model} are not on this machine; download them with "
                       f"`huggingface-cli download {model}` or pass a local diffusers folder")


# ---------------------------------------------------------------------------------------------
# Downloading


def _require_network(allow: bool | None, what: str, command: str) -> None:
    if allow is None:
        allow = network_allowed()
    if not allow:
        raise WeightsError(f"{what} would have to be downloaded, and the network is not allowed here; "
                           f"run `{command}` or set {ALLOW_ENV}=1")


def download(source: Source, dest: Path, *, allow: bool | None = None, timeout: float = 30.0) -> Path:
    """Download ``source`` to ``dest`` atomically with a progress bar and sha256 check.

    Raises:
        WeightsError: the network is not allowed, the download fails, or the checksum differs.
    """
    _require_network(allow, f"{source.id} ({source.url})", source.command)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(source.url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                          TransferSpeedColumn(), transient=False) as bar:
                task = bar.add_task(f"{source.id}", total=total)
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    h.update(block)
                    bar.advance(task, len(block))
        digest = h.hexdigest()
        if source.sha256 and digest != source.sha256:
            raise WeightsError(f"{source.url}: downloaded file has sha256 {digest}, expected {source.sha256}; "
                               "the file is corrupt or has changed upstream. Nothing was saved; try again")
        os.replace(tmp, dest)
    except WeightsError:
        raise
    except Exception as exc:  # urllib raises URLError, HTTPError, socket errors, timeouts...
        raise WeightsError(f"could not download {source.url} ({type(exc).__name__}: {exc}); check the network, "
                           f"or download it by hand and place it at {dest}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest
