"""Method adapters: the interface, typed options, the entry-point registry (shared with metrics), reference methods."""

from motionbench.methods.base import GenerationRequest, Method, Reference

__all__ = ["GenerationRequest", "Method", "Reference"]
