"""What the instance runtime needs inside an isolated environment, defined in one place.

An isolated environment holds the user's packages at their pins plus these. The runtime itself
(`switchman.runtime`) is not installed there: the launcher puts a folder holding a ``switchman``
symlink on ``PYTHONPATH`` (see :func:`switchman.environments.runtime_pythonpath`), so only the
runtime's third-party imports have to be installed. When the user pins one of these packages, the
user's pin replaces ours (see :func:`switchman.environments.requirement.merge`).
"""

from __future__ import annotations

RUNTIME_REQUIREMENTS: tuple[str, ...] = (
    "uvicorn>=0.29",
    "httptools>=0.6",
    "uvloop>=0.19; sys_platform != 'win32'",
    "starlette>=0.37",
    "inference-schema>=1.8",
)
