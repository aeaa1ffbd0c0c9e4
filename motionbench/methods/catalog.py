"""The built-in methods as plug-in specs: what ``motionbench methods`` lists without importing them.

pyproject.toml registers each under the entry-point group ``motionbench.methods``, exactly as a
third-party package registers its own (see :mod:`motionbench.plugins`).
"""

from __future__ import annotations

from motionbench.plugins import PluginSpec

reference = PluginSpec("motionbench.methods.reference:ReferenceMethod",
                       "Returns the reference clip itself (upper anchor of motion fidelity).")
static = PluginSpec("motionbench.methods.reference:StaticMethod",
                    "Repeats the reference's first frame (no motion, perfect temporal consistency).")
shuffle = PluginSpec("motionbench.methods.reference:ShuffleMethod",
                     "The reference's frames in a seeded random order (right content, wrong motion).")
noise = PluginSpec("motionbench.methods.reference:NoiseMethod",
                   "Seeded uniform random noise (lower anchor of every metric).")
external = PluginSpec("motionbench.methods.external:ExternalCommandMethod",
                      "Runs any repository's script per video from a command template (no shell; inline or a YAML spec).")
