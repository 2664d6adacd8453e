"""Data collection's pure parts, the bounded writer, the spec model and the Collector shim."""

from __future__ import annotations

import calendar
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from switchman.datacollection.record import file_for, keep, payload_bytes, payload_fields
from switchman.datacollection.writer import RecordWriter
from switchman.spec.datacollector import DataCollectorSpec
from switchman.spec.deployment import OnlineDeploymentSpec


def test_files_go_in_utc_hourly_folders_and_roll_by_minute_when_asked() -> None:
    epoch = calendar.timegm((2026, 3, 4, 5, 6, 7))
    base = Path("/h/data-collection/ep/blue/request")
    assert file_for(base, "router", epoch, "hour") == base / "2026/03/04/05/router.jsonl"
    assert file_for(base, "router", epoch, "day") == base / "2026/03/04/05/router.jsonl"
    assert file_for(base, "i-1", epoch, "minute") == base / "2026/03/04/05/i-1-06.jsonl"


def test_sampling_is_deterministic_per_request_and_close_to_the_rate() -> None:
    ids = [f"req-{i}" for i in range(20_000)]
    kept = [rid for rid in ids if keep(rid, 0.25)]
    assert 0.23 < len(kept) / len(ids) < 0.27
    assert kept == [rid for rid in ids if keep(rid, 0.25)]  # request and response agree
    assert all(keep(rid, 1.0) for rid in ids[:100])
    assert not any(keep(rid, 0.0) for rid in ids[:100])


@pytest.mark.parametrize("body", [b'{"data": [[1, 2]]}', b"plain text\nline", b"\xff\x00\x01"])
def test_payloads_round_trip_for_replay(body: bytes) -> None:
    fields = payload_fields(body)
    assert fields["dataformat"] in ("json", "text", "base64")
    back = payload_bytes(json.loads(json.dumps(fields)))
    if fields["dataformat"] == "json":
        assert json.loads(back) == json.loads(body)
    else:
        assert back == body


def test_writer_never_blocks_drops_and_counts_past_its_bound(tmp_path: Path) -> None:
    writer = RecordWriter("t", max_pending=3, start_thread=False)
    folder = tmp_path / "ep" / "blue" / "request"
    results = [writer.offer(folder, "hour", 0.0, {"i": i, "data": i}) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert writer.dropped == 2
    writer.flush()
    lines = (folder / "1970/01/01/00/t.jsonl").read_text().splitlines()
    assert [json.loads(line)["i"] for line in lines] == [0, 1, 2]
    assert writer.written == 3
    writer.close()


def test_large_payloads_are_written_aside_with_a_reference(tmp_path: Path) -> None:
    writer = RecordWriter("t", start_thread=False)
    folder = tmp_path / "c"
    big = ["x" * 1000] * 400
    writer.offer(folder, "hour", 0.0, {"id": "r1", "correlationid": "r1", "data": big})
    writer.close()
    (line,) = (folder / "1970/01/01/00/t.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert "data" not in record and record["correlationid"] == "r1"
    assert json.loads(Path(record["dataref"]).read_text()) == big


def test_spec_shape_of_azure_ml() -> None:
    spec = DataCollectorSpec.model_validate(
        {
            "sampling_rate": 0.5,
            "rolling_rate": "Hour",
            "collections": {
                "model_inputs": {"enabled": "True"},
                "model_outputs": {"enabled": "False"},
                "request": {"enabled": True, "sampling_rate": 1.0},
                "response": {"enabled": "True", "data": {"name": "resp", "version": 2}},
            },
        }
    )
    assert spec.rolling_rate == "hour"
    assert spec.settings()["collections"] == {"model_inputs": 0.5, "request": 1.0, "response": 0.5}
    for bad in (
        {"sampling_rate": 1.5},
        {"rolling_rate": "week"},
        {"collections": {"request": {"enabeld": "True"}}},
        {"collections": {"bad name!": {"enabled": "True"}}},
    ):
        with pytest.raises(ValidationError):
            DataCollectorSpec.model_validate(bad)
    dep = OnlineDeploymentSpec.model_validate(
        {"name": "blue", "data_collector": {"collections": {"request": {"enabled": "True"}}}}
    )
    assert dep.data_collector is not None and dep.data_collector.rate("request") == 1.0


def test_collector_shim_writes_with_the_request_correlation_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchman.runtime import collector as module
    from switchman.runtime import correlation

    root = tmp_path / "ep" / "blue"
    monkeypatch.setenv(
        "SWITCHMAN_DATA_COLLECTOR",
        json.dumps({"root": str(root), "collections": {"model_inputs": 1.0}}),
    )
    monkeypatch.setenv("SWITCHMAN_INSTANCE_ID", "blue-1")
    monkeypatch.setattr(module, "_state", {})
    inputs = module.Collector(name="model_inputs")
    disabled = module.Collector(name="model_outputs")
    token = correlation.enter("rid-1")
    try:
        context = inputs.collect([[1, 2]])
        assert context.get_id() == "rid-1"
        disabled.collect([3], context)
    finally:
        correlation.leave(token)
    explicit = inputs.collect({"a": 1}, module.BasicCorrelationContext(id="rid-2"))
    assert explicit.get_id() == "rid-2"
    errors: list[Exception] = []
    odd = module.Collector(name="model_inputs", on_error=errors.append)
    odd.collect(object())  # not JSON: reported through on_error at write time, never raised
    module._state["writer"].close()
    lines = [
        json.loads(line)
        for path in sorted(root.rglob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    assert [(r["correlationid"], r["data"]) for r in lines[:2]] == [
        ("rid-1", [[1, 2]]),
        ("rid-2", {"a": 1}),
    ]
    assert not (root / "model_outputs").exists()
