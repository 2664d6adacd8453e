"""Azure ML naming rules for endpoints and deployments (reference §1.1), with the SDK's own texts."""

from __future__ import annotations

import re

MIN_NAME_LENGTH = 3
MAX_NAME_LENGTH = 32
NAME_PATTERN = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")


def name_problem(name: str, kind: str) -> str | None:
    """Return the Azure ML error text for an invalid name, or None when the name is valid.

    Args:
        name: the proposed name.
        kind: "an endpoint" or "a deployment", used in the message as the SDK does.
    """
    if not (MIN_NAME_LENGTH <= len(name) <= MAX_NAME_LENGTH):
        return (
            f"The name for {kind} must be at least {MIN_NAME_LENGTH} and at most "
            f"{MAX_NAME_LENGTH} characters long (inclusive of both limits)."
        )
    if not NAME_PATTERN.match(name):
        return (
            f"The name for {kind} must start with an upper- or lowercase letter and only "
            "consist of '-'s and alphanumeric characters."
        )
    return None
