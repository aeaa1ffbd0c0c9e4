"""FYM as a MotionBench plug-in: where the method lives and its one line, without importing it."""

from __future__ import annotations

from motionbench.plugins import PluginSpec

follow_your_motion = PluginSpec(
    "motionbench_fym.adapter:FollowYourMotion",
    "Follow-Your-Motion: head-decoupled spatial/temporal LoRA with sparse sampling and adaptive RoPE (Wan2.1)")
