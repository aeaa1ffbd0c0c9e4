"""The baselines as MotionBench plug-ins: where each method lives and its one line, without importing it."""

from __future__ import annotations

from motionbench.plugins import PluginSpec

two_stage_lora = PluginSpec(
    "motionbench_baselines.two_stage_lora:TwoStageLoRA",
    "Naive two-stage LoRA on all attention heads: single frames, then the clip, plain MSE (FYM's all-off row)")
motiondirector = PluginSpec(
    "motionbench_baselines.motiondirector:MotionDirector",
    "MotionDirector: dual-path (spatial/temporal) LoRA with appearance-debiased temporal loss, on Wan2.1")
ditflow = PluginSpec(
    "motionbench_baselines.ditflow:DiTFlow",
    "DiTFlow: training-free Attention Motion Flow guidance of the latent in early denoising steps (Wan2.1)")
base = PluginSpec(
    "motionbench_baselines.base_model:BaseModel",
    "The untuned backbone sampling from the prompt alone: the floor of every transfer method (Wan2.1)")
warp_only = PluginSpec(
    "motionbench_baselines.recapture:WarpOnly",
    "Recapture: the source lifted with its depth and splatted along the path, holes left black (no model)")
warp_inpaint_untuned = PluginSpec(
    "motionbench_baselines.recapture:WarpInpaintUntuned",
    "Recapture: the depth warp with its holes filled by the VACE backbone, no per-video tuning")
