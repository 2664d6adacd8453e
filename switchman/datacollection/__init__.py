"""Data collection (reference §3.6): JSON-lines records under ``$SWITCHMAN_HOME/data-collection``.

Layout: ``data-collection/<endpoint>/<deployment>/<collection>/<yyyy>/<mm>/<dd>/<hh>/<writer>.jsonl``
(``<writer>-<MM>.jsonl`` with ``rolling_rate: minute``). The router writes ``request``/``response``;
instances write the collections their scoring script names through ``Collector(name=...)``.
"""

from switchman.datacollection.record import (
    DATA_COLLECTION_ENV,
    LARGE_BODY_BYTES,
    collection_dir,
    file_for,
    keep,
    payload_fields,
)
from switchman.datacollection.writer import RecordWriter

__all__ = [
    "DATA_COLLECTION_ENV",
    "LARGE_BODY_BYTES",
    "RecordWriter",
    "collection_dir",
    "file_for",
    "keep",
    "payload_fields",
]
