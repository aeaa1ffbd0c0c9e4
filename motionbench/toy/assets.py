"""Where the toy world's trained models live: package data under ``motionbench/assets/toy/``.

* ``wan/``: the toy text-to-video model in the diffusers pipeline layout (``transformer/``, ``vae/``,
  ``text_encoder/``, ``tokenizer/``) with ``README.md`` (the model card, also beside each weights subfolder), ``training.json`` and ``loss.png``;
* ``vace/``: the toy inpainting model of the recapture task (a Wan2.1 VACE; :mod:`motionbench.toy.inpaint`), same layout and card;
* ``clip/``: the toy CLIP (an open_clip architecture) with its card.

They are found through :mod:`importlib.resources` (:mod:`motionbench.package_data`), so they work
from a wheel as from a checkout; the wheel holds whatever ``motionbench/assets/`` holds when it is built.
"""

from __future__ import annotations

from pathlib import Path

from motionbench.errors import WeightsError
from motionbench.package_data import asset_path

RETRAIN_HINT = ("the shipped toy weights are missing from this installation; retrain them with "
                "`motionbench toy data` then `motionbench toy train` and `motionbench toy export`")


def _asset(*parts: str) -> Path:
    return asset_path("toy", *parts)


def toy_t2v_folder() -> Path:
    """The shipped toy T2V model folder.

    Raises:
        WeightsError: the folder is not there (with how to rebuild it).
    """
    folder = _asset("wan")
    if not (folder / "transformer" / "config.json").is_file():
        raise WeightsError(f"{folder}: {RETRAIN_HINT}")
    return folder


def toy_vace_folder() -> Path:
    """The shipped toy inpainting (VACE) model folder.

    Raises:
        WeightsError: the folder is not there (with how to rebuild it).
    """
    folder = _asset("vace")
    if not (folder / "transformer" / "config.json").is_file():
        raise WeightsError(f"{folder}: the shipped toy inpainting model is missing from this installation; retrain it "
                           "with `motionbench toy data --task recapture`, `motionbench toy train --task recapture` "
                           "and `motionbench toy export`")
    return folder


def toy_clip_folder() -> Path:
    """The shipped toy CLIP folder (``config.json``, ``model.safetensors``, card)."""
    folder = _asset("clip")
    if not (folder / "model.safetensors").is_file():
        raise WeightsError(f"{folder}: the shipped toy CLIP is missing from this installation; retrain it with "
                           "`motionbench toy data` then `motionbench toy train-clip`")
    return folder
