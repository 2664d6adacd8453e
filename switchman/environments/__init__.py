"""Python environments for instances: isolated, cached by content, seconds to reuse (issue 6).

- :func:`resolve` turns a deployment's ``environment`` (inline, registered or curated) into the
  self-contained dict stored with the deployment.
- :func:`prepare` turns that dict into an interpreter: the platform's own when it suffices, else a
  `uv` virtualenv under ``$SWITCHMAN_HOME/envs/<sha256>/``, built once and shared.
- :func:`environment_hash` names that folder, so unused ones can be pruned (:func:`prune`).
- :func:`runtime_pythonpath` is the PYTHONPATH entry through which such a venv imports Switchman.

See docs/environments.md for the rules and the curated-name table.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchman.environments.builder import EnvironmentBuildError, prepare
    from switchman.environments.cache import built_keys, environment_hash, prune, runtime_pythonpath
    from switchman.environments.reference import resolve
    from switchman.environments.runtime_requirements import RUNTIME_REQUIREMENTS

# Loaded on first use: the launcher needs only `prepare`, and every instance start pays for what
# this package imports (the spec models behind `resolve` cost ~0.3 s).
_LAZY = {
    "EnvironmentBuildError": "switchman.environments.builder",
    "prepare": "switchman.environments.builder",
    "built_keys": "switchman.environments.cache",
    "environment_hash": "switchman.environments.cache",
    "prune": "switchman.environments.cache",
    "runtime_pythonpath": "switchman.environments.cache",
    "resolve": "switchman.environments.reference",
    "RUNTIME_REQUIREMENTS": "switchman.environments.runtime_requirements",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RUNTIME_REQUIREMENTS",
    "EnvironmentBuildError",
    "built_keys",
    "environment_hash",
    "prepare",
    "prune",
    "resolve",
    "runtime_pythonpath",
]
