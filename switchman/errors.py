"""One error hierarchy for every part of Switchman.

Each error knows its HTTP status and a stable machine code. The control plane renders any
:class:`SwitchmanError` as ``{"message": ..., "code": ...}`` with its status, and the REST client turns
that body back into the same class, so the CLI shows the server's own words.

    SwitchmanError (500, InternalServerError)
    ├── BadArgumentError (400, BadArgument)        bad YAML, bad field, bad flag value
    │   └── SpecFileError (400, BadArgument)       ... with the file (and line) it came from
    ├── UnauthorizedError (401, Unauthorized)
    ├── NotFoundError (404, ResourceNotFound)
    ├── ConflictError (409, Conflict)              duplicate create, delete with live traffic
    ├── OutOfQuotaError (400, OutOfQuota)
    ├── DeploymentFailedError (400, <code>)        a deployment ended Failed (code from the instance)
    ├── PlatformNotRunningError (503, PlatformNotRunning)
    └── PlatformError (500, InternalServerError)
"""

from __future__ import annotations

from typing import Any, ClassVar


class SwitchmanError(Exception):
    """Base of all errors Switchman raises on purpose.

    Args:
        message: one paragraph a user can act on: what, which file/field/value, how to fix.
        code: overrides the class's stable code (e.g. ``UserScriptInitFailed``).
        details: extra machine-readable facts, rendered under ``details``.
    """

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalServerError"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


class BadArgumentError(SwitchmanError):
    status = 400
    default_code = "BadArgument"


class SpecFileError(BadArgumentError):
    """A spec file could not be read or validated; the message names the file (and line)."""


class UnauthorizedError(SwitchmanError):
    status = 401
    default_code = "Unauthorized"


class NotFoundError(SwitchmanError):
    status = 404
    default_code = "ResourceNotFound"


class ConflictError(SwitchmanError):
    status = 409
    default_code = "Conflict"


class OutOfQuotaError(SwitchmanError):
    status = 400
    default_code = "OutOfQuota"


class DeploymentFailedError(SwitchmanError):
    status = 400
    default_code = "ResourceNotReady"


class PlatformNotRunningError(SwitchmanError):
    status = 503
    default_code = "PlatformNotRunning"


class PlatformError(SwitchmanError):
    status = 500
    default_code = "InternalServerError"


_BY_STATUS: dict[int, type[SwitchmanError]] = {
    400: BadArgumentError,
    401: UnauthorizedError,
    404: NotFoundError,
    409: ConflictError,
    503: PlatformNotRunningError,
}
_BY_CODE: dict[str, type[SwitchmanError]] = {
    "OutOfQuota": OutOfQuotaError,
    "PlatformNotRunning": PlatformNotRunningError,
}


def error_from_body(status: int, body: Any) -> SwitchmanError:
    """Rebuild the error a server rendered (used by the REST client)."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = str(body.get("code") or "")
        cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or PlatformError
        if status == 400 and code not in _BY_CODE and code not in ("", "BadArgument"):
            cls = DeploymentFailedError if code != "ValidationError" else BadArgumentError
        details = body.get("details") if isinstance(body.get("details"), dict) else None
        return cls(body["message"], code=code or None, details=details)
    return PlatformError(
        f"The server answered HTTP {status} with an unexpected body: {body!r:.300}"
    )
