"""``Input`` and ``Output``: where a batch job reads and writes (azure-ai-ml's ``azure.ai.ml.Input``)."""

from __future__ import annotations

from typing import Any

from switchman.ml.constants import AssetTypes


class Input:
    """A job input: a local path, a URL, or a registered data asset (``azureml:name@latest``).

    Args:
        type: ``uri_folder`` (default) or ``uri_file``; a literal type (string, integer, number,
            boolean) with ``default`` for parameters.
        path: where the data is.
        mode: accepted for azure-ai-ml compatibility (data is read from the path directly).
    """

    def __init__(
        self,
        *,
        type: str = AssetTypes.URI_FOLDER,
        path: str | None = None,
        mode: str | None = None,
        default: Any = None,
        optional: bool | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.type = type
        self.path = path
        self.mode = mode
        self.default = default
        self.optional = optional
        self.description = description

    def _to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.path is not None:
            out["path"] = self.path
        if self.mode is not None:
            out["mode"] = self.mode
        if self.default is not None:
            out["default"] = self.default
        return out

    def __repr__(self) -> str:
        return f"Input(type={self.type!r}, path={self.path!r})"


class Output:
    """A job output location (``path``) of ``type`` ``uri_folder`` or ``uri_file``."""

    def __init__(
        self,
        *,
        type: str = AssetTypes.URI_FOLDER,
        path: str | None = None,
        mode: str | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.type = type
        self.path = path
        self.mode = mode
        self.description = description

    def __repr__(self) -> str:
        return f"Output(type={self.type!r}, path={self.path!r})"
