"""What every entity shares: built on a spec model, validated on construction, converted to and
from the REST API's documents.

An entity class subclasses the spec model of its YAML kind (``ManagedOnlineEndpoint`` is an
``OnlineEndpointSpec``), so the SDK, the CLI and the REST API validate with one schema. The keys
that `show` adds (``scoring_uri``, ``provisioning_state``, ``id``...) are entity fields marked
``exclude=True``: readable, never sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from switchman.ml.exceptions import ValidationException

E = TypeVar("E", bound="Entity")

# While set, construction lets pydantic's ValidationError through, so the YAML loader can name
# the file and line (pydantic runs __init__ for model_validate too, since Entity defines one).
_RAW_ERRORS: ContextVar[bool] = ContextVar("switchman_ml_raw_errors", default=False)


@contextmanager
def raw_validation_errors() -> Iterator[None]:
    token = _RAW_ERRORS.set(True)
    try:
        yield
    finally:
        _RAW_ERRORS.reset(token)


def read_only(field: str) -> bool:
    return field in ("creation_context", "id", "provisioning_state")


class Entity:
    """Mixin placed before the spec model: ``class Model(Entity, ModelSpec)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError(f"{type(self).__name__}() takes keyword arguments only")
        # azure-ai-ml callers pass None for "not given"; the spec's defaults apply then.
        given = {k: v for k, v in kwargs.items() if v is not None}
        given = self._adapt(given)
        try:
            super().__init__(**given)
        except ValidationError as exc:
            if _RAW_ERRORS.get():
                raise
            raise invalid(type(self).__name__, exc) from None

    @classmethod
    def _adapt(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Map azure-ai-ml constructor arguments onto the spec's fields (override per entity)."""
        return kwargs

    # -- REST documents ----------------------------------------------------------------------------

    @classmethod
    def _from_rest(cls: type[E], view: dict[str, Any]) -> E:
        """An entity from a `show` view: spec keys validated, read-only keys set as attributes."""
        model: type[BaseModel] = cls  # type: ignore[assignment]
        spec_keys: dict[str, Any] = {}
        read_only_keys: dict[str, Any] = {}
        for name, field in model.model_fields.items():
            key = field.alias or name
            if key not in view:
                continue
            if field.exclude:
                read_only_keys[name] = view[key]
            else:
                spec_keys[key] = view[key]
        try:
            entity = model.model_validate(spec_keys)
        except ValidationError as exc:
            raise invalid(cls.__name__, exc) from None
        for name, value in read_only_keys.items():
            object.__setattr__(entity, name, value)
        return entity  # type: ignore[return-value]

    def _to_rest(self) -> dict[str, Any]:
        """The spec document to send: the keys the user set or changed (defaults left out, so an
        update does not reset what the platform holds)."""
        model: BaseModel = self  # type: ignore[assignment]
        full: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name, field in type(model).model_fields.items():
            key = field.alias or name
            if key not in full or name in model.model_fields_set:
                continue
            if not field.is_required() and getattr(model, name) == field.get_default(
                call_default_factory=True
            ):
                full.pop(key)
        return self._references(full)

    def _references(self, document: dict[str, Any]) -> dict[str, Any]:
        """Name registered assets by reference in ``document`` (deployments override this)."""
        return document

    def _to_dict(self) -> dict[str, Any]:
        """The entity as its YAML file holds it."""
        model: BaseModel = self  # type: ignore[assignment]
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)

    def dump(self, dest: str | Path, **kwargs: Any) -> None:
        """Write the entity as YAML (azure-ai-ml's ``dump``)."""
        Path(dest).write_text(yaml.safe_dump(self._to_dict(), sort_keys=False))


def invalid(what: str, exc: ValidationError) -> ValidationException:
    """A ValidationException whose message names each bad field, as the CLI's errors do."""
    from switchman.spec.loader import _describe

    text = _describe(exc, f"{what}(...)", None).rstrip(".")
    return ValidationException(f"Invalid {what}: {text}.")
