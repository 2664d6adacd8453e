"""``ml_client.environments``: azure-ai-ml's ``EnvironmentOperations``."""

from __future__ import annotations

from typing import Any

from switchman.ml.entities.asset import Environment
from switchman.ml.exceptions import translated
from switchman.ml.operations._base import Operations, resolved
from switchman.ml.operations.model import version_of


class EnvironmentOperations(Operations):
    """Register and look up environment versions."""

    def create_or_update(self, environment: Environment, **kwargs: Any) -> Environment:
        """Register an environment version (its conda file is read and stored inline).

        CLI: ``switchman environment create -n NAME --conda-file conda.yaml --image IMAGE``.
        """
        from switchman.environments.reference import inline

        with translated():
            view = self._api.create_asset("environments", inline(resolved(environment)))
        return Environment._from_rest(view)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Environment:
        """One version (``label="latest"``: the newest). CLI: ``switchman environment show``.

        Raises:
            ResourceNotFoundError: no such environment version.
        """
        with translated():
            view = self._api.get_asset("environments", name, version_of(version, label))
        return Environment._from_rest(view)

    def list(self, name: str | None = None, **kwargs: Any) -> list[Environment]:
        """Environment versions (of ``name``). CLI: ``switchman environment list [-n NAME]``."""
        with translated():
            views = self._api.list_assets("environments", name)
        return [Environment._from_rest(v) for v in views]
