"""Motion-transfer baselines on the same Wan2.1 backbone as Follow-Your-Motion.

Every baseline runs through the MotionBench adapter interface on the video-DiT toolkit
(:mod:`motionbench.backbones`), with the same reference preprocessing, sampler and output policy,
so differences on the leaderboard come from the algorithms:

``two-stage-lora`` (:mod:`motionbench_baselines.two_stage_lora`)
    LoRA on all attention heads: a spatial stage on single frames, then a temporal stage on the
    clip with plain flow-matching MSE (FYM's "all components off" row).
``motiondirector`` (:mod:`motionbench_baselines.motiondirector`)
    Dual-path LoRA with the appearance-debiased temporal loss; only the temporal path is used when
    sampling.
``ditflow`` (:mod:`motionbench_baselines.ditflow`)
    Training-free: Attention Motion Flow (:mod:`motionbench_baselines.attention_flow`) from the reference
    guides the latent during the early denoising steps.

Shared plumbing (options, the size policy, sampling, fitted LoRA state) is the harness's Wan
method toolkit, :mod:`motionbench.methods.wan`, which Follow-Your-Motion uses too.
"""
