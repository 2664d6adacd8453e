"""Errors shaped like azure-core's and azure-ai-ml's, so `except ResourceNotFoundError:` moves over.

    AzureError                      (azure.core.exceptions.AzureError)
    ├── HttpResponseError           status_code, reason, error (code, message)
    │   ├── ResourceNotFoundError   404: the message names the resource
    │   ├── ResourceExistsError     409: exists already / in use / being deleted
    │   ├── ClientAuthenticationError 401
    │   └── ServiceRequestError     the platform is not running or did not answer
    └── MlException                 (azure.ai.ml.exceptions.MlException)
        └── ValidationException     a bad entity, YAML or argument: the message names the field

The SDK raises only these: every ``switchman.errors.SwitchmanError`` from the REST client is turned
into one of them at the operations' boundary (:func:`translated`), with the platform's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from switchman.errors import (
    BadArgumentError,
    ConflictError,
    NotFoundError,
    PlatformNotRunningError,
    SwitchmanError,
    UnauthorizedError,
)


@dataclass
class ODataV4Format:
    """The ``error`` of an HttpResponseError: a stable code and the message."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"({self.code}) {self.message}"


class AzureError(Exception):
    """Base of the errors the SDK raises; ``message`` is one paragraph a user can act on."""

    def __init__(self, message: str | None = None, *args: Any, **kwargs: Any) -> None:
        self.message = str(message or "")
        self.error: ODataV4Format | None = kwargs.get("error")
        super().__init__(self.message, *args)


class HttpResponseError(AzureError):
    """The platform answered with an error (azure-core's shape: status_code, reason, error)."""

    status: int = 500
    reason_text: str = "Internal Server Error"

    def __init__(
        self,
        message: str | None = None,
        response: Any = None,
        *,
        status_code: int | None = None,
        code: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.status_code = status_code or self.status
        self.reason = self.reason_text
        self.response = response
        code = code or type(self).__name__.removesuffix("Error")
        super().__init__(message, error=ODataV4Format(code, str(message or "")), **kwargs)

    def __str__(self) -> str:
        return f"({self.error.code if self.error else 'Error'}) {self.message}"


class ResourceNotFoundError(HttpResponseError):
    status = 404
    reason_text = "Not Found"


class ResourceExistsError(HttpResponseError):
    status = 409
    reason_text = "Conflict"


class ClientAuthenticationError(HttpResponseError):
    status = 401
    reason_text = "Unauthorized"


class ServiceRequestError(HttpResponseError):
    status = 503
    reason_text = "Service Unavailable"


class MlException(AzureError):
    """azure-ai-ml's base exception; ``no_personal_data_message`` repeats the message."""

    def __init__(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.no_personal_data_message = kwargs.pop("no_personal_data_message", message)
        self.target = kwargs.pop("target", None)
        self.error_category = kwargs.pop("error_category", "UserError")
        super().__init__(message, *args, **kwargs)


class ValidationException(MlException):
    """A bad entity, YAML file or argument; the message names the field and the fix."""


def from_switchman(exc: SwitchmanError) -> AzureError:
    """The SDK error for an error of the platform (or of its REST client)."""
    message = exc.message
    if isinstance(exc, NotFoundError):
        return ResourceNotFoundError(message, code=exc.code)
    if isinstance(exc, ConflictError):
        return ResourceExistsError(message, code=exc.code)
    if isinstance(exc, UnauthorizedError):
        return ClientAuthenticationError(message, code=exc.code)
    if isinstance(exc, PlatformNotRunningError):
        return ServiceRequestError(message, code=exc.code)
    if isinstance(exc, BadArgumentError) or exc.code == "BadArgument":
        return ValidationException(message)
    return HttpResponseError(message, status_code=exc.status, code=exc.code)


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise platform errors as the SDK's (no raw HTTP or Switchman errors leak)."""
    try:
        yield
    except SwitchmanError as exc:
        raise from_switchman(exc) from None
