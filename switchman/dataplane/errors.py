"""Scoring errors: the Azure ML data-plane status codes as members of the one error hierarchy.

Each carries the response headers it needs (``Retry-After``, ``ms-azureml-model-error-*``) and the
deployment it names, so the protocol layer renders every error the same way:
``{"message", "code", "request_id", ...details}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from switchman.errors import NotFoundError, PlatformError, SwitchmanError, UnauthorizedError


class ScoringError(SwitchmanError):
    """Base of data-plane errors; ``deployment`` names the deployment involved, if any."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalServerError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        deployment: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.deployment = deployment
        self.headers = headers
        if status is not None:
            self.status = status  # type: ignore[misc]  # per-instance status for wrapped errors


class BadRequestError(ScoringError):
    status = 400
    default_code = "BadRequest"


class AuthError(ScoringError):
    status = UnauthorizedError.status
    default_code = UnauthorizedError.default_code


class RouteNotFoundError(ScoringError):
    status = NotFoundError.status
    default_code = NotFoundError.default_code


class RequestTimeoutError(ScoringError):
    status = 408
    default_code = "RequestTimeout"


class PayloadTooLargeError(ScoringError):
    status = 413
    default_code = "PayloadTooLarge"


class ModelError(ScoringError):
    """The instance answered non-200 (client sees 424)."""

    status = 424
    default_code = "ModelError"


class TooManyRequestsError(ScoringError):
    status = 429
    default_code = "TooManyRequests"


class NoReadyInstanceError(ScoringError):
    status = 503
    default_code = "NoReadyInstance"


class NotReadyError(ScoringError):
    """The router holds no route table yet."""

    status = 503
    default_code = "RouterNotReady"


class InternalError(ScoringError):
    status = PlatformError.status
    default_code = PlatformError.default_code
