"""Form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Parsed lazily, only when a ``@rawhttp`` script reads ``request.form`` or ``request.files``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from switchman.runtime.datastructures import FileStorage, Headers, MultiDict


def parse_options_header(value: str | None) -> tuple[str, dict[str, str]]:
    """Split ``text/plain; charset="utf-8"`` into ``("text/plain", {"charset": "utf-8"})``."""
    if not value:
        return "", {}
    parts = _split_params(value)
    main = parts[0].strip().lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, raw = part.partition("=")
        if not sep:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key.strip().lower()] = raw
    return main, params


def _split_params(value: str) -> list[str]:
    # Semicolons inside quoted strings (e.g. a filename) do not separate parameters.
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            current.append(ch)
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse_form(
    body: bytes, content_type: str | None
) -> tuple[MultiDict[str], MultiDict[FileStorage]]:
    """Return ``(form, files)`` for a form body; other content types give two empty dicts."""
    mimetype, params = parse_options_header(content_type)
    if mimetype == "application/x-www-form-urlencoded":
        charset = params.get("charset", "utf-8")
        pairs = parse_qsl(body.decode(charset, "replace"), keep_blank_values=True)
        return MultiDict(pairs), MultiDict()
    if mimetype == "multipart/form-data" and params.get("boundary"):
        return _parse_multipart(body, params["boundary"].encode("latin-1"))
    return MultiDict(), MultiDict()


def _parse_multipart(body: bytes, boundary: bytes) -> tuple[MultiDict[str], MultiDict[FileStorage]]:
    form: MultiDict[str] = MultiDict()
    files: MultiDict[FileStorage] = MultiDict()
    delimiter = b"--" + boundary
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        content = content.removesuffix(b"\r\n")
        headers = Headers()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers.add(name.strip(), value.strip())
        _, disposition = parse_options_header(headers.get("Content-Disposition"))
        field_name = disposition.get("name")
        if field_name is None:
            continue
        filename = disposition.get("filename")
        part_type = headers.get("Content-Type")
        if filename is not None:
            upload = FileStorage.from_bytes(
                content, filename=filename, name=field_name, content_type=part_type
            )
            upload.headers = headers
            files.add(field_name, upload)
        else:
            _, type_params = parse_options_header(part_type)
            form.add(field_name, content.decode(type_params.get("charset", "utf-8"), "replace"))
    return form, files
