"""FYC as a MotionBench plug-in: where the method lives and its one line, without importing it."""

from __future__ import annotations

from motionbench.plugins import PluginSpec

follow_your_creation = PluginSpec(
    "motionbench_fyc.method:FollowYourCreation",
    "Recapture: Follow-Your-Creation, depth warp + VACE inpainting with a per-video LoRA, self-iterative "
    "tuning and temporal packing (Wan2.1-VACE)")
