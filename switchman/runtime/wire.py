"""The two values that cross between the HTTP protocol and the scoring core: request and reply."""

from __future__ import annotations

from collections.abc import Iterator

from switchman.runtime.datastructures import Headers


class HttpRequest:
    """One parsed HTTP request (body complete). Header names are lower-case."""

    __slots__ = ("_map", "body", "headers", "method", "path", "query", "remote")

    def __init__(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
        remote: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remote = remote
        self._map: dict[str, str] | None = None

    def header(self, lower_name: str) -> str | None:
        """First value of a header, by lower-case name."""
        if self._map is None:
            self._map = {}
            for name, value in self.headers:
                self._map.setdefault(name, value)
        return self._map.get(lower_name)

    def headers_dict(self) -> dict[str, str]:
        """``dict(request.headers)`` as Flask gives it: Title-Cased names, later values win."""
        return {_title(name): value for name, value in self.headers}

    def headers_object(self) -> Headers:
        return Headers([(_title(name), value) for name, value in self.headers])

    @property
    def target(self) -> str:
        """Path plus query, as written in access lines."""
        return f"{self.path}?{self.query.decode('latin-1')}" if self.query else self.path


def _title(name: str) -> str:
    # werkzeug rebuilds names from the WSGI environ: "x-request-id" -> "X-Request-Id".
    return "-".join(part.capitalize() for part in name.split("-"))


class Reply:
    """What the server writes back. ``body`` is complete bytes, or ``stream`` yields chunks.

    A streamed reply's iterator is user code: the server drains it on a worker thread.
    """

    __slots__ = ("body", "headers", "status", "stream")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        stream: Iterator[bytes] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream

    @property
    def length(self) -> str:
        return "N/A" if self.stream is not None else str(len(self.body))
