"""Compatibility path for scoring scripts: re-exports Switchman's AMLResponse."""

from switchman.runtime.compat import AMLResponse

__all__ = ["AMLResponse"]
