"""Python environments for instances: isolated, cached by content, seconds to reuse (issue 6).

- :func:`resolve` turns a deployment's ``environment`` (inline, registered or curated) into the
  self-contained dict stored with the deployment.
- :func:`prepare` turns that dict into an interpreter: the platform's own when it suffices, else a
  `uv` virtualenv under ``$SWITCHMAN_HOME/envs/<sha256>/``, built once and shared.
- :func:`environment_hash` names that folder, so unused ones can be pruned (:func:`prune`).
- :func:`runtime_pythonpath` is the PYTHONPATH entry through which such a venv imports Switchman.

See docs/environments.md for the rules and the curated-name table.
"""

from switchman.environments.builder import EnvironmentBuildError, prepare
from switchman.environments.cache import built_keys, environment_hash, prune, runtime_pythonpath
from switchman.environments.reference import resolve
from switchman.environments.runtime_requirements import RUNTIME_REQUIREMENTS

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
