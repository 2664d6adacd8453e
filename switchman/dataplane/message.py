"""The request and response objects that pass between the HTTP protocol and the scoring service."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSON = b"application/json"
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


def reason(status: int) -> bytes:
    return _REASONS.get(status, b"Unknown")


@dataclass(slots=True)
class Request:
    """One parsed client request. Header names are lower-case bytes."""

    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    started: float  # monotonic, first byte of the request
    received: float  # monotonic, last byte of the request
    http_version: str = "1.1"
    peer: str = ""  # the client's IP ("" on a Unix socket), for the inbound toggle
    _map: dict[bytes, bytes] | None = None

    def header(self, name: bytes) -> str | None:
        """Last value of header ``name`` (lower-case), decoded, or None."""
        value = self.header_map().get(name)
        return value.decode("latin-1") if value is not None else None

    def header_map(self) -> dict[bytes, bytes]:
        """Lower-case name → last value (raw bytes); built once per request."""
        found = self._map
        if found is None:
            found = self._map = dict(self.headers)  # later values win, as in header()
        return found


@dataclass(slots=True)
class Response:
    """A complete response; ``headers`` excludes content-length and connection (added on write)."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


def json_response(
    status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> Response:
    return Response(
        status, [(b"content-type", JSON), *(headers or [])], json.dumps(payload).encode()
    )
