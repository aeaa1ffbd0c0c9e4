"""Errors a user can act on.

Every error MotionBench raises for bad input derives from :class:`MotionBenchError`; its message
names the file, field or value at fault and says how to fix it. The CLI prints these without a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MotionBenchError(Exception):
    """Base class of errors caused by input or environment, not by a bug."""


class ManifestError(MotionBenchError):
    """The manifest cannot be read or does not follow the schema."""


class VideoError(MotionBenchError):
    """A video file is missing, unreadable, empty or otherwise unusable."""


class ConfigError(MotionBenchError):
    """A method or metric option is unknown or has a bad value."""


class WeightsError(MotionBenchError):
    """Model weights are missing or fail their checksum."""


class StoreError(MotionBenchError):
    """A results-store file cannot be read (a damaged line) or written (a full disk, no permission)."""


class MotionBenchWarning(UserWarning):
    """Something the user should know that loses nothing: the CLI prints it as one line."""
