"""Record & replay: send recorded requests to a deployment and compare its answers.

Sources (``--from``):
- a data-collection folder: ``data-collection/<ep>/<dep>`` (its ``request`` and ``response``
  collections, joined by ``correlationid``) or a ``request`` collection folder itself;
- a JSON-lines file of data-collection ``request`` records (responses from a sibling ``response``
  file are not guessed), or of capture lines ``{"request": <JSON body>, "response": <JSON body>,
  "status": 200, "latency_ms": 12.3}`` (``response`` optional).

Answers are compared with the recorded ones (``live`` = ``recorded``) or, with ``--compare-with``,
with another deployment's answers to the same request (``live`` = that deployment). Sending is
bounded (``limit``) and paced (``rate`` per second, ``concurrency`` in flight at most).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.datacollection.record import payload_bytes
from switchman.errors import BadArgumentError
from switchman.rollout.agreement import AgreementStats, compare


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request to replay and, when known, the answer it got then."""

    id: str
    body: bytes
    time: str = ""
    status: int | None = None
    response: bytes | None = None
    latency_ms: float | None = None


def _lines(path: Path) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError:
                    raise BadArgumentError(
                        f"{file}:{number} is not a JSON line; --from takes data-collection "
                        'records or capture lines ({"request": ..., "response": ...}).'
                    ) from None
                if isinstance(value, dict):
                    yield file, number, value


def _data(record: dict[str, Any], file: Path) -> dict[str, Any]:
    if "dataref" in record and "data" not in record:
        ref = Path(str(record["dataref"]))
        return {**record, "data": json.loads(ref.read_text())}
    return record


def load(path: Path, limit: int) -> list[Recorded]:
    """The first ``limit`` recorded requests of ``path`` in time order, with recorded answers."""
    if not path.exists():
        raise BadArgumentError(
            f"--from {str(path)!r} does not exist: give a data-collection folder "
            "($SWITCHMAN_HOME/data-collection/<endpoint>/<deployment>) or a JSON-lines file."
        )
    request_dir = path
    response_dir: Path | None = None
    if path.is_dir():
        if (path / "request").is_dir():
            request_dir, response_dir = path / "request", path / "response"
        elif path.name == "request" and (path.parent / "response").is_dir():
            response_dir = path.parent / "response"
    responses: dict[str, dict[str, Any]] = {}
    if response_dir is not None and response_dir.is_dir():
        for file, _, record in _lines(response_dir):
            if "correlationid" in record:
                responses[str(record["correlationid"])] = _data(record, file)
    out: list[Recorded] = []
    for file, number, record in _lines(request_dir):
        if "request" in record:  # a capture line
            answer = record.get("response")
            out.append(
                Recorded(
                    id=str(record.get("correlationid") or f"{file.name}:{number}"),
                    body=json.dumps(record["request"]).encode(),
                    time=str(record.get("time", "")),
                    status=int(record.get("status", 200)) if answer is not None else None,
                    response=json.dumps(answer).encode() if answer is not None else None,
                    latency_ms=record.get("latency_ms"),
                )
            )
            continue
        if "correlationid" not in record or ("data" not in record and "dataref" not in record):
            continue
        if record.get("type", "azureml.inference.request") != "azureml.inference.request":
            continue  # responses and custom collections (model_inputs, ...) are not requests
        record = _data(record, file)
        rid = str(record["correlationid"])
        answer_record = responses.get(rid)
        out.append(
            Recorded(
                id=rid,
                body=payload_bytes(record),
                time=str(record.get("time", "")),
                status=int(answer_record.get("statuscode", 200)) if answer_record else None,
                response=payload_bytes(answer_record) if answer_record else None,
                latency_ms=answer_record.get("latencyms") if answer_record else None,
            )
        )
    out.sort(key=lambda r: r.time)
    if not out:
        raise BadArgumentError(
            f"--from {str(path)!r} holds no recorded requests (request records with "
            "correlationid and data, or capture lines with a request)."
        )
    return out[:limit]


def send_times(count: int, rate: float, start: float) -> list[float]:
    """When each of ``count`` requests is due at ``rate`` per second (pure pacing)."""
    return [start + i / rate for i in range(count)]


# (status, body, latency ms) of one scoring request pinned to a deployment
Sender = Callable[[str, bytes], tuple[int, bytes, float]]


def replay(
    items: list[Recorded],
    send: Sender,
    *,
    target: str,
    compare_with: str | None,
    rate: float,
    concurrency: int = 8,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send ``items`` to ``target`` (and ``compare_with``), paced; the agreement report + counts."""
    stats = AgreementStats()
    lock = threading.Lock()
    counts = {"requests": 0, "errors": 0, "unanswered": 0}

    def one(item: Recorded) -> None:
        status, body, ms = send(target, item.body)
        if compare_with is not None:
            live_status, live_body, live_ms = send(compare_with, item.body)
        elif item.response is not None:
            live_status, live_body, live_ms = (
                item.status or 200,
                item.response,
                float(item.latency_ms or 0.0),
            )
        else:
            with lock:
                counts["requests"] += 1
                counts["unanswered"] += 1
                counts["errors"] += status >= 400
            return
        comparison = compare(live_status, live_body, status, body)
        with lock:
            counts["requests"] += 1
            counts["errors"] += status >= 400
            stats.add(comparison, live_ms, ms)

    due = send_times(len(items), rate, clock())
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = []
        for item, at in zip(items, due, strict=True):
            wait = at - clock()
            if wait > 0:
                sleep(wait)
            futures.append(pool.submit(one, item))
        for future in futures:
            future.result()
    report = stats.report(compare_with or "recorded", target)
    return {**report, **counts}
