"""``ml_client.models``: azure-ai-ml's ``ModelOperations``."""

from __future__ import annotations

from typing import Any

from switchman.ml.entities.asset import Model
from switchman.ml.exceptions import ValidationException, translated
from switchman.ml.operations._base import Operations, resolved


def version_of(version: str | None, label: str | None) -> str | None:
    """The version to fetch: ``version``, or None for ``label="latest"`` (or neither)."""
    if version and label:
        raise ValidationException("Give either version or label, not both.")
    if label not in (None, "latest"):
        raise ValidationException(f"Unknown label {label!r}: the only label is 'latest'.")
    return version


class ModelOperations(Operations):
    """Register and look up model versions."""

    def create_or_update(self, model: Model, **kwargs: Any) -> Model:
        """Register a model version (the next integer when ``version`` is unset).

        CLI: ``switchman model create -n NAME --path PATH``.
        """
        with translated():
            view = self._api.create_asset("models", resolved(model)._to_dict())
        return Model._from_rest(view)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Model:
        """One version (``label="latest"``: the newest). CLI: ``switchman model show -n NAME -v V``.

        Raises:
            ResourceNotFoundError: no such model version.
        """
        with translated():
            return Model._from_rest(self._api.get_asset("models", name, version_of(version, label)))

    def list(
        self,
        name: str | None = None,
        stage: str | None = None,
        *,
        archived_only: bool = False,
        **kwargs: Any,
    ) -> list[Model]:
        """Model versions (of ``name``). CLI: ``switchman model list [-n NAME]``."""
        with translated():
            views = self._api.list_assets("models", name, include_archived=archived_only)
        if archived_only:
            views = [v for v in views if v.get("archived")]
        models = [Model._from_rest(v) for v in views]
        return [m for m in models if stage is None or m.stage == stage]

    def archive(self, name: str, version: str | None = None, label: str | None = None) -> None:
        """Archive a version. CLI: ``switchman model archive -n NAME -v V``."""
        with translated():
            target = version_of(version, label) or self.get(name, label="latest").version
            assert target is not None
            self._api.archive_model(name, target)
