"""Compatibility path for scoring scripts: re-exports Switchman's AMLRequest and rawhttp."""

from switchman.runtime.compat import AMLRequest, rawhttp

__all__ = ["AMLRequest", "rawhttp"]
