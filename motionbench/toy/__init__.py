"""Models MotionBench trains on its toy world, and the commands that train them.

* :mod:`.codec`  the toy model's linear space-time codec (Wan's VAE's layout, fitted by PCA);
* :mod:`.model`  the toy T2V architecture (stock diffusers/transformers classes, small configs);
* :mod:`.data`   the training set: seeded toy clips of training looks, encoded once;
* :mod:`.train`  the training loop (rectified flow, EMA, resumable checkpoints) and export;
* :mod:`.assets` where the shipped weights live (package data).

The toy world itself (clips, captions, held-out looks) is :mod:`motionbench.bench.toy`.
"""
