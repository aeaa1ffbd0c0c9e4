"""MotionBench: a benchmark and evaluation suite for video motion transfer.

Importing this package is cheap: it loads neither torch nor any model. Heavy modules are imported
by the commands and functions that need them.
"""

__version__ = "0.1.0"
