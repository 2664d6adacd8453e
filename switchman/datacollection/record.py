"""Pure parts of data collection: where a record goes, whether a request is sampled, its payload."""

from __future__ import annotations

import base64
import json
import time
import zlib
from pathlib import Path
from typing import Any

# The instance environment variable carrying {"root": ..., "rolling_rate": ..., "collections": ...}.
DATA_COLLECTION_ENV = "SWITCHMAN_DATA_COLLECTOR"
# Bodies above this go to a side file; the record keeps a `dataref` to it (Azure ML does the same
# for payloads too large for one line).
LARGE_BODY_BYTES = 256 * 1024
_SCALE = float(1 << 32)


def collection_dir(root: Path, endpoint: str, deployment: str, collection: str) -> Path:
    """``<root>/<endpoint>/<deployment>/<collection>`` (root is ``$SWITCHMAN_HOME/data-collection``)."""
    return root / endpoint / deployment / collection


def file_for(base: Path, writer: str, epoch: float, rolling_rate: str) -> Path:
    """The JSON-lines file a record written at ``epoch`` belongs to (UTC hourly folders)."""
    t = time.gmtime(epoch)
    folder = base / f"{t.tm_year:04d}" / f"{t.tm_mon:02d}" / f"{t.tm_mday:02d}" / f"{t.tm_hour:02d}"
    if rolling_rate == "minute":
        return folder / f"{writer}-{t.tm_min:02d}.jsonl"
    return folder / f"{writer}.jsonl"


def keep(correlation_id: str, rate: float) -> bool:
    """Whether a request is sampled at ``rate``.

    Deterministic in the correlation id, so the ``request``, ``response``, ``model_inputs`` and
    ``model_outputs`` records of one request are kept or dropped together (they can be joined).
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return zlib.crc32(correlation_id.encode()) / _SCALE < rate


def iso(epoch: float) -> str:
    """``2026-01-01T12:00:00.123Z``."""
    t = time.gmtime(epoch)
    ms = int((epoch % 1) * 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', t)}.{ms:03d}Z"


def payload_fields(body: bytes) -> dict[str, Any]:
    """``data`` for a payload, with ``dataformat`` saying how to get the bytes back for replay.

    JSON stays JSON (``json``); other UTF-8 text is a string (``text``); anything else is base64.
    """
    try:
        return {"data": json.loads(body), "dataformat": "json"}
    except ValueError:
        pass
    try:
        return {"data": body.decode("utf-8"), "dataformat": "text"}
    except UnicodeDecodeError:
        return {"data": base64.b64encode(body).decode(), "dataformat": "base64"}


def payload_bytes(record: dict[str, Any]) -> bytes:
    """The payload bytes of a record written with :func:`payload_fields` (inverse of it)."""
    data = record.get("data")
    form = record.get("dataformat", "json")
    if form == "base64":
        return base64.b64decode(str(data))
    if form == "text" and isinstance(data, str):
        return data.encode()
    return json.dumps(data).encode()


_JSON_START = frozenset(b'{["-0123456789tfn')


def data_json(body: bytes, json_hint: bool) -> bytes:
    """``"dataformat":...,"data":...`` for a line, without re-parsing a JSON body.

    A body sent as JSON (``json_hint``: its content type says so) is embedded as it came, its
    newlines turned into spaces (in valid JSON they can only be whitespace), so the router spends
    no parse on it; anything else goes through :func:`payload_fields`.
    """
    if json_hint:
        head = body.lstrip()[:1]
        if head and head[0] in _JSON_START:
            if b"\n" in body or b"\r" in body:
                body = body.replace(b"\r", b" ").replace(b"\n", b" ")
            return b'"dataformat":"json","data":' + body
    fields = payload_fields(body)
    return (
        b'"dataformat":"'
        + str(fields["dataformat"]).encode()
        + b'","data":'
        + json.dumps(fields["data"], separators=(",", ":")).encode()
    )
