"""What the instance runtime needs inside an isolated environment, defined in one place.

An isolated environment holds the user's packages at their pins plus these: the third-party
imports of ``switchman.runtime`` (its HTTP server is built on httptools and uvloop; inference-schema
serves the swagger of decorated scoring scripts). The runtime itself is not installed there: the
launcher puts a folder holding a ``switchman`` symlink on ``PYTHONPATH`` (see
:func:`switchman.environments.runtime_pythonpath`). When the user pins one of these packages, the
user's pin replaces ours (see :func:`switchman.environments.requirement.merge`).
"""

from __future__ import annotations

RUNTIME_REQUIREMENTS: tuple[str, ...] = (
    "httptools>=0.6",
    "uvloop>=0.19; sys_platform != 'win32'",
    "inference-schema>=1.8",
)
