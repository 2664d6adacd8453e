"""Werkzeug-style containers that scoring scripts touch: headers, multi-value dicts, uploads.

Scripts written for azmlinfsrv receive a Flask request and build Flask responses; these small
classes give them the same surface (``headers.get``, ``args.getlist``, ``files["f"].stream``)
without Flask.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Generic, TypeVar, overload

V = TypeVar("V")
D = TypeVar("D")


class BadRequestKeyError(KeyError):
    """A missing key in ``args``/``form``/``files`` (werkzeug raises a 400 for it)."""


class MultiDict(Generic[V]):
    """An ordered mapping where one key can hold several values; ``d[k]`` gives the first."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, V]] = ()) -> None:
        self._items: list[tuple[str, V]] = list(items)

    def __getitem__(self, key: str) -> V:
        for k, v in self._items:
            if k == key:
                return v
        raise BadRequestKeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"

    @overload
    def get(self, key: str) -> V | None: ...
    @overload
    def get(self, key: str, default: D) -> V | D: ...
    @overload
    def get(self, key: str, default: Any = None, type: Any = None) -> Any: ...
    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        """First value for ``key`` (converted with ``type`` when given), else ``default``."""
        for k, v in self._items:
            if k == key:
                if type is None:
                    return v
                try:
                    return type(v)
                except (ValueError, TypeError):
                    return default
        return default

    def getlist(self, key: str, type: Any = None) -> list[Any]:
        """Every value for ``key`` in arrival order."""
        values = [v for k, v in self._items if k == key]
        if type is None:
            return values
        out = []
        for v in values:
            try:
                out.append(type(v))
            except (ValueError, TypeError):
                continue
        return out

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for k, _ in self._items:
            seen.setdefault(k, None)
        return list(seen)

    def values(self) -> list[V]:
        return [self[k] for k in self.keys()]

    def items(self, multi: bool = False) -> list[tuple[str, V]]:
        if multi:
            return list(self._items)
        return [(k, self[k]) for k in self.keys()]

    def lists(self) -> list[tuple[str, list[V]]]:
        return [(k, self.getlist(k)) for k in self.keys()]

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        if flat:
            return dict(self.items())
        return dict(self.lists())

    def add(self, key: str, value: V) -> None:
        self._items.append((key, value))


class Headers:
    """Case-insensitive, order-keeping header list; iterating yields ``(name, value)`` pairs."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | dict[str, str] | None = None) -> None:
        if isinstance(items, dict):
            items = items.items()
        self._items: list[tuple[str, str]] = [(k, str(v)) for k, v in (items or ())]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise BadRequestKeyError(key)
        return str(value)

    def __setitem__(self, key: str, value: object) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.remove(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        lower = key.lower()
        return any(k.lower() == lower for k, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        lower = key.lower()
        for k, v in self._items:
            if k.lower() == lower:
                if type is None:
                    return v
                try:
                    return type(v)
                except (ValueError, TypeError):
                    return default
        return default

    def getlist(self, key: str) -> list[str]:
        lower = key.lower()
        return [v for k, v in self._items if k.lower() == lower]

    get_all = getlist

    def keys(self) -> list[str]:
        return [k for k, _ in self._items]

    def values(self) -> list[str]:
        return [v for _, v in self._items]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def add(self, key: str, value: object) -> None:
        """Append a header, keeping any earlier ones with the same name."""
        self._items.append((key, _header_value(value)))

    add_header = add

    def set(self, key: str, value: object) -> None:
        """Replace every header named ``key`` with one value (in place of the first)."""
        lower = key.lower()
        new = (key, _header_value(value))
        out: list[tuple[str, str]] = []
        placed = False
        for item in self._items:
            if item[0].lower() == lower:
                if not placed:
                    out.append(new)
                    placed = True
            else:
                out.append(item)
        if not placed:
            out.append(new)
        self._items = out

    def setdefault(self, key: str, default: object) -> str:
        if key in self:
            return str(self[key])
        self.add(key, default)
        return _header_value(default)

    def remove(self, key: str) -> None:
        lower = key.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lower]

    def pop(self, key: str, default: Any = None) -> Any:
        value = self.get(key, default)
        self.remove(key)
        return value

    def extend(self, items: Iterable[tuple[str, str]] | dict[str, str]) -> None:
        for k, v in items.items() if isinstance(items, dict) else items:
            self.add(k, v)

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._items)


def _header_value(value: object) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("Header values must not contain newline characters.")
    return text


class FileStorage:
    """One uploaded file from a multipart body, as werkzeug's ``FileStorage``."""

    def __init__(
        self,
        stream: IO[bytes],
        filename: str | None,
        name: str,
        content_type: str | None,
        headers: Headers,
    ) -> None:
        self.stream = stream
        self.filename = filename
        self.name = name
        self.content_type = content_type
        self.headers = headers

    @property
    def mimetype(self) -> str:
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def save(self, dst: str | Path | IO[bytes], buffer_size: int = 16384) -> None:
        """Copy the upload to a path or a binary file object."""
        if isinstance(dst, (str, Path)):
            with open(dst, "wb") as fh:
                shutil.copyfileobj(self.stream, fh, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self) -> None:
        self.stream.close()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def __bool__(self) -> bool:
        return bool(self.filename)

    def __repr__(self) -> str:
        return f"<FileStorage: {self.filename!r} ({self.content_type!r})>"

    @classmethod
    def from_bytes(
        cls, data: bytes, *, filename: str | None, name: str, content_type: str | None
    ) -> FileStorage:
        headers = Headers()
        if content_type:
            headers.add("Content-Type", content_type)
        return cls(io.BytesIO(data), filename, name, content_type, headers)
