"""Requirement lines (PEP 508 text) as plain strings: their normalised name, and merging.

Requirements stay text all the way to `uv`, which parses and resolves them; here we only need each
line's project name, to drop packages the runtime provides and to let the user's pins replace the
runtime's own requirements.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A PEP 508 name starts the line; extras, specifiers, markers or a URL may follow.
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """PEP 503 normalised project name (``Scikit_Learn`` → ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def name_of(line: str) -> str | None:
    """The normalised project name a requirement line installs; None for options (``--index-url``)."""
    text = line.strip()
    if not text or text.startswith(("-", "#")):
        return None
    if " @ " in text:  # name @ url
        text = text.split(" @ ", 1)[0]
    match = _NAME.match(text)
    return normalize(match.group(1)) if match else None


def merge(user: Iterable[str], runtime: Iterable[str]) -> list[str]:
    """The user's lines, then each runtime line whose project the user did not name.

    The user's pin wins over the runtime's: a deployment that pins ``uvicorn==0.30.0`` gets exactly
    that, and the runtime's ``uvicorn>=0.29`` is left out instead of conflicting with it.
    """
    lines = [line.strip() for line in user if line.strip()]
    named = {n for n in (name_of(line) for line in lines) if n}
    return lines + [line for line in runtime if name_of(line) not in named]
