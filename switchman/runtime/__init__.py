"""The instance runtime: serves one scoring script the way azmlinfsrv 1.5.1 does.

Start it with ``python -m switchman.runtime --host 127.0.0.1 --port P`` and the environment in
docs/internals.md ("Instance runtime"); see docs/runtime.md for what is supported.
"""

from switchman.runtime.compat import AMLRequest, AMLResponse, rawhttp

__all__ = ["AMLRequest", "AMLResponse", "rawhttp"]
