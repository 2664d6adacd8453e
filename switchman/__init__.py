"""Switchman: managed online endpoints for ML models on your own machines."""

from switchman.errors import (
    BadArgumentError,
    ConflictError,
    NotFoundError,
    SwitchmanError,
    UnauthorizedError,
)

__version__ = "0.1.0"

__all__ = [
    "BadArgumentError",
    "ConflictError",
    "NotFoundError",
    "SwitchmanError",
    "UnauthorizedError",
    "__version__",
]
