"""The toy world's appearance vocabulary, its captions, and the split held out from model training.

A caption names appearance only (colours, shapes, background, the scene's pattern), never motion:
in a model tuned on a reference clip, motion can only come from the reference. Captions follow one
fixed grammar per category, so a caption parses back into the look it names
(:func:`parse_caption`): that is how the toy metrics know which colour a prompt asks for, and how
the ideal output of a transfer (the reference's motion in the prompt's look) can be rendered.

Grammar::

    single_object  a {colour} {shape} on a {background} background
    multi_object   a {colour} {shape} and a {colour} {shape} on a {background} background
    human          a {colour} stick figure on a {background} background
                   ("an" before a vowel: "an orange square")
    camera         {colour} and {colour} checks        (pattern "checks")
                   {colour} dots on {colour}           (pattern "dots")

Held out from training (never rendered into the training set, used by ``data/toy.yaml`` prompts
and by the held-out quality figures): the (colour, shape) pairs of :data:`HELD_OUT_OBJECTS` for any
object, the stick-figure colours of :data:`HELD_OUT_FIGURES`, and the unordered colour pairs of
:data:`HELD_OUT_SCENES` for camera scenes. Every word still occurs in training, so a held-out
caption tests composition, not new words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from motionbench.errors import ConfigError

#: Object and scene colours (RGB, 0-255); chosen far apart so a nearest-colour detector is exact.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (35, 170, 60),
    "blue": (45, 90, 230),
    "yellow": (240, 210, 35),
    "purple": (150, 60, 205),
    "orange": (245, 135, 25),
    "cyan": (35, 205, 215),
    "white": (240, 240, 240),
}
#: Flat backgrounds of the object and figure categories.
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "gray": (118, 118, 118),
    "black": (22, 22, 22),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
PATTERNS: tuple[str, ...] = ("checks", "dots")
CATEGORIES: tuple[str, ...] = ("camera", "single_object", "multi_object", "human")

HELD_OUT_OBJECTS: frozenset[tuple[str, str]] = frozenset({
    ("red", "triangle"), ("green", "square"), ("blue", "circle"), ("yellow", "triangle"),
    ("purple", "circle"), ("orange", "square"), ("cyan", "triangle"), ("white", "circle"),
})
HELD_OUT_FIGURES: frozenset[str] = frozenset({"orange", "cyan"})
HELD_OUT_SCENES: frozenset[frozenset[str]] = frozenset({
    frozenset({"red", "blue"}), frozenset({"green", "yellow"}), frozenset({"purple", "white"}),
    frozenset({"orange", "cyan"}),
})


@dataclass(frozen=True)
class Thing:
    """One coloured shape."""

    colour: str
    shape: str


@dataclass(frozen=True)
class Look:
    """Everything a caption says about a clip.

    ``things`` holds one object (single_object), two (multi_object), or one figure
    (human: shape ``"figure"``). Camera scenes use ``pattern`` and ``colours`` (foreground colour
    first: the checks' first colour, the dots' colour), and no background.
    """

    category: str
    things: tuple[Thing, ...] = ()
    background: str = ""
    pattern: str = ""
    colours: tuple[str, ...] = ()

    def caption(self) -> str:
        return caption(self)

    def colour_names(self) -> tuple[str, ...]:
        """The colours a viewer should see on the moving things (camera: the scene's two colours)."""
        if self.category == "camera":
            return self.colours
        return tuple(t.colour for t in self.things)

    def held_out(self) -> bool:
        """Whether this look is in the held-out split (never in training)."""
        if self.category == "camera":
            return frozenset(self.colours) in HELD_OUT_SCENES
        if self.category == "human":
            return self.things[0].colour in HELD_OUT_FIGURES
        return any((t.colour, t.shape) in HELD_OUT_OBJECTS for t in self.things)

    def validate(self) -> None:
        problems = []
        if self.category not in CATEGORIES:
            problems.append(f"category {self.category!r}; allowed: {', '.join(CATEGORIES)}")
        for c in self.colour_names():
            if c not in COLOURS:
                problems.append(f"colour {c!r}; allowed: {', '.join(COLOURS)}")
        if self.category == "camera":
            if self.pattern not in PATTERNS:
                problems.append(f"pattern {self.pattern!r}; allowed: {', '.join(PATTERNS)}")
            if len(self.colours) != 2 or self.colours[0] == self.colours[1]:
                problems.append(f"a scene needs two different colours, got {self.colours!r}")
        else:
            if self.background not in BACKGROUNDS:
                problems.append(f"background {self.background!r}; allowed: {', '.join(BACKGROUNDS)}")
            want = {"single_object": 1, "multi_object": 2, "human": 1}.get(self.category, 0)
            if len(self.things) != want:
                problems.append(f"{self.category} needs {want} thing(s), got {len(self.things)}")
            for t in self.things:
                allowed = ("figure",) if self.category == "human" else SHAPES
                if t.shape not in allowed:
                    problems.append(f"shape {t.shape!r}; allowed: {', '.join(allowed)}")
        if problems:
            raise ConfigError("toy look: " + "; ".join(problems))


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def caption(look: Look) -> str:
    """The one caption of ``look`` (see the module docstring's grammar)."""
    look.validate()
    if look.category == "camera":
        a, b = look.colours
        return f"{a} and {b} checks" if look.pattern == "checks" else f"{a} dots on {b}"
    if look.category == "human":
        return f"{_a(look.things[0].colour)} stick figure on a {look.background} background"
    things = " and ".join(f"{_a(t.colour)} {t.shape}" for t in look.things)
    return f"{things} on a {look.background} background"


_C = "|".join(COLOURS)
_S = "|".join(SHAPES)
_B = "|".join(BACKGROUNDS)
_PATTERNS = [
    ("single_object", re.compile(rf"an? ({_C}) ({_S}) on a ({_B}) background")),
    ("multi_object", re.compile(rf"an? ({_C}) ({_S}) and an? ({_C}) ({_S}) on a ({_B}) background")),
    ("human", re.compile(rf"an? ({_C}) stick figure on a ({_B}) background")),
    ("checks", re.compile(rf"({_C}) and ({_C}) checks")),
    ("dots", re.compile(rf"({_C}) dots on ({_C})")),
]


def parse_caption(text: str) -> Look:
    """The look a toy caption names.

    Raises:
        ConfigError: the text does not follow the toy grammar (the message shows the grammar).
    """
    norm = " ".join(text.strip().lower().split())
    for kind, pattern in _PATTERNS:
        m = pattern.fullmatch(norm)
        if not m:
            continue
        g = m.groups()
        if kind == "single_object":
            look = Look("single_object", (Thing(g[0], g[1]),), background=g[2])
        elif kind == "multi_object":
            look = Look("multi_object", (Thing(g[0], g[1]), Thing(g[2], g[3])), background=g[4])
        elif kind == "human":
            look = Look("human", (Thing(g[0], "figure"),), background=g[1])
        else:
            look = Look("camera", pattern=kind, colours=(g[0], g[1]))
        look.validate()
        return look
    raise ConfigError(
        f"{text!r} is not a toy-world caption; the grammar is 'a COLOUR SHAPE on a BACKGROUND background', "
        "'a COLOUR SHAPE and a COLOUR SHAPE on a BACKGROUND background', 'a COLOUR stick figure on a "
        "BACKGROUND background', 'COLOUR and COLOUR checks' or 'COLOUR dots on COLOUR' with COLOUR in "
        f"{', '.join(COLOURS)}, SHAPE in {', '.join(SHAPES)}, BACKGROUND in {', '.join(BACKGROUNDS)}")


def words() -> list[str]:
    """Every word a toy caption can contain, in a fixed order (the toy tokenizers' vocabulary)."""
    fixed = ["a", "an", "and", "on", "background", "stick", "figure", "checks", "dots"]
    return fixed + list(COLOURS) + list(SHAPES) + list(BACKGROUNDS)


def _objects(held_out: bool) -> list[Thing]:
    return [Thing(c, s) for c in COLOURS for s in SHAPES if ((c, s) in HELD_OUT_OBJECTS) == held_out]


def all_looks(category: str, split: str = "train") -> list[Look]:
    """Every look of ``category`` in ``split`` (``"train"``, ``"held_out"`` or ``"all"``), in a fixed order.

    A multi-object look is held out when either object is; in training both are training pairs.
    Objects never share the background's colour (white on white does not occur: white is not a
    background).
    """
    if split not in ("train", "held_out", "all"):
        raise ConfigError(f"split {split!r}; allowed: train, held_out, all")
    looks: list[Look] = []
    if category == "camera":
        for pattern in PATTERNS:
            for a in COLOURS:
                for b in COLOURS:
                    if a != b:
                        looks.append(Look("camera", pattern=pattern, colours=(a, b)))
    elif category == "single_object":
        looks = [Look(category, (t,), background=bg) for t in _objects(False) + _objects(True) for bg in BACKGROUNDS]
    elif category == "multi_object":
        things = _objects(False) + _objects(True)
        looks = [Look(category, (a, b), background=bg) for a in things for b in things
                 if a.colour != b.colour for bg in BACKGROUNDS]
    elif category == "human":
        looks = [Look(category, (Thing(c, "figure"),), background=bg) for c in COLOURS for bg in BACKGROUNDS]
    else:
        raise ConfigError(f"unknown toy category {category!r}; allowed: {', '.join(CATEGORIES)}")
    if split == "all":
        return looks
    return [lk for lk in looks if lk.held_out() == (split == "held_out")]


def random_look(rng: np.random.Generator, category: str, split: str = "train",
                exclude: Iterable[Look] = ()) -> Look:
    """A uniformly drawn look of ``category`` from ``split``, other than those in ``exclude``."""
    skip = set(exclude)
    pool = [lk for lk in all_looks(category, split) if lk not in skip]
    return pool[int(rng.integers(len(pool)))]
