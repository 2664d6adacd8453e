"""What the operation groups share: the one REST client, path resolution, view → document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from switchman.client import Client
from switchman.errors import NotFoundError
from switchman.ml.exceptions import translated
from switchman.spec.base import READ_ONLY_KEYS
from switchman.spec.loader import resolve_paths

M = TypeVar("M", bound=BaseModel)


class Operations:
    """Base of ``ml_client.<group>``: talks to the platform through ``switchman.client.Client``."""

    def __init__(self, client: Callable[[], Client]) -> None:
        self._client = client

    @property
    def _api(self) -> Client:
        return self._client()


def resolved(entity: M) -> M:
    """A copy of ``entity`` whose local paths are absolute (relative ones are taken from the
    current folder, as azure-ai-ml does; entities from ``load_*`` already hold absolute paths)."""
    return resolve_paths(entity.model_copy(deep=True), Path.cwd())


def editable(view: dict[str, Any]) -> dict[str, Any]:
    """A `show` view without its read-only keys: the base an update is merged onto."""
    return {k: v for k, v in view.items() if k not in READ_ONLY_KEYS and k != "error"}


def find(get: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """``get()``, or None when the platform answers 404 (other errors are raised translated)."""
    with translated():
        try:
            return get()
        except NotFoundError:
            return None
