"""Follow-Your-Motion (FYM) on Wan2.1: head classification, decoupled LoRA, sparse sampling, adaptive RoPE."""
